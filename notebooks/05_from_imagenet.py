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
# # 05 · From ImageNet to audio
#
# The AST paper's best ESC-50 result does not come from the architecture alone. It comes from
# starting out of **DeiT**, a vision transformer trained on ImageNet's 1.3 million photos, and
# then from AudioSet's 2 million sound clips. Its Section 2.2 turns a vision model into an audio
# model in three moves: the colour patch filters become one channel, the image's square grid
# of positions is fitted to the spectrogram's, and [CLS] and [DIST] come along. This notebook
# makes each move, draws it and checks it, loads the three formats published weights come in,
# and fine-tunes a converted model next to one from random weights.
#
# Nothing is downloaded. Where no real checkpoint is at hand, the cells make one on the spot,
# in exactly the published layout, from weights they draw themselves (`ast_lab.models.
# pretrained.stand_ins`). Give a path in an environment variable before starting the kernel
# and the same cells use the real file:
#
# | variable | what | where to get it |
# |---|---|---|
# | `AST_LAB_DEIT` | an ImageNet DeiT in timm's names (`.pth` or `.safetensors`) | DeiT's releases, or timm's `deit_tiny_distilled_patch16_224` (the one to try on a CPU) |
# | `AST_LAB_AUTHORS_CKPT` | the authors' `audioset_10_10_0.4593.pth`, with their `class_labels_indices.csv` beside it | the AST repository's README |
# | `AST_LAB_HF_DIR` | a Hugging Face folder | `MIT/ast-finetuned-audioset-10-10-0.4593` |
#
# *This page was saved from a full run (`make notebooks`) with no variable set: every
# checkpoint on it is a stand-in made on the spot.*

# %%
import dataclasses
import math
import os
import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from IPython.display import Markdown, display

from ast_lab import pretraining_plots
from ast_lab.anchors import comparison_table
from ast_lab.examples import example_path, load_example
from ast_lab.listening import player
from ast_lab.metrics import Results
from ast_lab.models import AST
from ast_lab.models.pretrained import (deit_config, fit_position_grid, from_authors, from_deit,
                                       kaldi_inputs, load_hf, read_weights)
from ast_lab.models.pretrained.authors import authors_config
from ast_lab.models.pretrained.deit import sum_rgb_filters
from ast_lab.models.pretrained.grid import fit_axis, grid_to_image
from ast_lab.models.pretrained.stand_ins import (save_authors, save_hf, stand_in_audioset_ast,
                                                 stand_in_deit)
from ast_lab.pretrained_classifier import pretrained_classifier
from ast_lab.recipes_pretrained import ESC50_MEAN, ESC50_STD

torch.manual_seed(0)
# Kaldi's recipe at 128 mel bins and 16 kHz leaves filter 3 narrower than an FFT bin: it outputs
# zeros, in torchaudio as here (notebook 01). Known and harmless, so not repeated at every clip.
warnings.filterwarnings("ignore", "Empty filters detected")
REAL = {name: os.environ.get(name) for name in ("AST_LAB_DEIT", "AST_LAB_AUTHORS_CKPT",
                                                "AST_LAB_HF_DIR")}
scratch = tempfile.TemporaryDirectory(prefix="notebook05-")  # removed when the kernel stops
WORK = Path(scratch.name)  # where the stand-ins are written
for name, path in REAL.items():
    print(f"{name:21} {path or 'not set: a stand-in made on the spot'}")

# %% [markdown]
# ## Why pretraining matters
# On ESC-50, 5-fold cross-validated, the paper reports **88.7 %** for the AST started from an
# ImageNet DeiT and **95.6 %** for one started from ImageNet and then AudioSet. This project's
# recipes learn from ESC-50's 1,600 training clips alone; `benchmarks/kfold.py` writes their
# rows into `results/esc50.md`, read here as it stands:

# %%
REPO = Path.cwd().resolve()
while not (REPO / "pyproject.toml").is_file():  # the notebook may run from notebooks/
    REPO = REPO.parent
display(Markdown((REPO / "results" / "esc50.md").read_text()))

# %% [markdown]
# The same runs beside published results (`ast_lab.anchors`), in orange those that saw other
# data before ESC-50:

# %%
runs = {folder.name: Results.load(folder)
        for folder in sorted((REPO / "results" / "esc50").iterdir())
        if (folder / "results.json").is_file()}
display(Markdown(comparison_table(runs)))
pretraining_plots.plot_standing(runs);

# %% [markdown]
# A transformer must learn from data what a convolution assumes (notebooks 02 and 03): that
# neighbouring pixels belong together and that a pattern means the same wherever it sits.
# 1,600 clips teach that poorly; a million photos teach it well, and a surprising share of it
# carries over from photos to spectrograms. The rest of this notebook is how the weights are
# carried over.
#
# ## The DeiT
# A distilled DeiT in timm's names: [CLS] and [DIST], positions for a square grid of 16 × 16
# patches (24 × 24 for DeiT-384's images, which the paper starts from), colour patch filters,
# the blocks, and two ImageNet heads of 1,000 classes. The stand-in has all of that at DeiT-tiny's
# width (192) with 2 blocks. Its blocks are random, as a fresh model's; its patch filters are
# smooth oriented gratings in colour and its positions a smooth 2-D sinusoidal embedding, so
# that the pictures below show what the conversion does (random weights would show noise; a
# real DeiT's show what it learned).

# %%
stand_in = stand_in_deit(embed_dim=192, depth=2, grid=24)  # timm's names, made on the spot
if REAL["AST_LAB_DEIT"]:
    deit, source = read_weights(REAL["AST_LAB_DEIT"])  # a dict of tensors in timm's names
else:
    deit, source = stand_in, "a stand-in DeiT (tiny width, 2 blocks, 24 x 24 grid)"
print(source, f"| {len(deit)} tensors, {sum(v.numel() for v in deit.values()) / 1e6:.1f} M numbers")
for key in ("cls_token", "dist_token", "pos_embed", "patch_embed.proj.weight",
            "blocks.0.attn.qkv.weight", "norm.weight", "head.weight", "head_dist.weight"):
    print(f"  {key:26} {tuple(deit[key].shape)}")

# %% [markdown]
# ## 1. Three colours become one
# Each of DeiT's filters is `(3, 16, 16)`: one slice for red, one for green, one for blue.
# A spectrogram has one channel. The paper **sums the three slices**: a grey image, the same
# values in R, G and B, then gives exactly the tokens it gave DeiT, and a spectrogram is such a
# grey image. Below, four filters: in colour, each slice, and the sum.

# %%
proj = deit["patch_embed.proj.weight"]  # (D, 3, 16, 16)
pretraining_plots.plot_rgb_filters(proj, picks=[0, 1, 2, 3]);

# %% [markdown]
# The check: a random one-channel "spectrogram", copied into R, G and B and seen through DeiT's
# filters, against the one channel seen through the summed filters.

# %%
summed = sum_rgb_filters(proj)  # (D, 1, 16, 16)
grey = torch.randn(1, 1, 128, 160)  # (batch, 1 channel, mel bins, frames)
through_rgb = F.conv2d(grey.expand(-1, 3, -1, -1), proj, stride=16)  # (1, D, 8, 10)
through_sum = F.conv2d(grey, summed, stride=16)  # (1, D, 8, 10)
print(f"tokens {tuple(through_sum.shape)}, largest difference "
      f"{(through_rgb - through_sum).abs().max():.1e}")
assert torch.allclose(through_rgb, through_sum, rtol=1e-4, atol=1e-4)  # float rounding

# %% [markdown]
# Not every filter survives. One that responds to colour (red against green, say) has slices
# of opposite sign that cancel in the sum: a grey image never excites it. The share of each
# filter's strength that its sum keeps (1: three equal slices, 0: slices that cancel):

# %%
kept = summed.flatten(1).norm(dim=1) / (math.sqrt(3) * proj.flatten(1).norm(dim=1))  # (D,)
fig, ax = plt.subplots(figsize=(6, 2.6))
ax.hist(kept.numpy(), bins=30, range=(0, 1))
ax.set(xlabel="share of the filter kept by the sum", ylabel="filters",
       title=f"{int((kept < 0.2).sum())} of {len(kept)} filters keep under 20 %");

# %% [markdown]
# ## 2. The position grid is fitted to the spectrogram's
# DeiT learned one position vector per cell of a 24 × 24 grid. ESC-50's 128 mel bins × 512
# frames at stride 10 make a 12 × 50 grid of patches, AudioSet's 1,024 frames 12 × 101. The
# authors fit each axis on its own, **time first, then frequency**
# (`ast_lab.models.pretrained.grid`):
#
# * where the new axis is **shorter**, they keep the **middle** cells (from cell
#   `old // 2 − new // 2`): the learned vectors stay as they are, and neighbours stay neighbours;
# * where it is **longer**, they **stretch** the grid bilinearly to the new length.
#
# ESC-50: the 24 columns are stretched to 50, then rows 6 to 17 are kept. Drawn channel by
# channel, as images with time across and frequency up:

# %%
pos_embed = deit["pos_embed"]  # (1, 2 + side * side, D)
side = math.isqrt(pos_embed.shape[1] - 2)
_, image = grid_to_image(pos_embed, (side, side))  # (1, D, 24, 24)
stretched = fit_axis(image, 50, axis=-1)  # (1, D, 24, 50): time stretched
esc50_grid = fit_axis(stretched, 12, axis=-2)  # (1, D, 12, 50): the middle 12 rows
audioset_grid = fit_axis(fit_axis(image, 101, axis=-1), 12, axis=-2)  # (1, D, 12, 101)
stages = {"DeiT": image[0], "time stretched": stretched[0], "ESC-50": esc50_grid[0],
          "AudioSet": audioset_grid[0]}
pretraining_plots.plot_position_channels(stages, channels=[4, 24, 100, 120]);

# %% [markdown]
# What a position *means* is how it relates to the others: the cosine similarity of one cell's
# vector to every cell's. The middle cell is most like its neighbours, the same distance up or
# across (the stand-in's vectors are half row, half column, so cells of its own row or column
# stay half alike: the cross). Stretched, a time step is half a DeiT cell, so the bright spot
# reaches twice as many columns; cut, the rows keep DeiT's spacing.

# %%
middle = {"DeiT": (side // 2, side // 2), "time stretched": (side // 2, 25),
          "ESC-50": (6, 25), "AudioSet": (6, 50)}
pretraining_plots.plot_position_similarity(stages, middle);

# %% [markdown]
# The check: `from_deit`, for ESC-50's input, holds exactly the grid drawn above.

# %%
esc50_cfg = deit_config(deit, n_mels=128, n_frames=512, num_classes=50, drop_path_rate=0.0)
esc50_ast = from_deit(deit, esc50_cfg).eval()
fitted = fit_position_grid(pos_embed, (side, side), esc50_ast.patch_embed.grid_size)
print("grid", esc50_ast.patch_embed.grid_size, "| pos_embed", tuple(esc50_ast.pos_embed.shape))
assert torch.equal(esc50_ast.pos_embed.data, fitted)
assert torch.equal(fitted[0, 2:], esc50_grid[0].flatten(1).T)

# %% [markdown]
# ## 3. [CLS] and [DIST] come along
# DeiT was trained by distillation: its [CLS] token learned ImageNet's labels and its [DIST]
# token a CNN teacher's predictions. The AST keeps both, with their own position rows, because
# every block was trained with both present: that is why the AST has two prompt tokens and why
# its head reads their mean. DeiT's two 1,000-class heads are dropped, and a new head starts
# from scratch. The blocks and the final norm are copied as they are.

# %%
converted = esc50_ast.state_dict()
for key in ("cls_token", "dist_token", "blocks.0.attn.qkv.weight", "norm.weight"):
    assert torch.equal(converted[key], deit[key]), key
assert torch.equal(esc50_ast.pos_embed[:, :2], pos_embed[:, :2])  # their rows have no cell
print(f"DeiT's heads {tuple(deit['head.weight'].shape)} and {tuple(deit['head_dist.weight'].shape)}"
      f" -> a new head {tuple(esc50_ast.head.weight.shape)} on the mean of [CLS] and [DIST]")

# %% [markdown]
# ## Loading each format
# ### An ImageNet DeiT
# `from_deit` made `esc50_ast` above. Here it listens to a real recording, the dog of the
# shipped examples, computed as the authors compute ESC-50's input: Kaldi FBANK of 128 mel bins,
# padded to 512 frames, normalised by their ESC-50 mean and twice its standard deviation. Its
# head is new, so the 50 scores mean nothing yet: fine-tuning gives them meaning.

# %%
wave = load_example("dog")  # (80000,) at 16 kHz
player(wave, 16_000, label="dog, 5 s at 16 kHz")
esc50_inputs = kaldi_inputs(128, 16_000, 512, ESC50_MEAN, ESC50_STD)
spec = esc50_inputs.features(wave[None])  # (1, 128, 512)
with torch.no_grad():
    logits = esc50_ast(spec)  # (1, 50)
print(f"input {tuple(spec.shape)} -> tokens {tuple(esc50_ast.embed(spec).shape)} -> logits "
      f"{tuple(logits.shape)}")

# %% [markdown]
# ### The authors' AudioSet checkpoint
# Their `audioset_10_10_0.4593.pth` is an AST of DeiT-base trained on AudioSet: the encoder
# under `module.v.` with one-channel filters and a 12 × 101 grid (1,024 frames), the head
# under `module.mlp_head.` (a LayerNorm and AudioSet's 527 classes), and class names in a CSV
# beside it. The stand-in follows their recipe up to the training: the stand-in DeiT adapted
# to 128 × 1,024, with a new 527-class head, saved in their layout.

# %%
audioset_ast = stand_in_audioset_ast(stand_in)  # 128 x 1,024, 527 classes, untrained
names = [f"stand-in class {i}" for i in range(audioset_ast.cfg.num_classes)]
authors_path = (Path(REAL["AST_LAB_AUTHORS_CKPT"]) if REAL["AST_LAB_AUTHORS_CKPT"]
                else save_authors(audioset_ast, WORK / "audioset_10_10_0.4593.pth", names))
authors_state, _ = read_weights(authors_path)
for key in ("module.v.pos_embed", "module.v.patch_embed.proj.weight", "module.mlp_head.1.weight"):
    print(f"{key:34} {tuple(authors_state[key].shape)}")

# %% [markdown]
# `from_authors` loads it for any input length. For ESC-50's 512 frames their code keeps the
# middle 50 of its 101 time columns (cut, not stretched); the check compares with the file:

# %%
own_size = authors_config(authors_path)  # the checkpoint's own input and sizes
for_esc50 = from_authors(authors_path, dataclasses.replace(own_size, n_frames=512)).eval()
print("grid", for_esc50.patch_embed.grid_size, "of", (12, 101), "| head",
      tuple(for_esc50.head.weight.shape))
start = 101 // 2 - 50 // 2
file_cells = authors_state["module.v.pos_embed"][0, 2:].reshape(12, 101, -1)  # (F, T, D)
assert torch.equal(for_esc50.pos_embed[0, 2:].reshape(12, 50, -1), file_cells[:, start:start + 50])

# %% [markdown]
# ### A Hugging Face folder
# `MIT/ast-finetuned-audioset-10-10-0.4593` is the authors' checkpoint converted by
# transformers: `config.json` (sizes, input, class names), `model.safetensors` (their names,
# attention's `qkv` split into query, key and value) and `preprocessor_config.json` (the
# feature extractor's frames, mean and std). `load_hf` returns the model, its class names and
# that exact input pipeline. The stand-in is the AudioSet stand-in above, written by
# `save_hf`; the check: the folder's model equals the one written.

# %%
hf_dir = (Path(REAL["AST_LAB_HF_DIR"]) if REAL["AST_LAB_HF_DIR"]
          else save_hf(audioset_ast, WORK / "ast-audioset-stand-in", names, mean=-4.2677393,
                       std=4.5689974))
for file in sorted(hf_dir.iterdir()):
    print(f"  {file.name:26} {file.stat().st_size / 1e6:7.2f} MB")
checkpoint = load_hf(hf_dir)
hf_spec = checkpoint.inputs.features(wave[None])  # (1, 128, frames)
with torch.no_grad():
    hf_logits = checkpoint.model(hf_spec)  # (1, classes)
print(f"input {tuple(hf_spec.shape)}, normalised by (mean, 2 std) = "
      f"{tuple(round(v, 3) for v in checkpoint.inputs.norm)} -> logits {tuple(hf_logits.shape)}; "
      f"classes {checkpoint.class_names[:2]}...")
if not REAL["AST_LAB_HF_DIR"]:
    with torch.no_grad():
        gap = (audioset_ast(hf_spec) - hf_logits).abs().max()
    print(f"folder vs the model written: largest logit difference {gap:.1e}")
    assert gap < 1e-4

# %% [markdown]
# Both checkpoints at their own size, as `ast-lab predict --weights` runs them, asked about a
# file: AudioSet's classes with the real ones, stand-in names here (untrained, so the answer
# means nothing). An AudioSet clip holds several sounds at once, so the authors' checkpoint
# gives each class its own sigmoid (the probabilities need not sum to 1); a Hugging Face folder
# does so when its `config.json` says `multi_label_classification`.

# %%
for label, path in (("authors' checkpoint", authors_path), ("Hugging Face folder", hf_dir)):
    prediction = pretrained_classifier(path).classify_file(example_path("dog"))
    top = ", ".join(f"{name} {p:.3f}" for name, _, p in prediction.top(3))
    print(f"{label}: {prediction.windows} window(s) of {prediction.seconds:.1f} s -> {top}")

# %% [markdown]
# The tests prove each loader against the reference libraries on checkpoints they make
# offline: `from_deit` equals the paper's procedure run through timm's own blocks, `load_hf`
# equals transformers' model and feature extractor, and the authors' layout equals
# transformers' conversion of it (`tests/test_pretrained_*.py`).
#
# ## Fine-tuning, briefly
# The last step is the one that matters: train the converted model on sounds. Below, the AST
# from the DeiT and the same AST from random weights train on the built-in set of notebook 04
# (fold 1's training clips; the loss on its validation clips after every epoch), with the same
# batches, augmentations and schedule.
#
# **Be honest about what this shows.** The stand-in DeiT knows nothing: its blocks are random,
# so the two models should learn alike, and any gap is luck or the stand-in's smooth filters and
# positions. The cell shows the mechanics. With a real DeiT in `AST_LAB_DEIT` (DeiT-tiny is the
# one to try on a CPU; DeiT-base takes minutes an epoch) it shows the real effect. The built-in
# clips are 48 mel bins by 1 s, a grid of 4 × 9 patches: both axes of DeiT's grid are cut from
# the middle. In quick mode (`AST_LAB_QUICK=1`, as the tests run) the data and epochs shrink.

# %%
from ast_lab.data import fold_split, load_dataset
from ast_lab.demo import demo_settings, quick_mode
from ast_lab.fine_tuning import fine_tune
from ast_lab.training import fit_to_data

settings = demo_settings()
data = load_dataset(settings.data, settings.fbank)
split = fold_split(data.metadata, test_fold=1, val_fraction=settings.data.val_fraction)
train_cfg = dataclasses.replace(settings.ast_train, epochs=2 if quick_mode() else 5)
model_cfg = fit_to_data(deit_config(deit, pooling="tokens", drop_path_rate=0.0), data)
torch.manual_seed(0)
from_imagenet = from_deit(deit, model_cfg)
from_random = AST(from_imagenet.cfg)  # the same architecture, a fresh model's weights
print(f"{len(split.train)} training and {len(split.val)} validation clips, input "
      f"{(data.n_mels, data.n_frames)}, grid {from_imagenet.patch_embed.grid_size}, "
      f"{train_cfg.epochs} epochs")
starts = {"from the DeiT": from_imagenet, "from random weights": from_random}
histories = {name: fine_tune(model, data, split, train_cfg) for name, model in starts.items()}
pretraining_plots.plot_fine_tuning(histories);

# %% [markdown]
# ## Exercises
# Write each function below in place of its `raise NotImplementedError`, then run the cell:
# the grader compares it with `ast_lab.models.pretrained` on several inputs, edge cases
# included, and names the first difference with a hint. (Worked solutions:
# `ast_lab/exercises/solutions.py`.)
#
# **1. Three colours into one.** DeiT's patch filters `(D, 3, p, p)` as one-channel filters.

# %%
from ast_lab.exercises.pretraining import check_fit_axis, check_fit_grid, check_rgb_sum


def sum_rgb(weight: torch.Tensor) -> torch.Tensor:
    """``(D, 3, p, p) -> (D, 1, p, p)``."""
    raise NotImplementedError  # your code here


check_rgb_sum(sum_rgb)

# %% [markdown]
# **2. One axis of a grid.** A grid image `(1, D, F, T)`, one axis (`-2`: frequency, `-1`:
# time) brought to `size` cells: its middle cells where `size` is no larger, else a bilinear
# stretch.

# %%
def fit_one_axis(image: torch.Tensor, size: int, axis: int) -> torch.Tensor:
    """``(1, D, F, T)`` -> the same with ``size`` cells along ``axis``."""
    raise NotImplementedError  # your code here


check_fit_axis(fit_one_axis)

# %% [markdown]
# **3. The whole position embedding.** `(1, 2 + Fo·To, D)` with the cells frequency-major
# (cell `(r, c)` is row `2 + r·To + c`) to a new grid: time first, then frequency, the rows of
# [CLS] and [DIST] kept in front.

# %%
def fit_grid(pos_embed: torch.Tensor, old_grid: tuple[int, int],
             new_grid: tuple[int, int]) -> torch.Tensor:
    """``(1, 2 + Fo*To, D) -> (1, 2 + Fn*Tn, D)``; grids are ``(freq, time)``."""
    raise NotImplementedError  # your code here


check_fit_grid(fit_grid)

# %% [markdown]
# ## Summary
# An ImageNet DeiT becomes an AST in three moves: the patch filters' red, green and blue slices
# are summed (a grey image keeps its tokens, colour-opponent filters fade), the square grid of
# positions is fitted to the spectrogram's, cut from the middle where an axis shrinks and
# stretched where it grows, time first, and [CLS], [DIST], the blocks and the final norm are
# copied while a new head starts from scratch. The same loaders read the authors' AudioSet
# checkpoint (its 12 × 101 grid cut to ESC-50's 12 × 50) and Hugging Face folders, with the
# input pipeline each was trained on. Stand-ins made on the spot let every step run offline;
# real files make the fine-tuning mean something.
#
# **The one idea to keep:** a pretrained model is a starting point that must be *fitted* to the
# new input, every shape and every convention (channels, grid, tokens, normalisation), so that
# what it learned reaches the new task intact.
#
# ## Questions to think about
# Each has a short discussion to unfold; think first.
#
# 1. Why sum the three colour slices rather than average them? The first block begins with a
#    LayerNorm, which undoes any overall scale: does the choice matter at all?
#
# <details><summary>Discussion</summary>
#
# The sum gives a grey image exactly DeiT's tokens; the average gives a third of them. The
# LayerNorm at the start of each block would undo the scale of the whole token, but the token is
# the patch's projection *plus its position*, and the residual stream carries that sum from
# block to block. Averaging shrinks the patch part against the position part threefold, so the
# blocks see tokens that say three times less about the content than in training. Fine-tuning
# can repair it; the sum needs no repair. (The authors' code sums.)
# </details>
#
# 2. Along frequency the grid is cut (24 → 12 rows), along time stretched (24 → 50). Why not
#    squeeze 24 rows into 12, and what does the stretch cost along time?
#
# <details><summary>Discussion</summary>
#
# Squeezing would give neighbouring patches the positions of DeiT cells two apart, and blur
# them by interpolation: every distance the blocks learned would be halved. Cutting keeps the
# spacing and the vectors, at the price of the outer rows, which never reach the spectrogram.
# Stretching time makes neighbours half a DeiT cell apart: they look more alike than any two
# positions DeiT saw side by side, so the model can tell time positions apart less well at
# first. Notebook 02 showed that a model trained from scratch found time positions to matter
# little (a bark is a bark at 1 s or 4 s), so that loss is cheap; frequency, where position
# means pitch, keeps DeiT's resolution.
# </details>
#
# 3. An image looks the same turned on its side; a spectrogram does not (frequency is absolute,
#    time shifts freely). What in DeiT's weights might not suit sound, and why does ImageNet
#    help anyway?
#
# <details><summary>Discussion</summary>
#
# DeiT's positions treat both axes alike, and its filters come in every orientation; on sound,
# an upward sweep and a time-reversed one are different events, and the same shape an octave
# higher is another sound. Fine-tuning must learn that. What carries over is more general:
# filters that find edges, stripes and blobs (onsets, harmonics, noise bands), blocks whose
# attention already groups parts that belong together, and a training that found a good region
# of weights for 86 million parameters, which 1,600 clips alone cannot. The paper's 88.7 %
# beside this project's from-scratch rows at the top (with a different, CPU-sized recipe) says
# how much.
# </details>
#
# 4. The fine-tuning above started from the stand-in. Why should you expect little difference
#    between the two curves, and what would you look for with a real DeiT?
#
# <details><summary>Discussion</summary>
#
# The stand-in's blocks are random, exactly as a fresh model's: nothing was learned, so the two
# models start equally ignorant; smooth filters and positions are a mild prior at most, and
# with a handful of epochs on a small split the difference is within run-to-run noise. With a
# real DeiT look for a lower validation loss from the first epochs, a higher accuracy at the end
# and a smaller gap between training and validation, and repeat with another seed before
# believing a small difference. On this synthetic set both may reach near 100 %; the difference
# shows on real recordings, where data are scarce.
# </details>
#
# 5. The authors' checkpoint reads Kaldi FBANK normalised by AudioSet's mean and twice its
#    standard deviation; the ESC-50 recipe by ESC-50's. What happens if a model is fed features
#    computed another way (say, this project's librosa-like FBANK, normalised per clip)?
#
# <details><summary>Discussion</summary>
#
# Every weight of the first layer was fitted to one distribution of inputs: a shift of the mean
# or a change of scale moves every token, and the LayerNorms only partly undo it (the position
# vectors are added at the old scale). The model still runs and says something, which is what
# makes the mistake hard to see: the scores are wrong, not absent. Loaders therefore carry the
# input pipeline with the weights (`CheckpointInputs`, `HFCheckpoint.inputs`), and fine-tuning
# keeps the checkpoint's pipeline and recomputes only the mean and std for the new data.
# </details>
#
# ## Further reading
# * Gong, Chung, Glass, *AST: Audio Spectrogram Transformer* (arXiv:2104.01778), §2.2:
#   ImageNet pretraining, the summed filters, the cut and interpolated positions, [CLS] and
#   [DIST]; their code, `src/models/ast_models.py` in github.com/YuanGongND/ast.
# * Touvron et al., *Training data-efficient image transformers & distillation through
#   attention* (DeiT, arXiv:2012.12877): the distillation token and the released weights.
# * Dosovitskiy et al., *An Image is Worth 16x16 Words* (ViT, arXiv:2010.11929), §3.2:
#   fine-tuning at another resolution by 2-D interpolation of the position embeddings.
# * He et al., *Masked Autoencoders Are Scalable Vision Learners* (arXiv:2111.06377): fixed 2-D
#   sine-cosine position embeddings, of the kind the stand-in uses.
