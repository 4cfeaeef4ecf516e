"""The occlusion test: does a model need the patches an explanation points at? (notebook 03)

An attention map is a claim: "these patches are where the model looks". It is tested by
hiding them. ``occlusion_curve`` silences the ``k`` patches a map ranks highest and, as the
control, ``k`` other patches drawn at random, for several ``k``, and records the model's
probability of one class each time. If the map is right, hiding its top patches costs the class
much more than hiding as many others.

A patch is hidden by filling its **cell** with ``fill``: the ``fstride x tstride`` block of mel
bins and frames centred on the patch (the cells tile the patch grid, as the overlays of
``model_plots`` draw them). Patches overlap, cells do not, so hiding ``k`` patches changes
exactly ``k`` cells, ``k * fstride * tstride`` values, whichever patches they are: the top
patches and the control hide the same area. The default fill is the spectrogram's own minimum
(silence in its units), so a hidden cell holds no sound rather than a new grey block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch
from torch import Tensor

from .classifier import Classifier
from .features import fbank
from .models import AST

BATCH = 32  # spectrograms per forward pass


def patch_cells(grid: tuple[int, int], patch_size: int, fstride: int, tstride: int) -> Tensor:
    """``(N, 4)`` integer ``(bin_start, bin_stop, frame_start, frame_stop)`` (stops exclusive) of
    each patch's cell, in token order (frequency-major). Patch ``(i, j)`` starts at mel bin
    ``i * fstride`` and frame ``j * tstride``; its cell is the ``fstride`` bins and ``tstride``
    frames centred on it (to half a bin when ``patch_size - stride`` is odd)."""
    f_patches, t_patches = grid
    rows = torch.arange(f_patches).repeat_interleave(t_patches)  # (N,)
    cols = torch.arange(t_patches).repeat(f_patches)  # (N,)
    bin_start = rows * fstride + (patch_size - fstride) // 2
    frame_start = cols * tstride + (patch_size - tstride) // 2
    return torch.stack([bin_start, bin_start + fstride, frame_start, frame_start + tstride], dim=1)


def cell_mask(shape: tuple[int, int], patches: Sequence[int], cells: Tensor) -> Tensor:
    """``(n_mels, frames)`` bool: True on the cells of the patches numbered ``patches``
    (token order), given every patch's cell ``(N, 4)`` from ``patch_cells``."""
    mask = torch.zeros(shape, dtype=torch.bool)
    chosen = torch.as_tensor(patches, dtype=torch.long).reshape(-1)  # (k,)
    for bin_start, bin_stop, frame_start, frame_stop in cells[chosen].tolist():
        mask[bin_start:bin_stop, frame_start:frame_stop] = True
    return mask


def occlude(spec: Tensor, patches: Sequence[int], cells: Tensor, fill: float) -> Tensor:
    """A copy of ``spec (n_mels, frames)`` with the cells of ``patches`` set to ``fill``."""
    return spec.masked_fill(cell_mask(tuple(spec.shape), patches, cells), fill)


def ranked_patches(relevance: Tensor) -> Tensor:
    """Patch numbers (token order) from the most to the least relevant: ``relevance
    (f_patches, t_patches)`` -> ``(N,)``; ties keep token order."""
    return torch.argsort(relevance.flatten(), descending=True, stable=True)


def other_patches(ranking: Tensor, k: int, generator: torch.Generator) -> Tensor:
    """``k`` patches drawn at random, without replacement, from those outside the top ``k``
    of ``ranking`` ``(N,)``: the control for hiding the top ``k``."""
    rest = ranking[k:]
    if k > len(rest):
        raise ValueError(f"cannot draw {k} other patches: only {len(rest)} lie outside the top {k}")
    return rest[torch.randperm(len(rest), generator=generator)[:k]]


def window_around(spec: Tensor, frame: int, width: int) -> tuple[Tensor, int]:
    """The ``width`` frames of ``spec (n_mels, frames)`` centred on ``frame``, moved inside the
    spectrogram where they would cross its ends: ``(window (n_mels, width), first frame)``."""
    total = spec.shape[-1]
    if not 1 <= width <= total:
        raise ValueError(f"a window of {width} frames does not fit {total} frames")
    start = min(max(frame - width // 2, 0), total - width)
    return spec[..., start : start + width], start


def input_around_loudest(classifier: Classifier, wave: np.ndarray) -> tuple[Tensor, int, int]:
    """What the classifier's (first) AST reads of ``wave`` (samples at ``classifier.fbank``'s
    rate), cut to the model's input width around the loudest frame of its first clip-length
    window: ``(input (n_mels, model.cfg.n_frames), its first frame, the loudest frame)``. A
    model trained on crops narrower than the clip reads one crop; otherwise the whole clip."""
    specs = fbank(classifier.windows(wave)[:1], classifier.fbank)  # (1, n_mels, frames), dB
    loudest = int(specs[0].amax(dim=0).argmax())
    width = classifier.models[0].cfg.n_frames
    window, start = window_around(classifier.normalise(specs)[0], loudest, width)
    return window, start, loudest


@dataclass(frozen=True)
class OcclusionCurve:
    """The class probability with ``k`` patches hidden, for each ``k`` in ``ks``."""

    ks: tuple[int, ...]
    clean: float  # nothing hidden
    top: np.ndarray  # (len(ks),): the top k of the ranking hidden
    others: np.ndarray  # (len(ks), draws): k other patches hidden, one column per random draw
    top_patches: Tensor  # (max(ks),): the ranking's first patches, the ones hidden first

    def table(self) -> str:
        """One line per ``k``: the probability with the top patches and with others hidden."""
        lines = [f"{'k':>4}  {'top k hidden':>12}  {'k others hidden (median, range)':>32}",
                 f"{0:>4}  {self.clean:12.3f}  {self.clean:12.3f}"]
        for k, top, others in zip(self.ks, self.top, self.others):
            lines.append(f"{k:>4}  {top:12.3f}  {np.median(others):12.3f} "
                         f"({others.min():.3f} to {others.max():.3f})")
        return "\n".join(lines)


@torch.no_grad()
def class_probability(model: AST, specs: Tensor, target: int) -> np.ndarray:
    """``(B,)`` softmax probability of class ``target`` for ``specs (B, n_mels, frames)``."""
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model(chunk).float().softmax(dim=1)[:, target]
                          for chunk in specs.split(BATCH)]).numpy()
    finally:
        model.train(was_training)


def occlusion_curve(
    model: AST, spec: Tensor, relevance: Tensor, target: int, ks: Sequence[int], *,
    draws: int = 20, seed: int = 0, fill: Optional[float] = None,
) -> OcclusionCurve:
    """Hide the top ``k`` patches of ``relevance (f_patches, t_patches)`` in ``spec (n_mels,
    frames)`` (one model input, normalised), and ``draws`` times ``k`` other random patches,
    for every ``k`` in ``ks``; record P(``target``). ``fill``: the value a hidden cell holds
    (None: ``spec``'s minimum)."""
    cfg = model.cfg
    grid = model.patch_embed.grid_size
    if tuple(relevance.shape) != tuple(grid):
        raise ValueError(f"relevance has shape {tuple(relevance.shape)}; the model's patch grid "
                         f"is {grid}")
    cells = patch_cells(grid, cfg.patch_size, cfg.fstride, cfg.tstride)
    fill = float(spec.min()) if fill is None else fill
    ranking = ranked_patches(relevance)
    generator = torch.Generator().manual_seed(seed)
    hidden = [ranking[:k] for k in ks]
    hidden += [other_patches(ranking, k, generator) for k in ks for _ in range(draws)]
    specs = torch.stack([spec] + [occlude(spec, patches, cells, fill)
                                  for patches in hidden])  # (1 + len(ks) * (1 + draws), M, F)
    p = class_probability(model, specs, target)
    n = len(ks)
    return OcclusionCurve(ks=tuple(ks), clean=float(p[0]), top=p[1 : 1 + n],
                          others=p[1 + n :].reshape(n, draws), top_patches=ranking[: max(ks)])
