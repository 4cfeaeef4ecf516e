"""Pictures of the transformer's mechanics (notebooks 02 and 03): flattened patches, splitting
the width into heads, and what a token costs in time and memory.

Every image here is on a stated, shared colour scale with a colour bar.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .config import ASTConfig
from .models.attention import split_heads
from .models.cost import StrideCost, block_cost, score_bytes
from .plotting import _numpy


def plot_patches(patches, titles: Sequence[str], limits: tuple[float, float],
                 unit: str) -> Figure:
    """Patches ``(n, patch_size, patch_size)`` (mel bins up, frames across) side by side, on
    one colour scale ``limits`` (e.g. the whole spectrogram's range) with a colour bar in ``unit``."""
    patches = _numpy(patches)
    fig, axes = plt.subplots(1, len(patches), figsize=(1.7 * len(patches) + 1, 2.2), squeeze=False)
    for ax, patch, title in zip(axes[0], patches, titles):
        image = ax.imshow(patch, origin="lower", vmin=limits[0], vmax=limits[1],
                          interpolation="nearest")
        ax.set(title=title, xticks=[], yticks=[])
    fig.colorbar(image, ax=axes[0].tolist(), label=unit, pad=0.01, fraction=0.03)
    return fig


def plot_head_split(x, num_heads: int) -> Figure:
    """One sequence of tokens ``x (tokens, dim)`` and its split into heads, ``(heads, tokens,
    dim / heads)``, as ``models.attention.split_heads`` makes it: head ``h`` gets the ``h``-th
    contiguous slice of the channels, every token keeps its row.

    Left: ``x`` with each head's slice outlined in its colour. Right: one image per head. One
    symmetric colour scale for all, with a colour bar.
    """
    x = torch.as_tensor(x, dtype=torch.float32)
    tokens, dim = x.shape
    heads = split_heads(x[None], num_heads)[0].numpy()  # (heads, tokens, hs)
    x = x.numpy()
    hs = heads.shape[-1]
    extent = float(np.abs(x).max()) or 1.0
    scale = dict(cmap="RdBu_r", vmin=-extent, vmax=extent, interpolation="nearest", aspect="auto")
    fig = plt.figure(figsize=(11, 3.2))
    grid = fig.add_gridspec(1, 2 + num_heads, width_ratios=[num_heads, 0.6] + [1] * num_heads,
                            wspace=0.25)
    ax_x = fig.add_subplot(grid[0, 0])
    image = ax_x.imshow(x, **scale)
    for h in range(num_heads):
        ax_x.add_patch(Rectangle((h * hs - 0.5, -0.5), hs, tokens, fill=False, lw=2,
                                 edgecolor=f"C{h}"))
    ax_x.set(title=f"x: (tokens, dim) = {x.shape}", xlabel="channel", ylabel="token")
    ax_arrow = fig.add_subplot(grid[0, 1])
    ax_arrow.annotate("", xy=(1, 0.5), xytext=(0, 0.5), xycoords="axes fraction",
                      arrowprops=dict(arrowstyle="->", lw=1.5))
    ax_arrow.set_axis_off()
    for h in range(num_heads):
        ax = fig.add_subplot(grid[0, 2 + h], sharey=ax_x)
        ax.imshow(heads[h], **scale)
        for spine in ax.spines.values():
            spine.set(edgecolor=f"C{h}", lw=2)
        ax.set(title=f"head {h}\n{h * hs}-{(h + 1) * hs - 1}", xlabel="channel")
        ax.tick_params(labelleft=False)
    fig.suptitle(f"Splitting into heads: (tokens, dim) {x.shape} -> (heads, tokens, dim / heads) "
                 f"{heads.shape}", y=1.06)
    fig.colorbar(image, ax=fig.axes, label="value (one scale)", pad=0.01, fraction=0.02)
    return fig


def plot_token_cost(costs: Sequence[StrideCost], cfg: ASTConfig, batch_size: int) -> Figure:
    """Against the token count, log-log: the measured step time with the multiply-accumulate
    count scaled to the first measurement (and slopes 1 and 2 dotted), and the estimated memory
    of the attention weights a step keeps (``cost.score_bytes``, float32, MiB).

    ``costs`` from ``cost.stride_costs(cfg, ..., batch_size=batch_size)``.
    """
    tokens = np.array([row.tokens for row in costs])
    ms = 1000 * np.array([row.seconds for row in costs])
    macs = np.array([cfg.depth * block_cost(t, cfg.embed_dim, cfg.mlp_ratio).total for t in tokens])
    mib = np.array([score_bytes(t, cfg.num_heads, cfg.depth, batch_size) for t in tokens]) / 2**20
    fig, (ax_time, ax_memory) = plt.subplots(1, 2, figsize=(10, 3.4))
    ax_time.loglog(tokens, ms, "o-", label="measured step")
    ax_time.loglog(tokens, ms[0] * macs / macs[0], "s--", label="multiply-accumulates (scaled)")
    ax_memory.loglog(tokens, mib, "o-", color="C2", label="attention weights kept")
    for ax, start in ((ax_time, ms[0]), (ax_memory, mib[0])):
        for slope in (1, 2):
            ax.loglog(tokens, start * (tokens / tokens[0]) ** slope, ":", color="grey")
        ax.set_xlabel("tokens")
        ax.legend(fontsize=8)
    ax_time.set(ylabel="ms per training step", title="Time (dotted: slopes 1 and 2)")
    ax_memory.set(ylabel="MiB (estimated)",
                  title=f"Attention-weight memory, batch {batch_size}: grows as tokens²")
    fig.tight_layout()
    return fig
