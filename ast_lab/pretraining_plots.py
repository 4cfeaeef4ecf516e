"""Pictures of notebook 05 (From ImageNet to audio): what turning a DeiT into an AST changes.

- ``plot_standing``: ESC-50 accuracies, published and ours, pretrained or not;
- ``plot_rgb_filters``: a patch filter's red, green and blue slices and their sum, the one
  filter a spectrogram gets;
- ``plot_position_channels`` and ``plot_position_similarity``: a position grid's channels, and
  one cell's similarity to every other, at each stage of fitting it to a spectrogram's grid;
- ``plot_fine_tuning``: the loss curves of models that start from different weights.

Position grids are passed as images ``(D, F, T)``: channels first, frequency rows, time columns
(``grid.grid_to_image`` gives them, with a leading batch axis of 1).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import Tensor

from .anchors import ESC50_ANCHORS, Anchor
from .metrics import Results
from .plotting import _numpy

STAGE_WIDTH = 0.05  # inches per grid column: the stages keep their true proportions


def plot_standing(runs: Mapping[str, Results],
                  anchors: Sequence[Anchor] = ESC50_ANCHORS) -> Figure:
    """Horizontal bars of ESC-50 5-fold accuracy, best at the top: published ``anchors``
    (pretrained on other data in orange, from ESC-50 alone in grey) and our ``runs`` (blue,
    with their standard deviation over folds)."""
    rows = [(a.accuracy, 0.0, a.name, "tab:orange" if a.pretrained else "tab:grey")
            for a in anchors]
    for name, results in runs.items():
        mean, std = results.summary()["accuracy"]
        rows.append((mean, std, f"ours: {name}", "tab:blue"))
    rows.sort()
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(rows) + 1.0))
    y = np.arange(len(rows))
    ax.barh(y, [100 * r[0] for r in rows], xerr=[100 * r[1] for r in rows],
            color=[r[3] for r in rows])
    ax.set_yticks(y, [r[2] for r in rows], fontsize=8)
    for i, row in enumerate(rows):
        ax.text(100 * row[0] + 1, i, f"{100 * row[0]:.1f}", va="center", fontsize=8)
    ax.set(xlim=(0, 105), xlabel="ESC-50 accuracy, 5-fold mean (%)",
           title="ESC-50: orange pretrained on other data, grey and blue ESC-50 alone")
    return fig


def plot_rgb_filters(weight: Tensor, picks: Sequence[int]) -> Figure:
    """Patch filters ``(D, 3, p, p)``: for each of ``picks``, the filter in colour, its R, G and
    B slices and their sum (what ``deit.sum_rgb_filters`` keeps), the slices and the sum on one
    symmetric scale per row (red positive, blue negative)."""
    weight = _numpy(weight)
    fig, axes = plt.subplots(len(picks), 5, figsize=(8, 1.7 * len(picks) + 0.4), squeeze=False)
    for row, index in zip(axes, picks):
        rgb = weight[index]  # (3, p, p)
        total = rgb.sum(axis=0)
        extent = float(max(np.abs(rgb).max(), np.abs(total).max())) or 1.0
        colour = rgb.transpose(1, 2, 0)
        spread = float(np.abs(colour - colour.mean()).max()) or 1.0
        row[0].imshow(0.5 + 0.5 * (colour - colour.mean()) / spread)
        row[0].set_title(f"filter {index}, in colour", fontsize=9)
        for ax, image, label in zip(row[1:], [*rgb, total], ["R", "G", "B", "R + G + B"]):
            ax.imshow(image, cmap="RdBu_r", vmin=-extent, vmax=extent)
            ax.set_title(label, fontsize=9)
        for ax in row:
            ax.set(xticks=[], yticks=[])
    fig.suptitle("DeiT's colour patch filters, and the one filter a spectrogram gets")
    fig.tight_layout()
    return fig


def _stage_axes(stages: Mapping[str, Tensor], nrows: int) -> tuple[Figure, np.ndarray]:
    """A figure with one column per stage, each as wide as its grid has columns."""
    widths = [image.shape[-1] for image in stages.values()]
    height = max(image.shape[-2] for image in stages.values())
    size = (STAGE_WIDTH * sum(widths) + 1.5, nrows * (STAGE_WIDTH * height + 0.6) + 0.3)
    fig, axes = plt.subplots(nrows, len(stages), squeeze=False, figsize=size,
                             gridspec_kw={"width_ratios": widths})
    return fig, axes


def plot_position_channels(stages: Mapping[str, Tensor], channels: Sequence[int]) -> Figure:
    """Position grids ``(D, F, T)`` at each stage (columns) drawn channel by channel (rows of
    ``channels``), frequency up and time across, one colour scale per channel."""
    images = {name: _numpy(image) for name, image in stages.items()}
    fig, axes = _stage_axes(stages, len(channels))
    for row, channel in zip(axes, channels):
        extent = max(float(np.abs(image[channel]).max()) for image in images.values()) or 1.0
        for ax, (name, image) in zip(row, images.items()):
            ax.imshow(image[channel], origin="lower", cmap="RdBu_r", vmin=-extent, vmax=extent,
                      interpolation="nearest")
            rows, cols = image.shape[-2:]
            ax.set_title(f"{name}: {rows} x {cols}, channel {channel}", fontsize=8)
            ax.set(xticks=[], yticks=[])
    axes[-1, 0].set(xlabel="time patch", ylabel="frequency patch")
    fig.tight_layout()
    return fig


def cell_similarity(image: Tensor, row: int, col: int) -> Tensor:
    """Cosine similarity of cell ``(row, col)``'s vector with every cell's:
    ``(D, F, T) -> (F, T)``."""
    vectors = F.normalize(image.flatten(1).T, dim=1)  # (F*T, D), unit rows
    return (vectors @ vectors[row * image.shape[-1] + col]).reshape(image.shape[-2:])


def plot_position_similarity(stages: Mapping[str, Tensor],
                             cells: Mapping[str, tuple[int, int]]) -> Figure:
    """For each stage's grid ``(D, F, T)``, the similarity of one cell (``cells[stage]``,
    marked with a cross) to every cell, on the fixed scale -1 to 1."""
    fig, axes = _stage_axes(stages, 1)
    for ax, (name, image) in zip(axes[0], stages.items()):
        row, col = cells[name]
        shown = ax.imshow(_numpy(cell_similarity(image, row, col)), origin="lower",
                          cmap="coolwarm", vmin=-1, vmax=1, interpolation="nearest")
        ax.plot(col, row, "kx", ms=6)
        ax.set_title(f"{name}: cell ({row}, {col})", fontsize=8)
        ax.set(xticks=[], yticks=[])
    fig.colorbar(shown, ax=list(axes[0]), label="cosine", pad=0.01)
    return fig


def plot_fine_tuning(histories: Mapping[str, Mapping[str, Sequence[float]]]) -> Figure:
    """Training loss (solid) and validation loss (dashed), in nats, and validation accuracy per
    epoch, one colour per starting point (``histories[name]`` has ``train_loss``, ``val_loss``,
    ``val_acc``)."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3))
    for colour, (name, history) in zip(plt.rcParams["axes.prop_cycle"].by_key()["color"],
                                       histories.items()):
        epochs = np.arange(1, len(history["train_loss"]) + 1)
        ax_loss.plot(epochs, history["train_loss"], "-o", color=colour, label=f"{name}, training")
        ax_loss.plot(epochs, history["val_loss"], "--s", color=colour,
                     label=f"{name}, validation")
        ax_acc.plot(epochs, history["val_acc"], "--s", color=colour, label=name)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy (nats)", title="Loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", ylim=(0, 1.02), title="Validation accuracy")
    ax_loss.legend(fontsize=7)
    ax_acc.legend(fontsize=7)
    fig.tight_layout()
    return fig
