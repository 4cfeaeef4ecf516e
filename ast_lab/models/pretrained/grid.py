"""Fitting a pretrained position grid to a new patch grid, as the AST paper (Section 2.2) does.

A vision transformer learned one position vector per cell of its patch grid: DeiT-384 a 24 x 24
grid, the authors' AudioSet AST a 12 x 101 one (128 mel bins x 1,024 frames at stride 10). A
spectrogram of another size has another grid, e.g. 12 x 50 for ESC-50's 512 frames. The
authors' ``ast_models.py`` fits each axis on its own, **time first, then frequency**:

- where the new axis is no longer than the old one, the middle cells are cut out: the new axis
  starts at cell ``old // 2 - new // 2``;
- where it is longer, the grid is stretched bilinearly to the new length.

Cutting keeps the learned vectors as they are, with no blur. ESC-50's 12 x 50 grid from DeiT's
24 x 24 one: the 24 columns are stretched to 50, then rows 6 to 17 (the middle 12) are kept.
The two prefix tokens ([CLS], [DIST]) have no cell and keep their own rows.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..ast import NUM_PREFIX_TOKENS


def middle_start(old: int, new: int) -> int:
    """First cell of the ``new`` middle cells of an axis of ``old`` cells (``new <= old``)."""
    return old // 2 - new // 2


def fit_axis(image: Tensor, size: int, axis: int) -> Tensor:
    """One axis of a grid image ``(1, D, F, T)`` (``axis`` -2: frequency, -1: time) to ``size``
    cells: its middle cells where ``size`` is no larger, else a bilinear stretch (the other axis
    is left exactly as it is)."""
    old = image.shape[axis]
    if size <= old:
        return image.narrow(axis, middle_start(old, size), size)
    target = list(image.shape[-2:])
    target[axis] = size
    return F.interpolate(image, size=tuple(target), mode="bilinear", align_corners=False)


def grid_to_image(pos_embed: Tensor, grid: tuple[int, int]) -> tuple[Tensor, Tensor]:
    """``(1, prefix + F*T, D)`` -> prefix rows ``(1, prefix, D)`` and the grid as an image
    ``(1, D, F, T)``; ValueError when the rows do not make that grid."""
    rows, dim = pos_embed.shape[1], pos_embed.shape[2]
    if rows != NUM_PREFIX_TOKENS + grid[0] * grid[1]:
        raise ValueError(
            f"a position embedding of {rows} rows is not [CLS] + [DIST] + a {grid[0]} x {grid[1]} "
            f"grid ({NUM_PREFIX_TOKENS + grid[0] * grid[1]} rows)"
        )
    prefix, cells = pos_embed[:, :NUM_PREFIX_TOKENS], pos_embed[:, NUM_PREFIX_TOKENS:]
    return prefix, cells.reshape(1, *grid, dim).permute(0, 3, 1, 2)  # (1, D, F, T)


def image_to_grid(prefix: Tensor, image: Tensor) -> Tensor:
    """Inverse of ``grid_to_image``: ``(1, prefix, D)`` and ``(1, D, F, T)`` ->
    ``(1, prefix + F*T, D)``, cells in the patches' frequency-major order."""
    cells = image.flatten(2).transpose(1, 2)  # (1, F*T, D)
    return torch.cat([prefix, cells], dim=1)


def fit_position_grid(
    pos_embed: Tensor, old_grid: tuple[int, int], new_grid: tuple[int, int]
) -> Tensor:
    """The paper's fit: ``(1, 2 + Fo*To, D) -> (1, 2 + Fn*Tn, D)``, grids ``(freq, time)``.

    Time first, then frequency, each axis cut from its middle or stretched (``fit_axis``).
    """
    prefix, image = grid_to_image(pos_embed, old_grid)  # (1, D, Fo, To)
    image = fit_axis(image, new_grid[1], axis=-1)  # (1, D, Fo, Tn)
    image = fit_axis(image, new_grid[0], axis=-2)  # (1, D, Fn, Tn)
    return image_to_grid(prefix, image.contiguous())
