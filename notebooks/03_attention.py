# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 03 · Attention and the encoder block
#
# Every token asks a **query**, advertises a **key** and offers a **value**. A token's new
# value is the average of all values, weighted by how well its query matches each key:
# `softmax(Q Kᵀ / √d) V`. We compute that by hand on four tokens, then use the module,
# check it against PyTorch's fused kernel and `nn.MultiheadAttention`, trace one encoder
# block, and finally open the small AST shipped with the package (trained on ESC-10) to see
# where it looks when it hears a dog bark and rain.
#
# *This page was executed with its full settings (nothing here is slow); `make notebooks`
# refreshes it.*

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from ast_lab import features, model_plots, plotting
from ast_lab.config import ASTConfig, FbankConfig
from ast_lab.data import synthesize
from ast_lab.examples import load_example
from ast_lab.listening import player
from ast_lab.model_card import load_card
from ast_lab.models import AST, trace_shapes
from ast_lab.models.introspection import columns_near, max_pool_sources, token_attention
from ast_lab.models.attention import MultiHeadSelfAttention, scaled_dot_product
from ast_lab.models.transformer import Block

torch.manual_seed(0)

# %% [markdown]
# ## By hand, on four tokens
# Four tokens of width 8. Scores are dot products of queries with keys, divided by √8 so
# their spread does not grow with the width; softmax turns each row into weights summing to 1.

# %%
T, d = 4, 8
q, k, v = torch.randn(3, T, d).unbind(0)  # each (tokens, width)
scores = q @ k.T / math.sqrt(d)  # (T, T): token i's query against token j's key
weights = scores.softmax(dim=-1)  # (T, T), rows sum to 1
out = weights @ v  # (T, d): each token's weighted average of values
print("row sums:", weights.sum(-1))
plotting.plot_matrix(weights, title="Attention weights (colour scale fixed at 0 to 1)",
                     xlabel="key token", ylabel="query token", label="weight", limits=(0, 1));

# %% [markdown]
# ## What √d prevents
# With unit-variance queries and keys, a dot product over *d* dimensions has standard deviation
# √d. Without the division, wide heads give scores tens of units apart, and softmax
# **saturates**: almost all weight lands on one key and the gradient through the others
# vanishes. Divided by √d, the scores keep a spread near 1 at every width.

# %%
for width in (4, 64, 1024):
    q_wide, k_wide, v_wide = torch.randn(3, 16, width).unbind(0)  # 16 tokens
    raw = (q_wide @ k_wide.T).softmax(dim=-1)  # (16, 16), no scaling
    _, scaled = scaled_dot_product(q_wide, k_wide, v_wide)  # (16, 16), / sqrt(width)
    print(f"d={width:5}: score std {(q_wide @ k_wide.T).std():6.1f} | largest weight per row, "
          f"mean: unscaled {raw.max(-1).values.mean():.2f}, scaled {scaled.max(-1).values.mean():.2f}")

# %% [markdown]
# The library's `scaled_dot_product` is these three lines; PyTorch's fused
# `F.scaled_dot_product_attention` computes the same in one kernel without forming the matrix.

# %%
ours, ours_weights = scaled_dot_product(q, k, v)
fused = F.scaled_dot_product_attention(q[None], k[None], v[None])[0]
print(f"by hand vs library: {(out - ours).abs().max():.1e}   vs fused: {(out - fused).abs().max():.1e}")
assert torch.allclose(out, ours, atol=1e-6) and torch.allclose(out, fused, atol=1e-5)

# %% [markdown]
# ## Multi-head self-attention
# One linear layer makes queries, keys and values for all heads at once; each head works on
# its own slice of the width; the heads' outputs are put side by side and mixed by an output
# projection. The module has a written-out path and a fused path; both must agree, and agree
# with `torch.nn.MultiheadAttention` given the same weights.

# %%
dim, heads, tokens = 64, 4, 10
x = torch.randn(2, tokens, dim)  # (batch, tokens, width)
attention = MultiHeadSelfAttention(dim, heads, fused=False).eval()
print(attention)
with torch.no_grad():
    manual = attention(x)
    attention.fused = True
    fused = attention(x)

reference = torch.nn.MultiheadAttention(dim, heads, batch_first=True).eval()
with torch.no_grad():
    reference.in_proj_weight.copy_(attention.qkv.weight)  # rows: queries, keys, values
    reference.in_proj_bias.copy_(attention.qkv.bias)
    reference.out_proj.weight.copy_(attention.proj.weight)
    reference.out_proj.bias.copy_(attention.proj.bias)
    torch_out, _ = reference(x, x, x)
print(f"manual vs fused {(manual - fused).abs().max():.1e}, "
      f"vs nn.MultiheadAttention {(manual - torch_out).abs().max():.1e}")
assert torch.allclose(manual, fused, atol=1e-5) and torch.allclose(manual, torch_out, atol=1e-5)

# %% [markdown]
# ## Attention over a spectrogram
# A small AST on a clip of the built-in set. For each head of the first block, the map shows
# how much the [CLS] token attends to each patch, laid out on the patch grid under the
# spectrogram. Untrained, attention is nearly uniform: every weight is within a few per cent
# of 1/T (T tokens). With an auto-scaled colour bar that noise would look like structure, so
# the maps show the **deviation from uniform in per cent, on a fixed scale centred at 0**
# (white = exactly uniform). The end of this notebook shows a trained model on real sounds.

# %%
cfg = FbankConfig(normalize="per_sample")
wave = synthesize("click_train", np.random.default_rng(0), seconds=1.0, sample_rate=cfg.sample_rate)
spec = features.fbank(wave, cfg)  # (n_mels, frames)
model = AST(ASTConfig.preset("micro", n_mels=spec.shape[0], n_frames=spec.shape[1],
                             num_classes=12)).eval()
maps = model.attention_maps(spec[None])  # depth x (batch, heads, tokens, tokens)
grid = model.patch_embed.grid_size
print(f"{len(maps)} blocks, each {tuple(maps[0].shape)} = (batch, heads, tokens, tokens)")

fig, axes = plt.subplots(1, 1 + maps[0].shape[1], figsize=(14, 2.6))
plotting.plot_spectrogram(spec, hop_length=cfg.hop_length, sample_rate=cfg.sample_rate,
                          ax=axes[0], title="click train", colorbar=False)
n_tokens = maps[0].shape[-1]
deviation = (maps[0][0, :, 0, 2:] * n_tokens - 1) * 100  # (heads, patches): [CLS] row, % from 1/T
print(f"largest deviation from uniform: {deviation.abs().max():.1f} %")
for head, ax in enumerate(axes[1:]):
    plotting.plot_token_map(deviation[head], grid, ax=ax, title=f"block 0, head {head}",
                            cmap="coolwarm", limits=(-10, 10), label="% from uniform")
fig.tight_layout()

# %% [markdown]
# ## One encoder block, traced
# A pre-norm block: LayerNorm → attention → add back (residual), LayerNorm → MLP (GELU) →
# add back. Every step keeps the shape `(batch, tokens, width)`; the residuals let each block
# refine the tokens rather than replace them.

# %%
block = Block(dim=model.cfg.embed_dim, num_heads=model.cfg.num_heads).eval()
tokens_in = model.embed(spec[None]).detach()  # (batch, 2 + patches, width)
with torch.no_grad():
    normed = block.norm1(tokens_in)  # (B, T, C)
    after_attention = tokens_in + block.attn(normed)  # (B, T, C)
    hidden = block.mlp.fc1(block.norm2(after_attention))  # (B, T, 4C)
    out = after_attention + block.mlp(block.norm2(after_attention))  # (B, T, C)
for name, tensor in [("input", tokens_in), ("norm1", normed), ("+ attention", after_attention),
                     ("mlp hidden", hidden), ("+ mlp", out)]:
    print(f"{name:12} {tuple(tensor.shape)}")
assert torch.allclose(out, block(tokens_in), atol=1e-6)

# %% [markdown]
# ## The whole model
# Notebook 02 made the tokens; this notebook built the blocks that read them. Here is every
# stage's output shape, from the spectrogram to the logits: patches, tokens with positions,
# the blocks, the final norm, the head.

# %%
print(model)
rows = trace_shapes(model, spec[None])

# %% [markdown]
# ## Where a trained AST looks
# The package ships a small trained AST (`ast_lab/assets/model`, loaded by `load_card()`):
# recipe `esc10-ast-distilled`, 3 blocks of 4 heads, trained from scratch on ESC-10 folds 2
# to 5. The clips below come from fold 1, so the model never heard them. `shipped.inputs`
# computes exactly what the model reads: the card's FBANK (64 mels, 5 s = 501 frames) scaled
# by its training folds' mean and standard deviation.
#
# First the dog. One bark, about 0.3 s just after 2 s, in otherwise quiet audio. What does
# the model say?

# %%
shipped = load_card()
trained = shipped.models[0]
clips = {name: load_example(name, shipped.fbank.sample_rate) for name in ("dog", "rain")}
inputs = {name: shipped.inputs(shipped.windows(clip))[0] for name, clip in clips.items()}  # (64, 501)
for name, clip in clips.items():
    ranked = sorted(zip(shipped.probabilities(shipped.windows(clip)), shipped.class_names), reverse=True)
    print(f"{name:5}", "  ".join(f"{label} {p:.2f}" for p, label in ranked[:3]))
player(clips["dog"], shipped.fbank.sample_rate, label="dog (what the model hears, 16 kHz)")

# %% [markdown]
# Below: for each block (columns) and head (rows), the weight [CLS] puts on every patch, drawn
# over the spectrogram the model read (grey), one cell per patch. The colour is in multiples
# of uniform attention (1 = weight spread evenly over all 245 patches), on one scale for the
# whole figure.

# %%
patch = dict(patch_size=trained.cfg.patch_size, fstride=trained.cfg.fstride,
             tstride=trained.cfg.tstride)
cls_dog = token_attention(trained, inputs["dog"], "cls")  # (blocks, heads, 5, 49)
model_plots.plot_token_attention(inputs["dog"], cls_dog, **patch,
                                 title="dog: where [CLS] looks, per block and head");

# %% [markdown]
# In block 0 three of the four heads still spread their attention over the whole clip (head 1
# already finds the bark's onset). In blocks 1 and 2 nearly every head puts its weight on the
# few patches that hold the bark, up to 200 times what uniform attention would give, and
# different heads pick different bands of it. As a number: the share of each block's [CLS]
# attention on the time columns within 0.25 s of the loudest frame, against the share those
# columns would get from uniform attention.

# %%
loudest = int(features.fbank(shipped.windows(clips["dog"]), shipped.fbank)[0].amax(dim=0).argmax())
t_patches = trained.patch_embed.grid_size[1]
near_bark = columns_near(trained, loudest, reach=25)  # 25 frames = 0.25 s either side
print(f"loudest frame {loudest} ({loudest / 100:.2f} s); columns {near_bark[0]}..{near_bark[-1]} "
      f"are {len(near_bark) / t_patches:.0%} of the patches")
for block, weights in enumerate(cls_dog):  # weights (heads, 5, 49)
    share = weights[..., near_bark].sum() / weights.sum()
    print(f"block {block}: {share:.0%} of [CLS]'s attention is on the bark")

# %% [markdown]
# ## Rain: nothing to point at
# Rain has no single event; it is a texture over the whole clip. The model is as sure of it
# (0.98) as of the dog, but its attention looks nothing like the dog's: it is scattered over
# dozens of moments along the whole clip, and each head keeps mostly to one or two frequency
# rows (the lowest in block 1, the middle ones in block 2). The model samples the texture
# rather than pointing at an event. (The colour scale is set by this figure's largest value,
# about 40 times uniform, five times lower than the dog's.)

# %%
player(clips["rain"], shipped.fbank.sample_rate, label="rain (16 kHz)")

# %%
cls_rain = token_attention(trained, inputs["rain"], "cls")
model_plots.plot_token_attention(inputs["rain"], cls_rain, **patch,
                                 title="rain: where [CLS] looks, per block and head");

# %% [markdown]
# ## Which token decides?
# In this model [CLS] is, strictly, read by no head. Its recipe (`pooling="distilled"`,
# `label_pooling="max"`) has two heads: the **label head** takes, channel by channel, the
# largest value over all patch tokens (max-pooling: good for a short event anywhere in 5 s),
# and the **distillation head** reads [DIST], which learned to match the CNN teacher
# (notebook 04); at test time their predictions are averaged. [CLS] still attends, and its
# output still feeds the patches in the blocks after it, but the last block's [CLS] output is
# not used. So two more pictures: where [DIST] looks in the last block, and which patches
# win the label head's max-pool (the share of the 96 channels whose maximum sits in each
# patch).

# %%
dist_dog = token_attention(trained, inputs["dog"], "dist")
fig, axes = plt.subplots(2, 1, figsize=(11, 5), sharex=True)
last = dist_dog[-1].mean(dim=0)  # (5, 49): the last block's heads averaged
model_plots.plot_patch_map(inputs["dog"], last * last.numel(), **patch, ax=axes[0],
                           label="x uniform", title="dog: [DIST] attention, last block, mean of heads")
model_plots.plot_patch_map(inputs["dog"], max_pool_sources(trained, inputs["dog"]), **patch,
                           ax=axes[1], label="share of channels",
                           title="dog: where the label head's max-pool takes each channel from")
fig.tight_layout()
for name in ("dog", "rain"):
    sources = max_pool_sources(trained, inputs[name])  # (5, 49), sums to 1
    print(f"{name}: the max-pool reads {int((sources > 0).sum())} of {sources.numel()} patches"
          + (f"; {float(sources[:, near_bark].sum()):.0%} of channels from the bark's columns"
             if name == "dog" else ""))

# %% [markdown]
# ## Exercises
# Write each function below in place of its `raise NotImplementedError`, then run the cell:
# the grader compares it with `ast_lab.models.attention` on several inputs, edge cases
# included, and names the first difference with a hint. (Worked solutions:
# `ast_lab/exercises/solutions.py`.)
#
# **1. Scaled dot-product attention**, for inputs `(..., T, d)` with any leading axes.

# %%
from ast_lab.exercises.attention import check_attention, check_heads, check_masked_attention


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``q, k, v (..., T, d)`` -> ``(out (..., T, d), weights (..., T, T))``, rows summing to 1."""
    raise NotImplementedError  # your code here


check_attention(attention)

# %% [markdown]
# **2. Splitting and merging heads.** Each head gets a contiguous slice of `hs = C // nh`
# channels; merging puts the heads' outputs side by side again.

# %%
def split(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """``(B, T, C) -> (B, num_heads, T, C // num_heads)``."""
    raise NotImplementedError  # your code here


def merge(y: torch.Tensor) -> torch.Tensor:
    """``(B, nh, T, hs) -> (B, T, nh * hs)``; the inverse of ``split``."""
    raise NotImplementedError  # your code here


check_heads(split, merge)

# %% [markdown]
# **3. A padding mask.** Clips of different lengths padded to one length should not attend to
# the padding: no query may put weight on a key whose `key_mask` is False.

# %%
def masked_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                     key_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``q, k, v (B, T, d)``, ``key_mask (B, T)`` bool (True: a real token) -> (out, weights)."""
    raise NotImplementedError  # your code here


check_masked_attention(masked_attention)

# %% [markdown]
# ## Summary
# We computed attention by hand, `softmax(Q Kᵀ / √d) V`, saw what the √d prevents (a saturated
# softmax), split the width into heads and merged them back, checked the written-out module
# against PyTorch's fused kernel and `nn.MultiheadAttention`, and assembled the pre-norm
# encoder block and the whole AST.
#
# **The one idea to keep:** attention is a weighted average whose weights are computed from
# the data; everything else in the block (norms, residuals, the MLP) keeps those averages
# trainable when stacked.
#
# ## Questions to think about
# 1. The AST attends to padded frames too (it uses no mask). What does that cost on short
#    clips, and why might it matter less than it seems?
# 2. Attention's cost grows with the square of the token count. Where in the AST would you cut
#    tokens first: fewer mels, larger strides, or shorter clips?
# 3. A CNN builds in locality and translation invariance; attention has to learn them. Why does
#    that make the CNN win on a small dataset (notebook 04), and what could close the gap?
# 4. The trained [CLS] gathers on the bark, yet no head reads it. Why would attention that
#    nobody reads still be shaped by training? (Hint: what do the later blocks' patch tokens
#    read?)
#
# ## Further reading
# * Vaswani et al., *Attention Is All You Need* (arXiv:1706.03762), §3.2.1 (scaled dot-product
#   attention and the reason for √d), §3.2.2 (multi-head attention).
# * Gong, Chung, Glass, *AST* (arXiv:2104.01778), §2.1: the encoder, 12 blocks of 12 heads, and
#   the [CLS] output used for classification.
# * Xiong et al., *On Layer Normalization in the Transformer Architecture* (arXiv:2002.04745):
#   why pre-norm blocks train without warm-up tricks.
# * Dosovitskiy et al., *ViT* (arXiv:2010.11929), §4.5 and Appendix D.8: attention distance and
#   attention maps of trained models.
