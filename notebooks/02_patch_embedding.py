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
# # 02 · From a spectrogram to tokens
#
# A transformer reads a sequence of vectors (**tokens**). AST makes them from a log-mel
# spectrogram the way ViT makes them from an image: cut it into 16×16 **patches**, flatten
# each and project it linearly, put two learned tokens in front, and add a learned
# **positional embedding** so the model knows where each patch came from.
# Everything here calls `ast_lab.models`.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from ast_lab import features, plotting
from ast_lab.config import ASTConfig, FbankConfig
from ast_lab.data import synthesize
from ast_lab.models import AST, patch_grid, trace_shapes
from ast_lab.models.patches import PatchEmbed, extract_patches, patch_boxes
from ast_lab.widgets import patch_explorer

torch.manual_seed(0)
cfg = FbankConfig(normalize="per_sample")
wave = synthesize("two_tone_alternation", np.random.default_rng(3), seconds=2.0,
                  sample_rate=cfg.sample_rate)
spec = features.fbank(wave, cfg)  # (n_mels, frames)
print("spectrogram:", tuple(spec.shape), "= (n_mels, frames)")

# %% [markdown]
# ## How many patches?
# Patches start every `fstride` mel bins and every `tstride` frames, wherever a whole patch
# still fits. With 16×16 patches and the paper's stride of 10, neighbouring patches overlap by
# 6 bins or frames. Along an axis of length *L* that gives `(L − 16) // 10 + 1` patches.

# %%
for name, (n_mels, n_frames) in {
    "ESC-50, 5 s padded to 512 frames": (128, 512),
    "AudioSet, 10 s padded to 1024 frames": (128, 1024),
    "this 2 s clip": tuple(spec.shape),
}.items():
    f_patches, t_patches = patch_grid(n_mels, n_frames, 16, 10, 10)
    print(f"{name:38} {n_mels} x {n_frames:4} -> {f_patches} x {t_patches:3} = "
          f"{f_patches * t_patches:4} patches")

# %% [markdown]
# ## The patches, drawn
# Each outline is one patch; the filled ones in the bottom row show the overlap.

# %%
boxes = patch_boxes(*spec.shape, 16, 10, 10)
plotting.plot_patch_grid(spec, boxes, 16, highlight=[0, 1, 2],
                         title=f"{len(boxes)} overlapping 16x16 patches (stride 10)");

# %% [markdown]
# ## Flattened patches
# `extract_patches` cuts every patch and flattens it to 256 numbers, in token order
# (frequency-major: all time positions of the lowest band of patches first).

# %%
patches = extract_patches(spec[None], 16, 10, 10)  # (batch, num_patches, 16*16)
print("patches:", tuple(patches.shape), "= (batch, num_patches, patch_size**2)")
fig, axes = plt.subplots(1, 6, figsize=(10, 2))
for ax, index in zip(axes, range(0, 6)):
    ax.imshow(patches[0, index].reshape(16, 16), origin="lower", cmap="magma")
    ax.set(title=f"patch {index}", xticks=[], yticks=[])

# %% [markdown]
# ## The linear projection is a strided convolution
# Multiplying every flattened patch by one shared `(embed_dim, 256)` matrix is exactly what a
# `Conv2d` with a 16×16 kernel and stride (10, 10) computes. `PatchEmbed` uses the convolution
# (fast); `embed_by_unfold` writes out the cut-flatten-multiply. Same weights, same tokens:

# %%
embed = PatchEmbed(n_mels=spec.shape[0], n_frames=spec.shape[1], embed_dim=64)
print(embed)
with torch.no_grad():
    by_conv = embed(spec[None])  # (batch, num_patches, embed_dim)
    by_unfold = embed.embed_by_unfold(spec[None])  # (batch, num_patches, embed_dim)
print("tokens:", tuple(by_conv.shape), f" max difference {(by_conv - by_unfold).abs().max():.1e}")
assert torch.allclose(by_conv, by_unfold, atol=1e-5)

# %% [markdown]
# ## [CLS], [DIST] and positions
# AST starts from DeiT, which puts two learned tokens in front of the patches: **[CLS]** and
# **[DIST]**. They belong to no patch; through attention they gather a summary of the clip,
# and the classifier reads the mean of the two. Then a learned **positional embedding**, one
# vector per token position, is added: attention itself is blind to order, so without it the
# model could not tell a low patch from a high one. `trace_shapes` follows the shapes through
# a small model.

# %%
model = AST(ASTConfig.preset("micro", n_mels=spec.shape[0], n_frames=spec.shape[1], num_classes=12))
print(model.patch_embed)
print("cls_token", tuple(model.cls_token.shape), " dist_token", tuple(model.dist_token.shape),
      " pos_embed", tuple(model.pos_embed.shape))
rows = trace_shapes(model, spec[None])

# %% [markdown]
# ## What the positional embeddings look like before training
# For one patch, the cosine similarity of its position vector with every other patch's,
# laid out on the patch grid. At initialisation the vectors are random, so there is no
# structure: nothing is near anything. Notebook 04 draws the same map after training, when
# neighbouring positions have learned to look alike.

# %%
similarity = model.pos_embed_similarity()  # (f_patches, t_patches, f_patches, t_patches)
f_patches, t_patches = model.patch_embed.grid_size
row, col = f_patches // 2, t_patches // 2
plotting.plot_token_map(similarity[row, col], (f_patches, t_patches), cmap="coolwarm",
                        title=f"untrained: similarity to patch ({row}, {col})", label="cosine");

# %% [markdown]
# ## Explore
# Change the patch size and strides: smaller strides mean more overlap and many more tokens
# (attention's cost grows with the square of the token count).

# %%
patch_explorer(spec.numpy())
