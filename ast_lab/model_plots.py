"""Pictures of a trained AST (notebooks 02 and 03): where its summary tokens look, which patches
its max-pooled head reads, its patch-embedding filters and its positional-embedding similarity.

Maps on the patch grid are drawn over the spectrogram the model read: patch ``(i, j)`` covers
mel bins ``i * fstride`` to ``i * fstride + patch_size - 1`` and frames ``j * tstride`` onwards,
and its value fills the ``fstride x tstride`` cell centred on the patch's centre, so each cell
sits where its patch is. The cell borders are drawn as the patch grid.
"""

from __future__ import annotations

from typing import Optional, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure

from .plotting import plot_token_map


def patch_cell_extent(grid: tuple[int, int], patch_size: int, fstride: int,
                      tstride: int) -> tuple[float, float, float, float]:
    """``(left, right, bottom, top)`` in frames and mel bins of the cells of a patch grid
    ``(f_patches, t_patches)``: each cell ``tstride`` frames wide and ``fstride`` bins tall,
    centred on its patch's centre."""
    f_patches, t_patches = grid
    centre = (patch_size - 1) / 2
    left, bottom = centre - tstride / 2, centre - fstride / 2
    return left, left + t_patches * tstride, bottom, bottom + f_patches * fstride


def overlay_patch_map(
    ax: Axes, spec: np.ndarray, values: np.ndarray, patch_size: int, fstride: int, tstride: int,
    norm: PowerNorm, cmap: str = "viridis", alpha: float = 0.75,
):
    """Draw ``spec (n_mels, frames)`` in grey and ``values (f_patches, t_patches)`` over it, one
    cell per patch, with the cell borders; returns the overlay's image (for a colour bar)."""
    ax.imshow(spec, origin="lower", aspect="auto", cmap="gray", interpolation="nearest",
              extent=(-0.5, spec.shape[1] - 0.5, -0.5, spec.shape[0] - 0.5))
    left, right, bottom, top = patch_cell_extent(values.shape, patch_size, fstride, tstride)
    image = ax.imshow(values, origin="lower", aspect="auto", cmap=cmap, norm=norm, alpha=alpha,
                      interpolation="nearest", extent=(left, right, bottom, top))
    ax.vlines(np.arange(left, right + 1e-9, tstride), bottom, top, colors="white", lw=0.2)
    ax.hlines(np.arange(bottom, top + 1e-9, fstride), left, right, colors="white", lw=0.2)
    ax.set(xlim=(-0.5, spec.shape[1] - 0.5), ylim=(-0.5, spec.shape[0] - 0.5))
    return image


def plot_token_attention(
    spec, attention, *, patch_size: int, fstride: int, tstride: int, title: str = "",
) -> Figure:
    """One map per head (rows) and block (columns) of a token's attention to the patches.

    ``spec (n_mels, frames)``: the model's input; ``attention (depth, heads, f_patches,
    t_patches)`` from ``models.introspection.token_attention``. Values are shown as multiples
    of uniform attention (1 = the weight spread evenly over all patches) on one colour scale
    for the whole figure, square-root stretched so that weak attention stays visible.
    """
    spec, attention = np.asarray(spec), np.asarray(attention)
    depth, heads = attention.shape[:2]
    times_uniform = attention * attention[0, 0].size  # (depth, heads, Fp, Tp)
    norm = PowerNorm(0.5, vmin=0.0, vmax=float(times_uniform.max()))
    fig, axes = plt.subplots(heads, depth, figsize=(4.6 * depth, 1.5 * heads + 0.6),
                             sharex=True, sharey=True, squeeze=False)
    for block in range(depth):
        for head in range(heads):
            ax = axes[head, block]
            image = overlay_patch_map(ax, spec, times_uniform[block, head], patch_size, fstride,
                                      tstride, norm)
            ax.set_title(f"block {block}, head {head}", fontsize=9)
    for ax in axes[-1]:
        ax.set_xlabel("frame (10 ms)")
    for ax in axes[:, 0]:
        ax.set_ylabel("mel bin")
    fig.suptitle(title)
    fig.tight_layout()
    fig.colorbar(image, ax=axes, label="x uniform", pad=0.01, fraction=0.02)
    return fig


def plot_patch_map(
    spec, values, *, patch_size: int, fstride: int, tstride: int, title: str = "",
    label: str = "", ax: Optional[Axes] = None,
) -> Axes:
    """One value per patch ``(f_patches, t_patches)`` over the spectrogram ``(n_mels, frames)``,
    on a square-root colour scale from 0 to the largest value."""
    spec, values = np.asarray(spec), np.asarray(values)
    ax = ax or plt.subplots(figsize=(11, 2.4))[1]
    norm = PowerNorm(0.5, vmin=0.0, vmax=float(values.max()) or 1.0)
    image = overlay_patch_map(ax, spec, values, patch_size, fstride, tstride, norm)
    ax.figure.colorbar(image, ax=ax, label=label, pad=0.01)
    ax.set(xlabel="frame (10 ms)", ylabel="mel bin", title=title)
    return ax


def plot_patch_filters(filters, ncols: int = 12, title: str = "") -> Figure:
    """Kernels ``(n, patch_size, patch_size)`` (mel bins x frames) as small images, each on its
    own symmetric colour scale (red positive, blue negative, white 0)."""
    filters = np.asarray(filters)
    nrows = -(-len(filters) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(0.9 * ncols, 0.9 * nrows + 0.5),
                             squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, kernel in zip(axes.flat, filters):
        extent = float(np.abs(kernel).max()) or 1.0
        ax.imshow(kernel, origin="lower", cmap="RdBu_r", vmin=-extent, vmax=extent,
                  interpolation="nearest")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_position_similarity(similarity, positions: Sequence[tuple[int, int]],
                             title: str = "") -> Figure:
    """Cosine similarity of chosen patches' positional embeddings with every patch's.

    ``similarity (f_patches, t_patches, f_patches, t_patches)`` from
    ``AST.pos_embed_similarity``; one row per ``(frequency patch, time patch)`` in
    ``positions``, marked with a cross, on the fixed scale -1 to 1.
    """
    similarity = np.asarray(similarity)
    grid = similarity.shape[:2]
    fig, axes = plt.subplots(len(positions), 1, figsize=(11, 1.6 * len(positions) + 0.8),
                             squeeze=False)
    for ax, (row, col) in zip(axes[:, 0], positions):
        plot_token_map(similarity[row, col], grid, ax=ax, cmap="coolwarm", limits=(-1, 1),
                       label="cosine", title=f"similarity to patch ({row}, {col})")
        ax.plot(col, row, "kx", ms=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
