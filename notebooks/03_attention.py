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
# check it against PyTorch's fused kernel and `nn.MultiheadAttention`, look at attention
# maps over a spectrogram, and trace one encoder block.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from ast_lab import features, plotting
from ast_lab.config import ASTConfig, FbankConfig
from ast_lab.data import synthesize
from ast_lab.models import AST, trace_shapes
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
plotting.plot_matrix(weights, title="Attention weights", xlabel="key token", ylabel="query token",
                     label="weight");

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
# spectrogram. Untrained, attention is diffuse; it has learned nothing to look for yet.
# Notebook 04 trains the model.

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
for head, ax in enumerate(axes[1:]):
    cls_to_patches = maps[0][0, head, 0, 2:]  # [CLS] row, patch columns
    plotting.plot_token_map(cls_to_patches, grid, ax=ax, title=f"block 0, head {head}")
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
# Every stage's output shape, from the spectrogram to the logits.

# %%
print(model)
rows = trace_shapes(model, spec[None])
