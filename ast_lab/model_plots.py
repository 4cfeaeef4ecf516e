"""Pictures of a trained AST (notebooks 02 and 03): where its summary tokens look, which patches
its head reads and where those look (raw and rolled out), the occlusion test, its
patch-embedding filters and its positional-embedding similarity.

Maps on the patch grid are drawn over the spectrogram the model read: patch ``(i, j)`` covers
mel bins ``i * fstride`` to ``i * fstride + patch_size - 1`` and frames ``j * tstride`` onwards,
and its value fills the ``fstride x tstride`` cell centred on the patch's centre, so each cell
sits where its patch is. The cell borders are drawn as the patch grid, and the mel bins above
the top row of patches, which the model never sees, are hatched in red.
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure

from .models.rollout import ReadoutMaps
from .occlusion import OcclusionCurve
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
    mark_unseen_bins(ax, spec.shape[0], values.shape[0], patch_size, fstride)
    return image


def first_unseen_bin(f_patches: int, patch_size: int, fstride: int) -> int:
    """The lowest mel bin that no patch of a grid with ``f_patches`` rows covers: every bin from
    here up is dropped (the top patch row ends at bin ``(f_patches - 1) * fstride + patch_size - 1``)."""
    return (f_patches - 1) * fstride + patch_size


def mark_unseen_bins(ax: Axes, n_mels: int, f_patches: int, patch_size: int, fstride: int) -> None:
    """Hatch the mel bins above the top patch row, which the model never sees (if any)."""
    unseen = first_unseen_bin(f_patches, patch_size, fstride)
    if unseen >= n_mels:
        return
    ax.axhspan(unseen - 0.5, n_mels - 0.5, facecolor="none", edgecolor="red", hatch="///", lw=0)
    ax.axhline(unseen - 0.5, color="red", lw=0.8)
    ax.text(0.995, (unseen - 0.5 + n_mels - 0.5) / 2, f"bins {unseen}-{n_mels - 1}: in no patch",
            transform=ax.get_yaxis_transform(), ha="right", va="center", fontsize=7,
            color="red", backgroundcolor="white")


def plot_token_attention(
    spec, attention, *, patch_size: int, fstride: int, tstride: int, title: str = "",
) -> Figure:
    """One map per head (rows) and block (columns) of attention to the patches.

    ``spec (n_mels, frames)``: the model's input; ``attention (depth, heads, f_patches,
    t_patches)`` from ``models.introspection.token_attention`` (one token's attention) or
    ``models.rollout.readout_maps(...).heads`` (the attention of the tokens the head reads). Values are shown as multiples
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
    label: str = "", ax: Optional[Axes] = None, vmax: Optional[float] = None,
) -> Axes:
    """One value per patch ``(f_patches, t_patches)`` over the spectrogram ``(n_mels, frames)``,
    on a square-root colour scale from 0 to ``vmax`` (default: the largest value)."""
    spec, values = np.asarray(spec), np.asarray(values)
    ax = ax or plt.subplots(figsize=(11, 2.4))[1]
    norm = PowerNorm(0.5, vmin=0.0, vmax=vmax or float(values.max()) or 1.0)
    image = overlay_patch_map(ax, spec, values, patch_size, fstride, tstride, norm)
    ax.figure.colorbar(image, ax=ax, label=label, pad=0.01)
    ax.set(xlabel="frame (10 ms)", ylabel="mel bin", title=title)
    return ax


def plot_readout_maps(
    spec, maps: ReadoutMaps, *, patch_size: int, fstride: int, tstride: int, title: str = "",
) -> Figure:
    """The head's input, each block's raw attention from it, and the rollout, one row each.

    ``spec (n_mels, frames)``: the model's input; ``maps`` from ``models.rollout.readout_maps``.
    Attention is shown in multiples of uniform (1 = spread evenly over all patches), the raw
    blocks on one shared scale, the rollout on its own; every scale is square-root stretched.
    """
    n_patches = maps.reads.numel()
    blocks = np.asarray(maps.blocks) * n_patches  # (depth, Fp, Tp), x uniform
    rows = [(maps.reads, "share of channels", None, "what the head reads")]
    rows += [(blocks[b], "x uniform", float(blocks.max()), f"block {b}: raw attention from it")
             for b in range(len(blocks))]
    rows.append((np.asarray(maps.rollout) * n_patches, "x uniform", None,
                 "rollout through all blocks"))
    fig, axes = plt.subplots(len(rows), 1, figsize=(11, 1.9 * len(rows) + 0.5), sharex=True)
    for ax, (values, label, vmax, name) in zip(axes, rows):
        plot_patch_map(spec, values, patch_size=patch_size, fstride=fstride, tstride=tstride,
                       ax=ax, label=label, vmax=vmax, title=name)
    for ax in axes[:-1]:
        ax.set_xlabel("")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_occlusion(curves: Mapping[str, OcclusionCurve], class_name: str,
                   ax: Optional[Axes] = None) -> Axes:
    """P(class) against the number of patches hidden: for each ranking in ``curves``, its top
    ``k`` hidden (solid) and ``k`` random others hidden (dashed: the median of the draws, the
    band their range)."""
    ax = ax or plt.subplots(figsize=(7, 3.6))[1]
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for (name, curve), colour in zip(curves.items(), colours):
        ks = [0, *curve.ks]
        ax.plot(ks, [curve.clean, *curve.top], "o-", color=colour, label=f"top k of {name} hidden")
        low, mid, high = (np.r_[curve.clean, stat] for stat in (
            curve.others.min(axis=1), np.median(curve.others, axis=1), curve.others.max(axis=1)))
        ax.plot(ks, mid, "s--", color=colour, alpha=0.7, label=f"k others hidden ({name} control)")
        ax.fill_between(ks, low, high, color=colour, alpha=0.15)
    ax.set(xlabel="patches hidden, k", ylabel=f"P({class_name})", ylim=(0, 1.02),
           title=f"Occlusion test: P({class_name}) as patches go silent")
    ax.legend(fontsize=8)
    return ax


def plot_patch_filters(filters, ncols: int = 12, title: str = "") -> Figure:
    """Kernels ``(n, patch_size, patch_size)`` (mel bins x frames) as small images on one
    symmetric colour scale for the figure (red positive, blue negative, white 0), with its
    colour bar, so a paler kernel is a weaker one."""
    filters = np.asarray(filters)
    nrows = -(-len(filters) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(0.9 * ncols + 0.8, 0.9 * nrows + 0.5),
                             squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    extent = float(np.abs(filters).max()) or 1.0
    for ax, kernel in zip(axes.flat, filters):
        image = ax.imshow(kernel, origin="lower", cmap="RdBu_r", vmin=-extent, vmax=extent,
                          interpolation="nearest")
    fig.suptitle(title)
    fig.tight_layout()
    fig.colorbar(image, ax=axes.ravel().tolist(), label="kernel weight (one scale)", pad=0.01,
                 fraction=0.02)
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
