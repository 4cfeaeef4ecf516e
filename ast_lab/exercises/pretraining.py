"""Graders for notebook 05 (``05_from_imagenet``): DeiT's colour patch filters summed into one
channel, one axis of a position grid fitted (cut from its middle or stretched), and the whole
grid fitted with [CLS] and [DIST] kept.

The references are ``ast_lab.models.pretrained.deit.sum_rgb_filters`` and
``ast_lab.models.pretrained.grid.fit_axis`` and ``fit_position_grid`` (what ``from_deit`` runs).
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from ast_lab.exercises.grading import Case, Feedback, Mistake, close, grade
from ast_lab.models.ast import resize_pos_embed
from ast_lab.models.pretrained.deit import sum_rgb_filters
from ast_lab.models.pretrained.grid import fit_axis, fit_position_grid, grid_to_image


def _random(*shape: int, seed: int) -> Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------------------- RGB filters

# (weight (D, 3, p, p),)
RGB_CASES = [
    Case("4 filters of 16 x 16 in R, G, B", (_random(4, 3, 16, 16, seed=0),)),
    Case("DeiT-tiny's 192 filters", (_random(192, 3, 16, 16, seed=1),)),
    Case("a single 4 x 4 filter", (_random(1, 3, 4, 4, seed=2),)),
]

RGB_MISTAKES = [
    Mistake("you averaged the colours: a grey image (R = G = B = x) would then give tokens a "
            "third of DeiT's, and every layer after the patch embedding was trained on DeiT's. "
            "Sum them: a spectrogram is that grey image.",
            lambda case, expected, got: close(expected / 3, got)),
    Mistake("keep the channel axis: Conv2d wants filters (D, 1, p, p), one input channel "
            "(sum(dim=1, keepdim=True)).",
            lambda case, expected, got: close(expected[:, 0], got)),
    Mistake("you summed over the filters (axis 0): sum over the colours, axis 1.",
            lambda case, expected, got: close(case.args[0].sum(0, keepdim=True), got)),
    Mistake("you kept one colour: every colour's slice sees the same grey value, so all three "
            "count.", lambda case, expected, got: any(
                close(case.args[0][:, c:c + 1], got) for c in range(3))),
]


def check_rgb_sum(sum_rgb: Callable[[Tensor], Tensor]) -> Feedback:
    """Grade ``sum_rgb(weight (D, 3, p, p)) -> (D, 1, p, p)`` against ``sum_rgb_filters``."""
    return grade("RGB filters into one", sum_rgb, sum_rgb_filters, RGB_CASES, RGB_MISTAKES,
                 fallback_hint="weight.sum(dim=1, keepdim=True): the three colour slices added.")


# ---------------------------------------------------------------------------- one axis

def _axis_case(label: str, grid: tuple[int, int], size: int, axis: int, seed: int) -> Case:
    return Case(label, (_random(1, 8, *grid, seed=seed), size, axis))


# (image (1, D, F, T), size, axis)
AXIS_CASES = [
    _axis_case("DeiT-384's 24 x 24, time cut to 9 columns", (24, 24), 9, -1, 0),
    _axis_case("24 x 24, frequency cut to 12 rows (ESC-50's)", (24, 24), 12, -2, 1),
    _axis_case("24 x 24, time stretched to 50 columns (ESC-50's)", (24, 24), 50, -1, 2),
    _axis_case("DeiT-224's 14 x 14, time cut to 9: an odd cut of an even axis", (14, 14), 9, -1, 3),
    _axis_case("the authors' 12 x 101, time cut to 50", (12, 101), 50, -1, 4),
    _axis_case("12 x 50, frequency stretched to 19 rows (fstride 6)", (12, 50), 19, -2, 5),
    _axis_case("12 x 50 kept at 12 rows: nothing to do", (12, 50), 12, -2, 6),
]


def _cut_at(start: Callable[[int, int], int]) -> Callable:
    """The answer of a cut starting at ``start(old, new)`` (stretches are left as they are)."""
    def matches(case: Case, expected, got) -> bool:
        image, size, axis = case.args
        old = image.shape[axis]
        return size <= old and close(image.narrow(axis, start(old, size), size), got)
    return matches


def _stretched(**options) -> Callable:
    """The answer of ``F.interpolate(..., **options)`` to the new size, whatever the size."""
    def matches(case: Case, expected, got) -> bool:
        image, size, axis = case.args
        target = list(image.shape[-2:])
        target[axis] = size
        return close(F.interpolate(image, size=tuple(target), **options), got)
    return matches


AXIS_MISTAKES = [
    Mistake("you interpolated where the axis gets shorter: there the authors cut out the middle "
            "cells, which keeps the learned vectors as they are (interpolating blurs them).",
            lambda case, expected, got: case.args[1] < case.args[0].shape[case.args[2]]
            and _stretched(mode="bilinear", align_corners=False)(case, expected, got)),
    Mistake("you cut from the start: keep the middle cells, starting at old // 2 − new // 2.",
            _cut_at(lambda old, new: 0)),
    Mistake("the middle starts at old // 2 − new // 2, as the authors' code has it (14 → 9: "
            "cell 3); (old − new) // 2 differs by one when old and new differ in parity.",
            _cut_at(lambda old, new: (old - new) // 2)),
    Mistake("stretch with mode='bilinear' and align_corners=False (F.interpolate's default, and "
            "the authors'); align_corners=True pins the edge cells.",
            _stretched(mode="bilinear", align_corners=True)),
    Mistake("stretch bilinearly, not by nearest neighbour: nearest repeats vectors, so "
            "neighbouring positions become identical.", _stretched(mode="nearest")),
]


def check_fit_axis(fit_axis_: Callable[[Tensor, int, int], Tensor]) -> Feedback:
    """Grade ``fit_axis(image (1, D, F, T), size, axis) -> image`` (``axis`` -2: frequency,
    -1: time) against ``grid.fit_axis``."""
    return grade("fit one axis", fit_axis_, fit_axis, AXIS_CASES, AXIS_MISTAKES,
                 fallback_hint="if size <= old: image.narrow(axis, old // 2 - size // 2, size); "
                               "else F.interpolate to the new size on that axis (the other "
                               "unchanged), mode='bilinear', align_corners=False.")


# ---------------------------------------------------------------------------- the whole grid

def _grid_case(label: str, old: tuple[int, int], new: tuple[int, int], seed: int) -> Case:
    return Case(label, (_random(1, 2 + old[0] * old[1], 8, seed=seed), old, new))


# (pos_embed (1, 2 + Fo*To, D), old_grid, new_grid)
GRID_CASES = [
    _grid_case("DeiT-384's 24 x 24 to ESC-50's 12 x 50", (24, 24), (12, 50), 0),
    _grid_case("DeiT-384's 24 x 24 to AudioSet's 12 x 101", (24, 24), (12, 101), 1),
    _grid_case("the authors' 12 x 101 to ESC-50's 12 x 50", (12, 101), (12, 50), 2),
    _grid_case("DeiT-224's 14 x 14 to 4 x 9 (notebook 04's 1-s clips)", (14, 14), (4, 9), 3),
    _grid_case("14 x 14 to 19 x 19: both axes stretched", (14, 14), (19, 19), 4),
]


def _without_prefix(case: Case, expected, got) -> bool:
    return close(expected[:, 2:], got)


def _prefix_last(case: Case, expected, got) -> bool:
    return close(torch.cat([expected[:, 2:], expected[:, :2]], dim=1), got)


def _transposed(case: Case, expected, got) -> bool:
    """Cells read time-major: the grid reshaped as (T, F) instead of (F, T)."""
    pos, old, new = case.args
    prefix, image = grid_to_image(pos, old)
    swapped = image.transpose(-1, -2).reshape(1, image.shape[1], -1).transpose(1, 2)
    wrong = fit_position_grid(torch.cat([prefix, swapped], dim=1), old[::-1], new[::-1])
    return close(wrong, got)


GRID_MISTAKES = [
    Mistake("[CLS] and [DIST] have no cell: keep their two rows, unchanged, in front of the "
            "fitted cells.", _without_prefix),
    Mistake("the two prefix rows go in front of the cells, as they came.", _prefix_last),
    Mistake("you interpolated both axes to the new grid: that is AST.resize_input (notebook "
            "02), not the paper's fit, which cuts the middle where an axis gets shorter.",
            lambda case, expected, got: close(resize_pos_embed(*case.args), got)),
    Mistake("the cells are frequency-major (row r, column c is cell r * T + c): reshape to "
            "(F, T), not (T, F).", _transposed),
]


def check_fit_grid(fit_grid: Callable[[Tensor, tuple, tuple], Tensor]) -> Feedback:
    """Grade ``fit_grid(pos_embed (1, 2 + Fo*To, D), old_grid, new_grid) -> (1, 2 + Fn*Tn, D)``
    against ``grid.fit_position_grid``."""
    return grade("fit the position grid", fit_grid, fit_position_grid, GRID_CASES, GRID_MISTAKES,
                 fallback_hint="split off pos_embed[:, :2]; lay the rest out as (1, D, Fo, To) "
                               "(reshape to (1, Fo, To, D), permute(0, 3, 1, 2)); fit time, then "
                               "frequency, with your fit_axis; flatten back to (1, Fn*Tn, D) "
                               "and put the two prefix rows in front.")
