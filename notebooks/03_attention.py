# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
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
# block, and finally open the small AST shipped with the package: which token its head reads,
# where those tokens look when it hears a dog bark and rain, and whether the model needs what
# attention points at (an occlusion test).
#
# *This page was executed with its full settings (nothing here is slow); `make notebooks`
# refreshes it.*

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from ast_lab import features, model_plots, plotting, transformer_plots
from ast_lab.config import ASTConfig, FbankConfig
from ast_lab.data import synthesize
from ast_lab.examples import load_example
from ast_lab.listening import player
from ast_lab.model_card import load_card
from ast_lab.models import AST, trace_shapes
from ast_lab.models.attention import MultiHeadSelfAttention, scaled_dot_product
from ast_lab.models.introspection import columns_near
from ast_lab.models.rollout import describe_readout, readout_maps
from ast_lab.models.transformer import Block
from ast_lab.occlusion import (input_around_loudest, occlude, occlusion_curve, other_patches,
                               patch_cells, ranked_patches)

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
                     xlabel="key token", ylabel="query token", label="weight", limits=(0, 1),
                     annotate=True);

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
# projection. Splitting is only a reshape: `(tokens, dim)` becomes `(heads, tokens, dim /
# heads)`, head *h* taking the *h*-th block of channels, and every head then attends over all
# the tokens with its own slice. Drawn for one sequence of 10 tokens of width 64 and 4 heads:

# %%
dim, heads, tokens = 64, 4, 10
x = torch.randn(2, tokens, dim)  # (batch, tokens, width)
transformer_plots.plot_head_split(x[0], heads);

# %% [markdown]
# The module has a written-out path and a fused path; both must agree, and agree with
# `torch.nn.MultiheadAttention` given the same weights.

# %%
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
# stage's output shape, from the spectrogram to the logits: patches, tokens with positions
# (the stage `pos_drop`, which prepends [CLS] and [DIST] and adds the positions), the blocks,
# the final norm, the head.

# %%
print(model)
rows = trace_shapes(model, spec[None])

# %% [markdown]
# ## A trained AST: which token does its head read?
# The package ships a small trained AST (`ast_lab/assets/model`, loaded by `load_card()`),
# trained from scratch on four folds of real recordings; the example clips below come from the
# fold it was tested on, so it never heard them. `shipped.inputs` computes exactly what the
# model reads: the card's FBANK scaled by its training folds' mean and standard deviation.
#
# Before any attention map, one question decides which map means anything: **which token does
# the classifier read?** The AST paper's head reads [CLS] and [DIST]. The ASTs trained here for
# environmental sound **pool their patch tokens by maximum** instead (notebook 02): channel by
# channel, the head takes the largest value over all patch tokens, so a short bark anywhere in
# the clip counts as much as a sound that fills it. A picture of [CLS]'s attention would show
# where a token that *no head reads* looks. So the maps below start from the tokens the head
# does read. First, what this model's head reads, and what the model says about a dog bark and
# about rain:

# %%
shipped = load_card()
trained = shipped.models[0]
print(shipped.source)
print("its head reads:", describe_readout(trained.cfg))
clips = {name: load_example(name, shipped.fbank.sample_rate) for name in ("dog", "rain")}
for name, clip in clips.items():
    probabilities = shipped.probabilities(shipped.windows(clip))  # (classes,), crops averaged
    ranked = sorted(zip(probabilities, shipped.class_names), reverse=True)
    print(f"{name:5}", "  ".join(f"{label} {p:.2f}" for p, label in ranked[:3]))
player(clips["dog"], shipped.fbank.sample_rate, label="dog (what the model hears, 16 kHz)")

# %% [markdown]
# ## What the head reads, and where those tokens look
# The model reads `n_frames` frames at a time: the whole clip, or one crop for a model trained
# on shorter crops (its classifier averages several). Here it reads the stretch around the
# bark's loudest frame. Each row of the figure is drawn over that input (grey), one cell per
# patch:
#
# * **what the head reads**: the share of the channels whose maximum each patch token holds;
# * **raw attention, block by block**: where the tokens the head reads attend in that block,
#   heads averaged, each token weighted by how much the head reads it;
# * **attention rollout** (Abnar & Zuidema 2020): the same traced through all the blocks. The
#   residual connection passes each token on unchanged beside the attention, so each block
#   counts as `0.5 A + 0.5 I`, and the blocks are multiplied from the first to the last. The
#   result says which *input* patches the read tokens' information came from.
#
# Attention is shown in multiples of uniform (1 = spread evenly over all patches). Every colour
# scale is square-root stretched, so that weak attention stays visible; each row has its own
# colour bar, and the raw blocks share one. Red hatching marks the mel bins above the top row of
# patches, which the model never sees (there is none when the rows reach the top).

# %%
window, start, loudest = input_around_loudest(shipped, clips["dog"])  # (n_mels, n_frames)
frames_per_second = 1000 / shipped.fbank.hop_ms
patch = dict(patch_size=trained.cfg.patch_size, fstride=trained.cfg.fstride,
             tstride=trained.cfg.tstride)
print(f"loudest frame {loudest} ({loudest / frames_per_second:.2f} s); the model reads frames "
      f"{start} to {start + window.shape[1] - 1}: input {tuple(window.shape)}, patch grid "
      f"{trained.patch_embed.grid_size}")
dog_maps = readout_maps(trained, window)
model_plots.plot_readout_maps(window, dog_maps, **patch,
                              title="dog: what the head reads, and where those tokens look");

# %% [markdown]
# As numbers: the share of each map on the time columns within 0.25 s of the loudest frame,
# against the share of the grid those columns hold (what a map blind to the bark would give).

# %%
near_bark = columns_near(trained, loudest - start, reach=round(0.25 * frames_per_second))
t_patches = trained.patch_embed.grid_size[1]
print(f"columns {near_bark[0]} to {near_bark[-1]} are {len(near_bark) / t_patches:.0%} of the grid")
named_maps = {"what the head reads": dog_maps.reads,
              **{f"block {b}, raw": values for b, values in enumerate(dog_maps.blocks)},
              "rollout": dog_maps.rollout}
for label, values in named_maps.items():
    print(f"{label:20} {float(values[:, near_bark].sum() / values.sum()):4.0%} on the bark")

# %% [markdown]
# Heads differ. The raw attention of the read tokens per head (rows) and block (columns), on
# one colour scale for the whole figure:

# %%
model_plots.plot_token_attention(window, dog_maps.heads, **patch,
                                 title="dog: raw attention of the tokens the head reads, per head");

# %% [markdown]
# ## Rain: nothing to point at
# Rain has no single event; it is a texture over the whole clip. Compare its maps with the
# dog's: is the weight on a few patches, or spread over many moments and bands?

# %%
player(clips["rain"], shipped.fbank.sample_rate, label="rain (16 kHz)")
rain_window, _, _ = input_around_loudest(shipped, clips["rain"])
model_plots.plot_readout_maps(rain_window, readout_maps(trained, rain_window), **patch,
                              title="rain: what the head reads, and where those tokens look");

# %% [markdown]
# ## Does the model need what a map points at? An occlusion test
# A map is a claim, and a claim can be tested: **hide the patches the map ranks highest and
# watch P(dog)**. As the control, hide as many *other* patches, drawn at random from the rest
# (20 draws). If the map points at the model's evidence, hiding its top patches costs P(dog)
# far more than hiding others; if it does not, the two cost about the same.
#
# A patch is hidden by silencing its cell, the `fstride × tstride` block centred on it (the
# cells of the overlays above), with the input's own quietest value. Cells do not overlap, so
# hiding *k* patches changes exactly *k* cells: the map's patches and the control hide the same
# area. Both attention maps are tested, the last block's raw map and the rollout.
# (`ast_lab.occlusion` does the bookkeeping; its tests check it on a model built to need one
# patch.) P(dog) here is the model's probability for this one input, not the average over
# crops that `ast-lab predict` reports.

# %%
dog = shipped.class_names.index("dog")
ks = (1, 2, 4, 8, 16, 32)
curves = {"rollout": occlusion_curve(trained, window, dog_maps.rollout, dog, ks),
          "last block": occlusion_curve(trained, window, dog_maps.blocks[-1], dog, ks)}
for name, curve in curves.items():
    print(f"{name}: P(dog) with the top k hidden, and with k others hidden\n{curve.table()}\n")
model_plots.plot_occlusion(curves, "dog");

# %% [markdown]
# The verdict: at which *k* does hiding a map's top patches cost P(dog) more than every one of
# the 20 random draws of others?

# %%
for name, curve in curves.items():
    below = [k for k, top, others in zip(curve.ks, curve.top, curve.others) if top < others.min()]
    print(f"{name:10}: below every random draw at k = {below} (of {list(curve.ks)})")

# %% [markdown]
# What the model read at *k* = 8: the rollout's top 8 cells silenced, and 8 other cells (one
# random draw of the control).

# %%
cells = patch_cells(trained.patch_embed.grid_size, **patch)
silence = float(window.min())
hidden = {"the rollout's top 8 patches": curves["rollout"].top_patches[:8],
          "8 other patches": other_patches(ranked_patches(dog_maps.rollout), 8,
                                           torch.Generator().manual_seed(0))}
fig, axes = plt.subplots(len(hidden), 1, figsize=(11, 4.6), sharex=True)
for ax, (label, patches) in zip(axes, hidden.items()):
    plotting.plot_spectrogram(occlude(window, patches, cells, silence), ax=ax, unit="std units",
                              hop_length=shipped.fbank.hop_length,
                              sample_rate=shipped.fbank.sample_rate,
                              title=f"dog, {label} hidden (time from the input's first frame)")
fig.tight_layout()

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
# **4. Attention rollout.** Write it from the description above: average each block's heads,
# count the residual as `0.5 A + 0.5 I`, and multiply the blocks, the first acting first.

# %%
from ast_lab.exercises.attention import check_occlusion_reading, check_rollout


def rollout(maps: list[torch.Tensor]) -> torch.Tensor:
    """``depth`` maps ``(B, nh, T, T)``, first block first -> ``(B, T, T)``, rows summing to 1."""
    raise NotImplementedError  # your code here


check_rollout(rollout)

# %% [markdown]
# **5. An experiment: the occlusion test on another sound.** Choose another of the example
# clips (`example_names()`; the shipped model knows all their classes), run the test with the
# rollout's ranking, and read the table at *k* = 8. Try an event (a rooster, a sneeze) and a
# texture (sea waves, crackling fire): does attention find the evidence in both?

# %%
name = "rooster"  # or another of example_names()
clip_input, _, _ = input_around_loudest(shipped, load_example(name, shipped.fbank.sample_rate))
curve = occlusion_curve(trained, clip_input, readout_maps(trained, clip_input).rollout,
                        shipped.class_names.index(name), ks)
print(f"P({name}) with the rollout's top k hidden, and with k others hidden\n{curve.table()}")

# %%
k = 8
p_top_hidden = ...  # P(class) with the top k hidden, from the table
p_others_hidden = ...  # the median with k others hidden
attention_found_the_evidence = ...  # True or False: is p_top_hidden below every draw of others?
check_occlusion_reading(curve, k, p_top_hidden, p_others_hidden, attention_found_the_evidence)

# %% [markdown]
# <details><summary>Discussion (open after answering)</summary>
#
# For a single event (a bark, a crow, a sneeze) the rollout's top patches tend to sit on the
# event, and hiding a handful of them can cost the class more than any random draw: the map
# names patches the decision *needs*. For a texture the evidence is everywhere. Hiding 8
# cells leaves the rest of the rain or the waves, so neither the map's patches nor others cost
# much, and the verdict can be "no" while the model is right. That "no" does not say the map
# is wrong; it says no small set of patches is necessary. The test measures necessity, one
# patch set at a time. Two cautions: a silenced cell is an input the model never saw in
# training, so part of any drop may be surprise rather than lost evidence; and a max-pooling
# head can switch to the next-best patch once the best is gone, which is why *k* is varied.
# </details>

# %% [markdown]
# ## Summary
# We computed attention by hand, `softmax(Q Kᵀ / √d) V`, saw what the √d prevents (a saturated
# softmax), split the width into heads and merged them back, checked the written-out module
# against PyTorch's fused kernel and `nn.MultiheadAttention`, and assembled the pre-norm
# encoder block and the whole AST. On the shipped model we first asked which tokens its head
# reads (the patches' maximum, not [CLS]), drew where those tokens attend, block by block and
# rolled out through all blocks, and then tested the maps by occlusion: silencing the patches a
# map ranks highest against silencing as many others.
#
# **The one idea to keep:** attention is a weighted average whose weights are computed from
# the data; everything else in the block (norms, residuals, the MLP) keeps those averages
# trainable when stacked. An attention map says where information *may* flow; only a test
# such as occlusion says whether the decision needs it.
#
# ## Questions to think about
# Each has a short discussion to unfold; think first.
#
# 1. The AST attends to padded frames too (it uses no mask). What does that cost on short
#    clips, and why might it matter less than it seems?
#
# <details><summary>Discussion</summary>
#
# Padding tokens cost compute like any other token, and every query can put weight on them,
# which dilutes the averages it forms. It matters less than it seems because in a dataset of
# equal lengths the padding is the same in every clip: the model learns to give it little
# weight, and the positional embedding tells it where the padding is. Under max pooling a
# quiet padding token also rarely holds a channel's maximum. Where lengths vary a lot within a
# batch, a key mask (exercise 3) is cheap insurance.
# </details>
#
# 2. The score matrix grows with the square of the token count. Where in the AST would you cut
#    tokens first: fewer mels, larger strides, or shorter clips?
#
# <details><summary>Discussion</summary>
#
# Where the information is most redundant. In environmental sound that is usually time: events
# are short and textures repeat, so a shorter input loses little. The `esc50-ast` recipe trains
# on 3-s crops of the 5-s clips and averages several crops at test time, which cuts every step
# in proportion to the frames dropped. A larger time stride comes next. Fewer mels or a larger
# frequency stride go last: frequency detail is what separates a rooster from a crying baby,
# and with 64 mels and rows every 10 bins the top bands are already lost (notebook 02). Below
# about `6 D` tokens a block's cost is mostly the per-token projections and MLP (notebook 02,
# exercise 4), so a cut pays back roughly what it removes, and more where the score matrix
# dominates.
# </details>
#
# 3. A CNN builds in locality and translation invariance; attention has to learn them. Why does
#    that make the CNN win on a small dataset (notebook 04), and what could close the gap?
#
# <details><summary>Discussion</summary>
#
# A CNN's filters are local and shared across the whole spectrogram, so a bark detector
# learned at 1 s works at 4 s for free. An AST must learn from the data which patches belong
# together and that a bark is a bark anywhere; with 1,600 training clips that costs accuracy.
# The gap closes with knowledge from elsewhere: pretraining (the AST paper's 95.6 % on ESC-50
# starts from ImageNet and AudioSet), a teacher (distillation through [DIST], notebook 04), a
# convolutional stem before the patches, or more varied data (mixup, crops, shifts).
# </details>
#
# 4. In a model pooled by maximum no head reads [CLS]. Is it then useless? Why would its
#    attention still be shaped by training? (Hint: what do the patch tokens read in the blocks
#    after the first?)
#
# <details><summary>Discussion</summary>
#
# Only [CLS]'s output after the *last* block is unused. In every earlier block the patch
# tokens can attend to [CLS] and read its value, so whatever [CLS] gathered flows into the
# patches the head does read, and the loss's gradient reaches [CLS] along that path. It works
# as a shared scratchpad, what vision transformers' "register" tokens are added for on
# purpose. Whether the model needs it is an experiment (remove it, retrain, compare on
# validation).
# </details>
#
# 5. The occlusion test fills hidden cells with silence. What else could "hidden" mean (the
#    training mean, noise, a blurred copy), and how could the choice change the verdict?
#
# <details><summary>Discussion</summary>
#
# Silence in a quiet clip leaves most random cells as they were, so the control is nearly
# free, and any drop from the map's cells stands out. The training mean (0 in normalised
# units) is brighter than silence: it inserts grey blocks that a max-pooling model may take
# for an event, so the control would cost something too. Noise and blurring stay closer to
# what the model saw in training. Every fill makes an input the model never saw, so some of a
# drop can be surprise rather than lost evidence. Removing and retraining (Hooker et al.)
# avoids that, at the price of one training run per test. A verdict that holds for several
# fills is the one to trust.
# </details>
#
# ## Further reading
# * Vaswani et al., *Attention Is All You Need* (arXiv:1706.03762), §3.2.1 (scaled dot-product
#   attention and the reason for √d), §3.2.2 (multi-head attention).
# * Gong, Chung, Glass, *AST* (arXiv:2104.01778), §2.1: the encoder, 12 blocks of 12 heads, and
#   the [CLS] output used for classification.
# * Xiong et al., *On Layer Normalization in the Transformer Architecture* (arXiv:2002.04745):
#   why pre-norm blocks train without warm-up tricks.
# * Dosovitskiy et al., *ViT* (arXiv:2010.11929), §4.5 and Appendix D.8: attention distance and
#   attention maps of trained models (drawn with attention rollout).
# * Abnar, Zuidema, *Quantifying Attention Flow in Transformers* (arXiv:2005.00928): attention
#   rollout, and why raw attention maps mislead beyond the first block.
# * Zeiler, Fergus, *Visualizing and Understanding Convolutional Networks* (arXiv:1311.2901),
#   §4.2: occlusion, hiding part of the input and watching the class probability.
# * Jain, Wallace, *Attention is not Explanation* (arXiv:1902.10186): attention weights that
#   disagree with what the decision depends on.
# * Hooker et al., *A Benchmark for Interpretability Methods in Deep Neural Networks* (ROAR,
#   arXiv:1806.10758): remove the pixels an explanation ranks highest, retrain, and measure.
# * Darcet et al., *Vision Transformers Need Registers* (arXiv:2309.16588): tokens that no head
#   reads, used as scratch space.
