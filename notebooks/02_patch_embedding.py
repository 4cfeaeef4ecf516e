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
# Everything here calls `ast_lab.models`. The input is a real recording, the first two
# seconds of a rooster's call from ESC-10; at the end we open the small AST shipped with the
# package (trained on ESC-10) to see what its positions and its patch filters learned.
#
# *This page was executed with its full settings (nothing here is slow); `make notebooks`
# refreshes it.*

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from ast_lab import features, plotting
from ast_lab import model_plots
from ast_lab.config import ASTConfig, FbankConfig
from ast_lab.examples import load_example
from ast_lab.listening import player
from ast_lab.model_card import load_card
from ast_lab.models import AST, patch_grid
from ast_lab.models.introspection import filter_smoothness, mean_position_similarity, patch_filters
from ast_lab.models.patches import PatchEmbed, extract_patches, patch_boxes
from ast_lab.widgets import patch_explorer

torch.manual_seed(0)
cfg = FbankConfig(normalize="per_sample")
wave = load_example("rooster", cfg.sample_rate)[: 2 * cfg.sample_rate]  # (samples,), 2 s at 16 kHz
spec = features.fbank(wave, cfg)  # (n_mels, frames)
print("spectrogram:", tuple(spec.shape), "= (n_mels, frames)")
plotting.plot_spectrogram(spec, hop_length=cfg.hop_length, sample_rate=cfg.sample_rate,
                          unit="std units", title="Rooster, first 2 s (per-sample normalised)")
plt.show()
player(wave, cfg.sample_rate, label="rooster, 2 s at 16 kHz")

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
# Each outline is one patch; the filled ones in the bottom row show the overlap. The
# rooster's harmonics, the stacked bright stripes, cross many patches: no single patch holds
# the call, which is why the tokens must talk to each other (attention, notebook 03).

# %%
boxes = patch_boxes(*spec.shape, 16, 10, 10)
plotting.plot_patch_grid(spec, boxes, 16, highlight=[0, 1, 2],
                         title=f"{len(boxes)} overlapping 16x16 patches (stride 10)");

# %% [markdown]
# ## Flattened patches
# `extract_patches` cuts every patch and flattens it to 256 numbers, in token order
# (frequency-major: all time positions of the lowest band of patches first, so patch
# `(row, col)` is token `row * t_patches + col`). Below, six neighbours in time from row 5
# (mel bins 50 to 65), where the call's strongest harmonic runs. The call starts near frame
# 45, so patch (5, 3) catches its onset at its right edge; from (5, 4) on, each patch holds a
# piece of the same stripe, and none holds the whole.

# %%
patches = extract_patches(spec[None], 16, 10, 10)  # (batch, num_patches, 16*16)
print("patches:", tuple(patches.shape), "= (batch, num_patches, patch_size**2)")
_, t_patches = patch_grid(*spec.shape, 16, 10, 10)
fig, axes = plt.subplots(1, 6, figsize=(10, 2))
for ax, col in zip(axes, range(2, 8)):
    ax.imshow(patches[0, 5 * t_patches + col].reshape(16, 16), origin="lower", cmap="magma")
    ax.set(title=f"patch (5, {col})", xticks=[], yticks=[])

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
# structure: nothing is near anything.

# %%
similarity = model.pos_embed_similarity()  # (f_patches, t_patches, f_patches, t_patches)
f_patches, t_patches = model.patch_embed.grid_size
row, col = f_patches // 2, t_patches // 2
plotting.plot_token_map(similarity[row, col], (f_patches, t_patches), cmap="coolwarm",
                        limits=(-1, 1), label="cosine (fixed scale -1 to 1)",
                        title=f"untrained: similarity to patch ({row}, {col})");

# %% [markdown]
# ## ... and after training
# The package ships a small trained AST (`ast_lab/assets/model`, loaded by `load_card()`): the
# `esc10-ast-distilled` recipe, trained from scratch on ESC-10 folds 2 to 5 (320 clips). Its
# input is 64 mels × 501 frames (5 s), so its grid is 5 frequency patches × 49 time patches.
# Below, three positions: low and early, middle, high and late.

# %%
shipped = load_card()  # a Classifier: the model, its FBANK settings and class names
trained = shipped.models[0]
print("grid", trained.patch_embed.grid_size, "|", trained.cfg)
trained_similarity = trained.pos_embed_similarity()  # (5, 49, 5, 49)
model_plots.plot_position_similarity(trained_similarity, [(0, 5), (2, 24), (4, 44)],
                                     title="Positional embeddings of the shipped model");

# %% [markdown]
# Training gave the positions structure: every position is most like the other positions in
# its **own frequency row**, whatever their time, and the neighbours in time are the most alike.
# Across rows they are nearly unrelated. So the model learned that *which band* a patch comes
# from matters, and *when* matters much less: a bark is a bark at 1 s or at 4 s. The numbers:

# %%
fresh = AST(trained.cfg)  # the same architecture, untrained, for comparison
fresh_similarity = fresh.pos_embed_similarity()  # (5, 49, 5, 49)
for label, same_row, gaps in (("same row, next time patch", True, (1, 1)),
                              ("same row, 20+ patches apart", True, (20, 48)),
                              ("other rows, any time", False, (0, 48))):
    print(f"{label:28} trained {mean_position_similarity(trained_similarity, same_row, *gaps):+.2f}"
          f"   untrained {mean_position_similarity(fresh_similarity, same_row, *gaps):+.2f}")

# %% [markdown]
# ## What the patch embedding learned
# Each of the 96 channels of a token is one 16 × 16 kernel applied to its patch (mel bins up,
# frames across). Here are the 36 strongest of the trained model (red positive, blue
# negative), beside 12 of a fresh model for comparison.

# %%
model_plots.plot_patch_filters(patch_filters(trained)[:36], ncols=12,
                               title="Shipped model: the 36 strongest patch filters");
model_plots.plot_patch_filters(patch_filters(fresh)[:12], ncols=12,
                               title="Untrained: 12 patch filters");

# %% [markdown]
# Honestly, the trained filters still look mostly like noise: 320 clips are far too few to
# grow the clean edge and stripe detectors an ImageNet-trained transformer has (which is why
# the AST paper starts from DeiT's weights). But they are not noise any more. A number shows
# it: the correlation between neighbouring kernel weights, which is about 0 for random
# weights. After training, neighbours along time agree more than along frequency: the
# filters have begun to smooth over time and stay sharp across bands, much as the
# positional embeddings care more about the band than the moment.

# %%
for label, net in (("trained", trained), ("untrained", fresh)):
    along_freq, along_time = filter_smoothness(patch_filters(net)[:12])
    print(f"{label:9} 12 strongest filters: neighbour correlation along frequency "
          f"{along_freq:+.2f}, along time {along_time:+.2f}")

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
