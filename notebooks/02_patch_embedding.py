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
from ast_lab.models import AST, patch_grid
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
#
# A tail shorter than a patch is dropped. With 128 mels the last patch starts at bin 110 and
# ends at bin 125: **the top 2 mel bands (126 and 127) are never seen** by the model. Along
# time, 512 frames give patches up to frame 505, so the last 6 frames of padding are dropped.

# %%
for name, (n_mels, n_frames) in {
    "ESC-50, 5 s padded to 512 frames": (128, 512),
    "AudioSet, 10 s padded to 1024 frames": (128, 1024),
    "this 2 s clip": tuple(spec.shape),
}.items():
    f_patches, t_patches = patch_grid(n_mels, n_frames, 16, 10, 10)
    print(f"{name:38} {n_mels} x {n_frames:4} -> {f_patches} x {t_patches:3} = "
          f"{f_patches * t_patches:4} patches")
f_patches, _ = patch_grid(128, 512, 16, 10, 10)
print(f"highest bin covered with 128 mels: {(f_patches - 1) * 10 + 16 - 1}")

# %% [markdown]
# Overlap has a price. Without it (stride 16) ESC-50's input gives 8 × 32 = 256 patches instead
# of 600, and attention compares every token with every other, so its cost grows with the
# square of the token count: (602 / 258)² ≈ 5.4 times the work per attention layer. The paper
# found the overlap worth it (§3.1.3 of the AST paper).

# %%
for stride in (10, 16):
    f_patches, t_patches = patch_grid(128, 512, 16, stride, stride)
    tokens = f_patches * t_patches + 2
    print(f"stride {stride}: {f_patches} x {t_patches} = {f_patches * t_patches} patches, "
          f"{tokens} tokens, {tokens ** 2:,} attention scores per head")

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
# Two learned tokens go in front of the patches: **[CLS]** and **[DIST]**. They belong to no
# patch; through attention they gather a summary of the clip, and the classifier reads the mean
# of the two. Then a learned **positional embedding**, one vector per token position, is
# added: attention itself is blind to order, so without it the model could not tell a low
# patch from a high one.
#
# Why two? Because the AST starts from the weights of **DeiT** (Touvron et al. 2021), an
# ImageNet transformer trained by *distillation*: its [CLS] token learned the labels and its
# [DIST] token learned a CNN teacher's predictions. Keeping both tokens keeps those weights
# usable. Trained from scratch and without a teacher, as here, the two prompt tokens do the
# same job and one is redundant. This project's `ast-distilled` recipe is what gives [DIST]
# its own job back: it learns from a CNN teacher (notebook 04).

# %%
model = AST(ASTConfig.preset("micro", n_mels=spec.shape[0], n_frames=spec.shape[1], num_classes=12))
print(model.patch_embed)
print("cls_token", tuple(model.cls_token.shape), " dist_token", tuple(model.dist_token.shape),
      " pos_embed", tuple(model.pos_embed.shape))
with torch.no_grad():
    tokens = model.embed(spec[None])  # (batch, 2 + num_patches, embed_dim)
print("tokens:", tuple(tokens.shape), "= (batch, [CLS] + [DIST] + patches, embed_dim)")

# %% [markdown]
# These tokens are what the transformer's blocks read; notebook 03 builds attention and the
# blocks, and traces the whole model from spectrogram to logits.

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
                        limits=(-1, 1), label="cosine (fixed scale -1 to 1)",
                        title=f"untrained: similarity to patch ({row}, {col})");

# %% [markdown]
# ## Explore
# Change the input length, the patch size and the strides (the picture redraws when you let
# go): smaller strides mean more overlap and many more tokens (attention's cost grows with the
# square of the token count). Set `frames` to 512 to reproduce ESC-50's 600 patches (the clip
# is padded with its own minimum).

# %%
patch_explorer(spec.numpy())

# %% [markdown]
# ## Exercises
# Write each function below in place of its `raise NotImplementedError`, then run the cell:
# the grader compares it with `ast_lab.models` on several inputs, edge cases included, and
# names the first difference with a hint. (Worked solutions: `ast_lab/exercises/solutions.py`.)
#
# **1. The patch count** for any input size, patch size and strides.

# %%
from ast_lab.exercises.patches import check_patch_count, check_patches, check_tokens


def patch_count(n_mels: int, n_frames: int, patch_size: int, fstride: int,
                tstride: int) -> tuple[int, int]:
    """``(f_patches, t_patches)``: patches along frequency and along time."""
    raise NotImplementedError  # your code here


check_patch_count(patch_count)

# %% [markdown]
# **2. Patches by `unfold`.** Cut and flatten every patch with `torch.nn.functional.unfold`,
# one row per patch, in token order (frequency-major).

# %%
def patches_by_unfold(spec: torch.Tensor, patch_size: int, fstride: int,
                      tstride: int) -> torch.Tensor:
    """``(B, n_mels, frames) -> (B, num_patches, patch_size**2)``."""
    raise NotImplementedError  # your code here


check_patches(patches_by_unfold)

# %% [markdown]
# **3. Tokens and positions**: what `AST.embed` does after the patch embedding.

# %%
def tokens_with_positions(patches: torch.Tensor, cls_token: torch.Tensor,
                          dist_token: torch.Tensor, pos_embed: torch.Tensor) -> torch.Tensor:
    """``patches (B, N, D)``, tokens ``(1, 1, D)``, ``pos_embed (1, 2 + N, D)`` -> ``(B, 2 + N, D)``."""
    raise NotImplementedError  # your code here


check_tokens(tokens_with_positions)

# %% [markdown]
# ## Summary
# We cut a log-mel spectrogram into overlapping 16 × 16 patches (600 for ESC-50's 128 × 512,
# 256 without overlap), flattened and projected them with one shared matrix, which is a strided
# convolution, put [CLS] and [DIST] in front and added a learned position to every token.
#
# **The one idea to keep:** to a transformer an image is a *set* of tokens; the patch grid
# survives only through the positional embedding, and the token count, set by the strides,
# decides the cost of everything after.
#
# ## Questions to think about
# 1. The top 2 of 128 mel bands are never seen. How would you change `n_mels` or `fstride` so
#    that every band is covered, and what else changes?
# 2. Overlap multiplies attention's cost by about 5. What does overlap buy that a model with
#    non-overlapping patches could get another way?
# 3. Without a teacher, [CLS] and [DIST] get the same gradient signal. Would you drop one, and
#    what would you lose when starting from DeiT's weights?
# 4. The positional embedding is learned. How could the model use a clip longer than the one it
#    was trained on (see `AST.resize_input`)?
#
# ## Further reading
# * Gong, Chung, Glass, *AST: Audio Spectrogram Transformer* (arXiv:2104.01778): §2.1, patches,
#   the linear projection, [CLS]/[DIST] and the positional embedding; §2.2 and §3.1.3, the
#   ImageNet (DeiT) weights, their positional-embedding adaptation, and the effect of patch
#   overlap.
# * Dosovitskiy et al., *An Image is Worth 16x16 Words* (ViT, arXiv:2010.11929), §3.1: patch
#   embedding and learned 1-D positions; Appendix D.4 on positional embeddings.
# * Touvron et al., *Training data-efficient image transformers & distillation through
#   attention* (DeiT, arXiv:2012.12877), §4: the distillation token and its head.
