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
from ast_lab import model_plots, transformer_plots
from ast_lab.config import AST_PRESETS, ASTConfig, FbankConfig
from ast_lab.examples import load_example
from ast_lab.listening import player
from ast_lab.model_card import load_card
from ast_lab.models import AST, patch_grid
from ast_lab.models.cost import block_cost
from ast_lab.models.introspection import filter_smoothness, mean_position_similarity, patch_filters
from ast_lab.models.patches import PatchEmbed, extract_patches, patch_boxes
from ast_lab.models.rollout import describe_readout
from ast_lab.recipes import RECIPES
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
print(f"highest bin covered with 128 mels: {model_plots.first_unseen_bin(f_patches, 16, 10) - 1}")

# %% [markdown]
# The models trained in this project read **64 mels**, not 128, and there the dropped tail is
# larger. With a stride of 10, five rows of patches end at bin 55, so bins 56 to 63, the bands
# centred at 5.5 kHz and above, never reach the model: a sizzle, a hiss or a bird's highest
# harmonics are cut off before training starts. Rows every 6 bins reach the top. What each AST
# recipe sees (`ast_lab.recipes`):

# %%
ast_recipes = {name: recipe for name, recipe in RECIPES.items()
               if isinstance(recipe.model, ASTConfig)}
for name, recipe in ast_recipes.items():
    n_mels, size, fstride = recipe.fbank.n_mels, recipe.model.patch_size, recipe.model.fstride
    rows, _ = patch_grid(n_mels, size, size, fstride, 1)
    unseen = model_plots.first_unseen_bin(rows, size, fstride)
    centres_hz = features.mel_band_edges(recipe.fbank)[1:-1]  # (n_mels,) band centres
    lost = (f"bins {unseen}-{n_mels - 1} never seen (band centres {centres_hz[unseen] / 1000:.1f} "
            f"kHz and up)" if unseen < n_mels else "every bin seen")
    print(f"{name:24} {n_mels:3} mels, fstride {fstride:2}: {rows} rows, {lost}")

# %% [markdown]
# Overlap has a price. Without it (stride 16) ESC-50's input gives 8 × 32 = 256 patches instead
# of 600: 258 tokens instead of 602, 2.33 times as many. Attention compares every token with
# every other, so its **score matrix** grows with the square of the token count, (602 / 258)² ≈
# 5.4 times. The rest of a block works on one token at a time: the query, key, value and output
# projections and the MLP grow 2.33 times. A whole block therefore costs about 2.5 times as
# much at the base width (768), where the projections and the MLP dominate, and about 3.3 times
# at the micro width (96) trained here, where the scores weigh more (multiply-accumulates
# counted by `ast_lab.models.cost.block_cost`). The paper found the overlap worth it (§3.1.3
# of the AST paper).

# %%
for stride in (10, 16):
    f_patches, t_patches = patch_grid(128, 512, 16, stride, stride)
    tokens = f_patches * t_patches + 2
    print(f"stride {stride}: {f_patches} x {t_patches} = {f_patches * t_patches} patches, "
          f"{tokens} tokens, {tokens ** 2:,} attention scores per head")
for preset in ("base", "micro"):
    width = AST_PRESETS[preset]["embed_dim"]
    dense, sparse = block_cost(602, width), block_cost(258, width)  # stride 10 against 16
    per_token = (dense.projections + dense.mlp) / (sparse.projections + sparse.mlp)
    print(f"{preset:5} (width {width:3}): scores x{dense.attention / sparse.attention:.2f}, "
          f"projections and MLP x{per_token:.2f}, whole block x{dense.total / sparse.total:.2f}")

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
# piece of the same stripe, and none holds the whole. The patches share the spectrogram's
# colour scale, so equal colours are equal values.

# %%
patches = extract_patches(spec[None], 16, 10, 10)  # (batch, num_patches, 16*16)
print("patches:", tuple(patches.shape), "= (batch, num_patches, patch_size**2)")
_, t_patches = patch_grid(*spec.shape, 16, 10, 10)
row_5 = patches[0, 5 * t_patches + 2: 5 * t_patches + 8].reshape(6, 16, 16)  # (6, bins, frames)
transformer_plots.plot_patches(row_5, [f"patch (5, {col})" for col in range(2, 8)],
                               limits=(float(spec.min()), float(spec.max())), unit="std units");

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
# patch; through attention they gather a summary of the clip, and in the AST paper the
# classifier reads the mean of the two. Then a learned **positional embedding**, one vector per
# token position, is added: attention itself is blind to order, so without it the model could
# not tell a low patch from a high one.
#
# **The ASTs trained here for environmental sound read neither token.** Their head **pools the
# patch tokens by maximum**, channel by channel, as the CNN does: a 0.3-s bark anywhere in 5 s
# then counts as much as a sound that fills the clip (the mean of [CLS] and [DIST] scored
# several points lower on validation, `results/tuning/`). The table after the next cell says
# what each recipe's head reads; notebook 03 shows what that means for attention maps.
#
# Why two? Because the AST starts from the weights of **DeiT** (Touvron et al. 2021), an
# ImageNet transformer trained by *distillation*: its [CLS] token learned the labels and its
# [DIST] token learned a CNN teacher's predictions. Keeping both tokens keeps those weights
# usable. Trained from scratch and without a teacher, the two tokens do the same job, and under
# max pooling no head reads either (they still take part in attention, as places where the
# patches can gather and exchange information). The distilled recipes give [DIST] its own
# job back: a second head on it learns from a CNN teacher (notebook 04).

# %%
model = AST(ASTConfig.preset("micro", n_mels=spec.shape[0], n_frames=spec.shape[1], num_classes=12))
print(model.patch_embed)
print("cls_token", tuple(model.cls_token.shape), " dist_token", tuple(model.dist_token.shape),
      " pos_embed", tuple(model.pos_embed.shape))
with torch.no_grad():
    tokens = model.embed(spec[None])  # (batch, 2 + num_patches, embed_dim)
print("tokens:", tuple(tokens.shape), "= (batch, [CLS] + [DIST] + patches, embed_dim)")

# %%
for name, recipe in ast_recipes.items():
    print(f"{name:24} {describe_readout(recipe.model)}")

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
# The package ships a small trained AST (`ast_lab/assets/model`, loaded by `load_card()`),
# trained from scratch on four folds of real recordings; the cell prints its recipe, its
# input size (mel bands × frames) and its patch grid. Below, three positions: low and early,
# middle, high and late.

# %%
shipped = load_card()  # a Classifier: the model, its FBANK settings and class names
trained = shipped.models[0]
print(shipped.source, "| input", (trained.cfg.n_mels, trained.cfg.n_frames),
      "| grid", trained.patch_embed.grid_size, "|", trained.cfg)
trained_similarity = trained.pos_embed_similarity()  # (Fp, Tp, Fp, Tp)
rows, cols = trained.patch_embed.grid_size
model_plots.plot_position_similarity(
    trained_similarity, [(0, cols // 10), (rows // 2, cols // 2), (rows - 1, cols * 9 // 10)],
    title="Positional embeddings of the shipped model");

# %% [markdown]
# Training gave the positions structure: every position is like the other positions in its
# **own frequency row**, and as much like a far one as like its neighbour in time, while
# positions in different rows are unrelated. So the model learned that *which band* a patch
# comes from matters, and *when* hardly at all: a bark is a bark at 1 s or at 4 s. The
# numbers:

# %%
fresh = AST(trained.cfg)  # the same architecture, untrained, for comparison
fresh_similarity = fresh.pos_embed_similarity()  # (Fp, Tp, Fp, Tp)
for label, same_row, gaps in (("same row, next time patch", True, (1, 1)),
                              ("same row, 20+ patches apart", True, (20, cols - 1)),
                              ("other rows, any time", False, (0, cols - 1))):
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
# The 1,600 training clips of ESC-50 are far too few to grow the clean edge and stripe
# detectors an ImageNet-trained transformer has (which is why the AST paper starts from
# DeiT's weights), but the trained filters are not noise. A number shows it: the correlation
# between neighbouring kernel weights, which is about 0 for random weights. After training it
# is well above 0 in both directions and higher along time than along frequency: the filters
# are smooth patterns, smoother over time than across bands.

# %%
for label, net in (("trained", trained), ("untrained", fresh)):
    along_freq, along_time = filter_smoothness(patch_filters(net)[:12])
    print(f"{label:9} 12 strongest filters: neighbour correlation along frequency "
          f"{along_freq:+.2f}, along time {along_time:+.2f}")

# %% [markdown]
# ## Explore
# Change the input length, the patch size and the strides (the picture redraws when you let
# go): smaller strides mean more overlap and many more tokens (attention's score matrix grows
# with the square of the token count). Set `frames` to 512 to reproduce ESC-50's 600 patches (the clip
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
# **4. An experiment: what does a smaller stride cost?** The shipped model's architecture with
# patches every 16, 12, 10, 8 and 6 bins and frames: for each, the token count and the time of
# one training step (forward and backward) on a batch of 4 random inputs of its size, on this
# machine.

# %%
from ast_lab.exercises.patches import check_growth_exponent
from ast_lab.models.cost import stride_costs

costs = stride_costs(trained.cfg, strides=(16, 12, 10, 8, 6), batch_size=4)
for row in costs:
    print(f"stride {row.stride:2}: grid {row.grid}, {row.tokens:4} tokens, "
          f"{1000 * row.seconds:7.1f} ms per step")
tokens = np.array([row.tokens for row in costs])
seconds = np.array([row.seconds for row in costs])

# %% [markdown]
# If the time grows as `tokens ** a`, what is `a`? Write the fit: on log-log axes a power law is
# a straight line, and `a` is its slope. The grader checks it on made-up power laws and on
# your measurements.

# %%
def growth_exponent(tokens: np.ndarray, seconds: np.ndarray) -> float:
    """``a`` in ``seconds ∝ tokens ** a``, fitted to all the measurements."""
    raise NotImplementedError  # your code here


check_growth_exponent(growth_exponent, tokens, seconds)

# %% [markdown]
# Compare your measurement with what counting multiply-accumulates predicts: the left panel
# draws both on log-log axes (the count scaled to start at the first measurement), beside the
# slopes 1 and 2. Time is not the only cost: written-out attention keeps every block's
# weights for the backward pass, one `(tokens, tokens)` matrix per head and clip, and that
# memory grows with the square of the token count (right panel, estimated by
# `cost.score_bytes`; the cell prints it). Fused kernels such as FlashAttention recompute the
# weights in the backward pass instead of keeping them: time traded for memory.

# %%
from ast_lab.exercises.patches import reference_exponent
from ast_lab.models.cost import score_bytes

macs = np.array([trained.cfg.depth * block_cost(t, trained.cfg.embed_dim).total for t in tokens])
print(f"exponent: measured {reference_exponent(tokens, seconds):.2f}, "
      f"from multiply-accumulates {reference_exponent(tokens, macs):.2f}")
for row in costs:
    weights = score_bytes(row.tokens, trained.cfg.num_heads, trained.cfg.depth, batch_size=4)
    print(f"{row.tokens:4} tokens: attention weights kept for backward {weights / 2**20:6.1f} MiB")
transformer_plots.plot_token_cost(costs, trained.cfg, batch_size=4);

# %% [markdown]
# <details><summary>Discussion (open after answering)</summary>
#
# The exponent lands between 1 and 2, and nearer 1 than the "attention is quadratic" slogan
# suggests. Per block the projections and the MLP cost `12 T D²` and the attention `2 T² D`,
# so the square only takes over when the token count passes about `6 D`: 576 tokens at the
# micro width, 4,608 at the base width. Below that a smaller stride costs roughly in
# proportion to its tokens. The measured exponent can also come out below the counted one:
# for small inputs fixed costs (Python, memory traffic, launching each operation) do not shrink
# with the token count. Both numbers are worth knowing before choosing a stride: the tokens
# set the time, and the time per token is nearly constant until `T` nears `6 D`.
# </details>

# %% [markdown]
# ## Summary
# We cut a log-mel spectrogram into overlapping 16 × 16 patches (600 for ESC-50's 128 × 512,
# 256 without overlap), flattened and projected them with one shared matrix, which is a strided
# convolution, put [CLS] and [DIST] in front and added a learned position to every token. The
# paper's head reads [CLS] and [DIST]; the models trained here for environmental sound pool
# the patch tokens by maximum instead. With 64 mels, rows every 10 bins leave the top 8 bins
# unseen; and a smaller stride costs tokens, whose time grows with an exponent between 1 and
# 2 that you measured.
#
# **The one idea to keep:** to a transformer an image is a *set* of tokens; the patch grid
# survives only through the positional embedding, and the token count, set by the strides,
# decides the cost of everything after.
#
# ## Questions to think about
# Each has a short discussion to unfold; think first.
#
# 1. With 64 mels and patch rows every 10 bins, bins 56 to 63 are never seen (with 128, the
#    top 2). How would you change `n_mels` or `fstride` so that every band is covered, and what
#    else changes?
#
# <details><summary>Discussion</summary>
#
# Every bin is covered when the rows end exactly at the top: `(n_mels − 16)` divisible by
# `fstride`. With 64 mels that means a stride of 6, 8, 12 or 16 (48 is divisible by each);
# the CPU recipes `esc50-ast` and `esc50-ast-distilled` use 6, which gives 9 rows instead of
# 5, 1.8 times the tokens, and more overlap. Keeping the stride at 10 instead means 66 or 56
# mels (or 126 or 136 instead of 128), which changes the features, so the statistics and
# every model must be redone; a
# pretrained model also needs its positional embedding resized to the new number of rows.
# Padding the spectrogram by a few bins at the top is the cheap alternative: one more row of
# patches that is partly empty.
# </details>
#
# 2. Overlap multiplies the score matrix by about 5.4 and a whole block by 2.5 (base) to 3.3
#    (micro). What does overlap buy that a model with non-overlapping patches could get
#    another way?
#
# <details><summary>Discussion</summary>
#
# Without overlap, an event that straddles a patch border is cut in two, and the same event
# shifted by a few frames lands in a different patch with a different share of it: the
# tokens are not robust to small shifts. Overlap shows every spot through several patches at
# several offsets. The same robustness can come from smaller patches (more tokens again), a
# convolutional stem that sees the spectrogram before it is cut, or augmentation with random
# shifts in time and frequency, so that training shows every event at many offsets.
# </details>
#
# 3. Without a teacher, [CLS] and [DIST] get the same gradient signal. Would you drop one, and
#    what would you lose when starting from DeiT's weights?
#
# <details><summary>Discussion</summary>
#
# Under the paper's head (the mean of the two) they are interchangeable, so one is redundant;
# it costs one token of about 600, so dropping it saves almost nothing. Starting from DeiT,
# dropping [DIST] throws away its learned embedding and its positional vector, which is
# harmless, but the other weights were trained with it present, so the first steps of
# fine-tuning would repair a small mismatch. Under max pooling neither token is read, yet both
# still take part in attention as extra places to store and exchange information; whether the
# model needs them is an experiment (drop both, retrain, compare on validation), not a
# deduction.
# </details>
#
# 4. The positional embedding is learned. How could the model use a clip longer than the one it
#    was trained on (see `AST.resize_input`)?
#
# <details><summary>Discussion</summary>
#
# Two ways. Resize the embedding: lay its rows back on the patch grid and interpolate to the
# longer grid (`AST.resize_input`; the AST paper adapts DeiT's 2-D positions the same way). The
# positions between the trained ones are then guesses, and the model sees a grid stretched in
# time. Or keep the input size and slide a window: score overlapping clip-length windows and
# average their probabilities, which is what `Classifier.windows` does for long recordings and
# what test-time crops do for a model trained on crops. Windows need no guess about new
# positions, at the cost of one forward pass per window.
# </details>
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
