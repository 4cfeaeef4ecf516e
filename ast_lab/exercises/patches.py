"""Graders for notebook 02 (``02_patch_embedding``): the patch count, patches by ``unfold``, the
token sequence with [CLS], [DIST] and positions, and the stride experiment's growth exponent.

The references are ``ast_lab.models.patches.patch_grid`` and ``extract_patches`` and
``ast_lab.models.ast.tokens_with_positions`` (what ``AST.embed`` runs).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from ast_lab.exercises.grading import Case, Feedback, Mistake, as_array, close, grade
from ast_lab.models.ast import tokens_with_positions
from ast_lab.models.patches import extract_patches, patch_grid

# ---------------------------------------------------------------------------- patch count

# (n_mels, n_frames, patch_size, fstride, tstride)
COUNT_CASES = [
    Case("ESC-50's 128 x 512 with 16 x 16 patches at stride 10", (128, 512, 16, 10, 10)),
    Case("AudioSet's 128 x 1024 at stride 10", (128, 1024, 16, 10, 10)),
    Case("128 x 512 without overlap (stride 16)", (128, 512, 16, 16, 16)),
    Case("different strides, 128 x 100 at fstride 10, tstride 4", (128, 100, 16, 10, 4)),
    Case("a spectrogram exactly one patch big, 16 x 16", (16, 16, 16, 10, 10)),
]


def _counted(per_axis: Callable[[int, int, int], int]) -> Callable:
    """A wrong count applied to both axes: ``per_axis(length, patch_size, stride)``."""
    def matches(case: Case, expected, got) -> bool:
        n_mels, n_frames, p, fstride, tstride = case.args
        return close((per_axis(n_mels, p, fstride), per_axis(n_frames, p, tstride)), got)
    return matches


def _one_short(case: Case, expected, got) -> bool:
    return any(close(int(e) - 1, g) for e, g in zip(expected, got))


def _one_stride(case: Case, expected, got) -> bool:
    n_mels, n_frames, p, fstride, tstride = case.args
    return fstride != tstride and any(
        close(patch_grid(n_mels, n_frames, p, s, s), got) for s in (fstride, tstride))


COUNT_MISTAKES = [
    Mistake("L // stride counts start positions where a whole patch no longer fits: a patch "
            "needs patch_size bins, so count (L − patch_size) // stride + 1.",
            _counted(lambda length, p, s: length // s)),
    Mistake("a tail shorter than a patch is dropped: floor division, not ceil.",
            _counted(lambda length, p, s: math.ceil((length - p) / s) + 1)),
    Mistake("the result is (frequency patches, time patches): mels first.",
            lambda case, expected, got: close(tuple(expected)[::-1], got)),
    Mistake("use fstride along the mel axis and tstride along frames.", _one_stride),
    Mistake("one patch short along an axis: the first patch starts at 0 and counts too, "
            "so 1 + (L − patch_size) // stride.", _one_short),
]


def check_patch_count(patch_count: Callable[[int, int, int, int, int], tuple[int, int]]) -> Feedback:
    """Grade ``patch_count(n_mels, n_frames, patch_size, fstride, tstride) -> (f_patches,
    t_patches)`` against ``patch_grid``."""
    return grade("patch count", patch_count, patch_grid, COUNT_CASES, COUNT_MISTAKES,
                 fallback_hint="per axis of length L: (L − patch_size) // stride + 1; return "
                               "a tuple (f_patches, t_patches).")


# ---------------------------------------------------------------------------- patches by unfold

def _spectrogram(batch: int, n_mels: int, n_frames: int, seed: int) -> Tensor:
    return torch.randn(batch, n_mels, n_frames, generator=torch.Generator().manual_seed(seed))


# (spec (B, n_mels, frames), patch_size, fstride, tstride)
UNFOLD_CASES = [
    Case("a (2, 40, 50) spectrogram, 16 x 16 patches at stride 10", (_spectrogram(2, 40, 50, 0), 16, 10, 10)),
    Case("a (1, 32, 64) spectrogram without overlap (stride 16)", (_spectrogram(1, 32, 64, 1), 16, 16, 16)),
    Case("8 x 8 patches at fstride 4, tstride 6 on (1, 20, 30)", (_spectrogram(1, 20, 30, 2), 8, 4, 6)),
    Case("a spectrogram exactly one patch big, (1, 16, 16)", (_spectrogram(1, 16, 16, 3), 16, 10, 10)),
]


def _grid_of(expected: Tensor, case: Case) -> Tensor:
    """The reference patches as ``(B, f_patches, t_patches, p, p)``."""
    spec, p, fstride, tstride = case.args
    grid = patch_grid(*spec.shape[-2:], p, fstride, tstride)
    return expected.reshape(spec.shape[0], *grid, p, p)


UNFOLD_MISTAKES = [
    Mistake("your spectrogram is transposed: spec is (batch, n_mels, frames), mel bins first, "
            "so patches run frequency-major and each is flattened mel-row by mel-row.",
            lambda case, expected, got: close(extract_patches(
                case.args[0].transpose(-1, -2), case.args[1], case.args[3], case.args[2]), got)),
    Mistake("F.unfold returns (batch, patch_size², patches): transpose the last two axes to get "
            "one row per patch.", lambda case, expected, got: close(expected.transpose(1, 2), got)),
    Mistake("your patches are in time-major order; tokens go frequency-major: all time positions "
            "of the lowest band of patches first (token k is grid cell (k // t_patches, "
            "k % t_patches)).",
            lambda case, expected, got: close(
                _grid_of(expected, case).transpose(1, 2).flatten(1, 2).flatten(-2), got)),
    Mistake("each patch must be flattened mel-row by mel-row, as spec[f0:f0+p, t0:t0+p].flatten() "
            "does; yours is flattened frame by frame (a transposed spectrogram?).",
            lambda case, expected, got: close(_grid_of(expected, case).transpose(-1, -2).flatten(-2)
                                              .flatten(1, 2), got)),
    Mistake("fstride steps along the mel axis, tstride along frames: unfold's stride is "
            "(fstride, tstride).", lambda case, expected, got: close(
                extract_patches(case.args[0], case.args[1], case.args[3], case.args[2]), got)),
]


def check_patches(patches_by_unfold: Callable[[Tensor, int, int, int], Tensor]) -> Feedback:
    """Grade ``patches_by_unfold(spec (B, n_mels, frames), patch_size, fstride, tstride) ->
    (B, N, patch_size**2)`` against ``extract_patches``."""
    return grade("patches by unfold", patches_by_unfold, extract_patches, UNFOLD_CASES,
                 UNFOLD_MISTAKES,
                 fallback_hint="F.unfold wants (batch, channels, height, width): add the channel "
                               "axis with spec[:, None], pass kernel_size=patch_size, "
                               "stride=(fstride, tstride), then transpose(1, 2).")


# ---------------------------------------------------------------------------- tokens and positions

def _token_case(label: str, batch: int, n_patches: int, width: int, seed: int) -> Case:
    g = torch.Generator().manual_seed(seed)
    patches = torch.randn(batch, n_patches, width, generator=g)  # (B, N, D)
    cls, dist = torch.randn(2, 1, 1, width, generator=g)  # each (1, 1, D)
    pos = torch.randn(1, 2 + n_patches, width, generator=g)  # (1, 2 + N, D)
    return Case(label, (patches, cls, dist, pos))


TOKEN_CASES = [
    _token_case("a batch of 2, 6 patches of width 4", 2, 6, 4, 0),
    _token_case("a batch of 3, 12 patches of width 8", 3, 12, 8, 1),
    _token_case("one clip with a single patch", 1, 1, 4, 2),
]


def _tokens(case: Case, order: str = "cd", positions: str = "all") -> Tensor:
    """A variant of the token sequence: prefix ``order`` ("cd", "dc", or "end") and which
    tokens get positions ("all", "none", "patches")."""
    patches, cls, dist, pos = case.args
    B = patches.shape[0]
    cls, dist = cls.expand(B, -1, -1), dist.expand(B, -1, -1)
    if positions == "patches":
        patches = patches + pos[:, 2:]
    parts = {"cd": [cls, dist, patches], "dc": [dist, cls, patches], "end": [patches, cls, dist]}
    tokens = torch.cat(parts[order], dim=1)
    return tokens + pos if positions == "all" else tokens


TOKEN_MISTAKES = [
    Mistake("you did not add the positional embedding: attention is blind to order, so without "
            "it the model cannot tell where a patch came from.",
            lambda case, expected, got: close(_tokens(case, positions="none"), got)),
    Mistake("pos_embed has 2 + N rows: the first two belong to [CLS] and [DIST]. Concatenate "
            "first, then add all of it.",
            lambda case, expected, got: close(_tokens(case, positions="patches"), got)),
    Mistake("the order is [CLS], then [DIST], then the patches.",
            lambda case, expected, got: close(_tokens(case, order="dc"), got)),
    Mistake("the two learned tokens go in front of the patches, not after them.",
            lambda case, expected, got: close(_tokens(case, order="end"), got)),
]


def check_tokens(tokens_with_positions_: Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]) -> Feedback:
    """Grade ``tokens(patches (B, N, D), cls_token (1, 1, D), dist_token (1, 1, D), pos_embed
    (1, 2 + N, D)) -> (B, 2 + N, D)`` against ``tokens_with_positions`` (``AST.embed``)."""
    return grade("tokens and positions", tokens_with_positions_, tokens_with_positions, TOKEN_CASES,
                 TOKEN_MISTAKES,
                 fallback_hint="expand cls_token and dist_token to the batch (.expand(B, -1, -1)), "
                               "torch.cat([cls, dist, patches], dim=1), then + pos_embed.")


# ---------------------------------------------------------------------------- the stride experiment

def reference_exponent(tokens, seconds) -> float:
    """The ``a`` of ``seconds ∝ tokens ** a``: the least-squares slope of log seconds on log
    tokens, over all the measurements."""
    return float(np.polyfit(np.log(as_array(tokens)), np.log(as_array(seconds)), 1)[0])


def _power_law(label: str, exponent: float, noise: float, seed: int) -> Case:
    rng = np.random.default_rng(seed)
    tokens = np.array([66, 122, 194, 302, 546, 1214], dtype=float)
    seconds = 1e-6 * tokens**exponent * np.exp(noise * rng.standard_normal(tokens.size))
    return Case(label, (tokens, seconds))


EXPONENT_CASES = [
    _power_law("times exactly proportional to the tokens", 1.0, 0.0, 0),
    _power_law("times growing exactly as the tokens squared", 2.0, 0.0, 1),
    _power_law("times growing as tokens^1.4, with 10 % measurement noise", 1.4, 0.1, 2),
]


def _two_point(case: Case, expected, got) -> bool:
    tokens, seconds = (as_array(a) for a in case.args)
    return close(np.log(seconds[-1] / seconds[0]) / np.log(tokens[-1] / tokens[0]), got)


def _slope(x, y) -> float:
    """The least-squares slope of ``y`` against ``x``."""
    return float(np.polyfit(as_array(x), as_array(y), 1)[0])


EXPONENT_MISTAKES = [
    Mistake("that is the slope of seconds against tokens (seconds per token), not an exponent: "
            "fit a line to log(seconds) against log(tokens).",
            lambda case, expected, got: close(_slope(*case.args), got)),
    Mistake("the axes are swapped: regress log(seconds) on log(tokens), "
            "np.polyfit(np.log(tokens), np.log(seconds), 1)[0].",
            lambda case, expected, got: close(
                _slope(np.log(as_array(case.args[1])), np.log(as_array(case.args[0]))), got)),
    Mistake("two points give an exponent, but a noisy one: fit all the measurements at once "
            "(least squares on the log-log points).", _two_point),
]


def check_growth_exponent(growth_exponent: Callable, tokens=None, seconds=None) -> Feedback:
    """Grade ``growth_exponent(tokens (n,), seconds (n,)) -> a`` (``seconds ∝ tokens ** a``)
    against ``reference_exponent``, on made-up power laws and, when given, on the learner's own
    measurements ``tokens``, ``seconds``."""
    cases = list(EXPONENT_CASES)
    if tokens is not None and seconds is not None:
        cases.append(Case("your own measurements", (np.asarray(tokens), np.asarray(seconds))))
    return grade("growth exponent", growth_exponent, reference_exponent, cases, EXPONENT_MISTAKES,
                 fallback_hint="a straight line through the points (log tokens, log seconds): "
                               "its slope is a. np.polyfit(x, y, 1)[0] is the slope.")
