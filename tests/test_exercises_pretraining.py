"""Notebook 05's graders: each accepts its worked solution, reports an unfinished stub as not
attempted, and rejects the usual wrong answers with the hint that explains them."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ast_lab.exercises import pretraining, solutions
from ast_lab.models.ast import resize_pos_embed

GRADERS = {
    "rgb sum": (pretraining.check_rgb_sum, solutions.sum_rgb),
    "fit axis": (pretraining.check_fit_axis, solutions.fit_axis),
    "fit grid": (pretraining.check_fit_grid, solutions.fit_grid),
}


def _stub(*args, **kwargs):
    raise NotImplementedError


@pytest.mark.parametrize("name", GRADERS)
def test_the_worked_solution_is_correct(name):
    check, answer = GRADERS[name]
    feedback = check(answer)
    assert feedback.status == "correct", repr(feedback)


@pytest.mark.parametrize("name", GRADERS)
def test_an_unfinished_stub_is_not_attempted(name):
    check, _ = GRADERS[name]
    assert check(_stub).status == "not attempted"


def _wrong(check, answer, hint: str) -> None:
    feedback = check(answer)
    assert feedback.status == "wrong" and hint in feedback.hint, repr(feedback)
    assert "on " in feedback.message  # names the input it failed on


def test_rgb_sum_hints():
    check = pretraining.check_rgb_sum
    _wrong(check, lambda w: w.mean(dim=1, keepdim=True), "you averaged the colours")
    _wrong(check, lambda w: w.sum(dim=1), "keep the channel axis")
    _wrong(check, lambda w: w.sum(dim=0, keepdim=True), "summed over the filters")
    _wrong(check, lambda w: w[:, :1], "you kept one colour")


def _cut_then(start):
    """A fit_axis that cuts from ``start(old, new)`` and otherwise stretches as it should."""
    def answer(image, size, axis):
        old = image.shape[axis]
        return (image.narrow(axis, start(old, size), size) if size <= old
                else solutions.fit_axis(image, size, axis))
    return answer


def _always(**options):
    def answer(image, size, axis):
        target = list(image.shape[-2:])
        target[axis] = size
        return F.interpolate(image, size=tuple(target), **options)
    return answer


def test_fit_axis_hints():
    check = pretraining.check_fit_axis
    _wrong(check, _always(mode="bilinear", align_corners=False), "you interpolated where")
    _wrong(check, _cut_then(lambda old, new: 0), "you cut from the start")
    _wrong(check, _cut_then(lambda old, new: (old - new) // 2), "old // 2 − new // 2")

    def corners(image, size, axis):
        return (_always(mode="bilinear", align_corners=True)(image, size, axis)
                if size > image.shape[axis] else solutions.fit_axis(image, size, axis))
    _wrong(check, corners, "align_corners=False")

    def nearest(image, size, axis):
        return (_always(mode="nearest")(image, size, axis)
                if size > image.shape[axis] else solutions.fit_axis(image, size, axis))
    _wrong(check, nearest, "not by nearest neighbour")


def test_fit_grid_hints():
    check = pretraining.check_fit_grid
    _wrong(check, lambda pos, old, new: solutions.fit_grid(pos, old, new)[:, 2:],
           "[CLS] and [DIST] have no cell")

    def prefix_last(pos, old, new):
        fitted = solutions.fit_grid(pos, old, new)
        return torch.cat([fitted[:, 2:], fitted[:, :2]], dim=1)
    _wrong(check, prefix_last, "in front of the cells")
    _wrong(check, resize_pos_embed, "AST.resize_input")

    def time_major(pos, old, new):
        dim = pos.shape[-1]
        image = pos[:, 2:].reshape(1, old[1], old[0], dim).permute(0, 3, 2, 1)  # (1, D, F, T)
        cells = image.reshape(1, dim, -1).transpose(1, 2)  # frequency-major again, wrongly
        return solutions.fit_grid(torch.cat([pos[:, :2], cells], dim=1), old, new)
    feedback = check(time_major)
    assert feedback.status == "wrong", repr(feedback)
