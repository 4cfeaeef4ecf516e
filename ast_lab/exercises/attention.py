"""Graders for notebook 03 (``03_attention``): scaled dot-product attention, splitting and
merging heads, attention with a padding mask, attention rollout, and the occlusion experiment.

The references are ``ast_lab.models.attention``'s ``scaled_dot_product`` (with its ``mask``),
``split_heads`` and ``merge_heads``, ``ast_lab.models.rollout.attention_rollout``, and an
``ast_lab.occlusion.OcclusionCurve`` the learner measured.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from ast_lab.exercises.grading import (Case, Feedback, Mistake, as_array, close, correct, grade,
                                       grade_reading)
from ast_lab.models.attention import merge_heads, scaled_dot_product, split_heads
from ast_lab.models.rollout import attention_rollout
from ast_lab.occlusion import OcclusionCurve


def _qkv(label: str, *shape: int, seed: int, scale: float = 1.0) -> Case:
    """A case of random queries, keys and values, each ``shape`` = ``(..., T, d)``."""
    q, k, v = (scale * torch.randn(3, *shape, generator=torch.Generator().manual_seed(seed))).unbind(0)
    return Case(label, (q, k, v))


# ---------------------------------------------------------------------------- attention

ATTENTION_CASES = [
    _qkv("four tokens of width 8, (4, 8)", 4, 8, seed=0),
    _qkv("a batch of 2 with 3 heads, (2, 3, 5, 16)", 2, 3, 5, 16, seed=1),
    _qkv("wide heads, (6, 64), where √d matters most", 6, 64, seed=2),
    _qkv("a single token, (1, 8)", 1, 8, seed=3),
]


def _weights(got):
    """The weights of a ``(out, weights)`` answer, as an array."""
    return as_array(got[1])


def _scores(q: Tensor, k: Tensor, divisor: float) -> Tensor:
    return q @ k.transpose(-2, -1) / divisor  # (..., T, T)


def _rows_off_one(case: Case, expected, got) -> bool:
    """Whether some row of the answer's weights does not sum to 1."""
    sums = _weights(got).sum(-1)
    return not close(sums, np.ones_like(sums))


def _row_sums(case: Case, expected, got) -> str:
    sums = _weights(got).sum(-1).ravel()
    return (f"rows of your attention weights sum to {sums[0]:.3g} (first row), not 1: softmax "
            "over the wrong axis? Normalise over the keys, dim=-1.")


def _scaled_by(divisor: Callable[[int], float]) -> Callable:
    def matches(case: Case, expected, got) -> bool:
        q, k, _ = case.args
        return close(_scores(q, k, divisor(q.shape[-1])).softmax(-1), _weights(got))
    return matches


ATTENTION_MISTAKES = [
    Mistake("your weights are softmax(q kᵀ) without scaling: divide the scores by √d "
            "(d = q.shape[-1]) before the softmax, or wide heads saturate.", _scaled_by(lambda d: 1.0)),
    Mistake("you divided the scores by d; divide by √d (math.sqrt(d)).", _scaled_by(float)),
    Mistake(_row_sums, _rows_off_one),
    Mistake("your weights are right but the output is not weights @ v.",
            lambda case, expected, got: close(expected[1], got[1])),
]


def check_attention(attention: Callable[[Tensor, Tensor, Tensor], tuple[Tensor, Tensor]]) -> Feedback:
    """Grade ``attention(q, k, v) -> (out, weights)`` for ``(..., T, d)`` inputs against
    ``scaled_dot_product``."""
    return grade("scaled dot-product attention", attention, scaled_dot_product, ATTENTION_CASES,
                 ATTENTION_MISTAKES,
                 fallback_hint="scores = q @ k.transpose(-2, -1) / √d (not k.T, which reverses "
                               "every axis of a batch); weights = softmax over dim=-1; out = "
                               "weights @ v; return (out, weights).")


# ---------------------------------------------------------------------------- heads

def _tokens(label: str, batch: int, tokens: int, width: int, num_heads: int, seed: int) -> Case:
    x = torch.randn(batch, tokens, width, generator=torch.Generator().manual_seed(seed))
    return Case(label, (x, num_heads))


SPLIT_CASES = [
    _tokens("(2, 5, 12) tokens into 3 heads", 2, 5, 12, 3, seed=0),
    _tokens("(3, 4, 16) tokens into 4 heads (as many tokens as heads)", 3, 4, 16, 4, seed=1),
    _tokens("(1, 1, 8) into 8 heads of size 1", 1, 1, 8, 8, seed=2),
]
MERGE_CASES = [Case(f"the heads of {case.label}", (split_heads(*case.args),)) for case in SPLIT_CASES]

SPLIT_MISTAKES = [
    Mistake("viewing (B, T, C) straight as (B, nh, T, hs) mixes tokens into heads: view as "
            "(B, T, nh, hs) first, then transpose(1, 2).",
            lambda case, expected, got: close(case.args[0].reshape(expected.shape), got)),
    Mistake("each head is a contiguous slice of hs channels: view as (B, T, nh, hs), not "
            "(B, T, hs, nh).", lambda case, expected, got: close(
                case.args[0].reshape(*case.args[0].shape[:2], -1, case.args[1]).permute(0, 3, 1, 2), got)),
    Mistake("the heads axis goes before the tokens: transpose(1, 2) after the view, to "
            "(B, nh, T, hs).", lambda case, expected, got: close(expected.transpose(1, 2), got)),
]
MERGE_MISTAKES = [
    Mistake("transpose(1, 2) back to (B, T, nh, hs) before reshaping, or heads and tokens get "
            "mixed.", lambda case, expected, got: close(case.args[0].reshape(expected.shape), got)),
    Mistake("merging puts the heads side by side (width nh·hs); it does not average or add them.",
            lambda case, expected, got: as_array(got).shape[-1] == case.args[0].shape[-1]),
]


def check_heads(split: Callable[[Tensor, int], Tensor], merge: Callable[[Tensor], Tensor]) -> Feedback:
    """Grade ``split(x (B, T, C), num_heads) -> (B, nh, T, hs)`` against ``split_heads``, then
    ``merge(y (B, nh, T, hs)) -> (B, T, C)`` against ``merge_heads``."""
    feedback = grade("split heads", split, split_heads, SPLIT_CASES, SPLIT_MISTAKES,
                     fallback_hint="x.view(B, T, nh, C // nh).transpose(1, 2)")
    if not feedback.correct:
        return feedback
    feedback = grade("merge heads", merge, merge_heads, MERGE_CASES, MERGE_MISTAKES,
                     fallback_hint="y.transpose(1, 2).reshape(B, T, nh * hs)")
    if not feedback.correct:
        return feedback
    return correct("split and merge heads", len(SPLIT_CASES) + len(MERGE_CASES))


# ---------------------------------------------------------------------------- padding mask

def _padded(label: str, lengths: list[int], tokens: int, width: int, seed: int) -> Case:
    q, k, v = _qkv(label, len(lengths), tokens, width, seed=seed).args  # each (B, T, d)
    key_mask = torch.arange(tokens)[None, :] < torch.tensor(lengths)[:, None]  # (B, T)
    return Case(label, (q, k, v, key_mask))


MASK_CASES = [
    _padded("2 clips of 5 tokens, the second padded after 3", [5, 3], 5, 8, seed=0),
    _padded("no padding at all", [4], 4, 8, seed=1),
    _padded("a clip with a single real token", [1, 4], 4, 16, seed=2),
]


def _masked_reference(q: Tensor, k: Tensor, v: Tensor, key_mask: Tensor) -> tuple[Tensor, Tensor]:
    return scaled_dot_product(q, k, v, mask=key_mask[:, None, :])  # mask (B, 1, T): keys only


def _masked_with(fill: float = float("-inf"), inverted: bool = False, scaled: bool = True,
                 on_queries: bool = False) -> Callable:
    """Recognise a masked attention with one slip: another ``fill`` value, the mask ``inverted``,
    no √d (``scaled=False``), or the mask broadcast over queries instead of keys."""
    def matches(case: Case, expected, got) -> bool:
        q, k, _, key_mask = case.args
        keep = ~key_mask if inverted else key_mask  # (B, T)
        keep = keep[:, :, None] if on_queries else keep[:, None, :]
        scores = _scores(q, k, math.sqrt(q.shape[-1]) if scaled else 1.0)
        return close(scores.masked_fill(~keep, fill).softmax(-1), _weights(got))
    return matches


MASK_MISTAKES = [
    Mistake("your weights go to the padded keys: key_mask is True for real tokens, so mask "
            "where it is False (~key_mask).", _masked_with(inverted=True)),
    Mistake("padded keys still get weight: a score of 0 is not 'never'. Fill masked scores with "
            "-inf before the softmax, so their weight is exactly 0.", _masked_with(fill=0.0)),
    Mistake("the mask applies to keys (columns of the weights), the same for every query: "
            "key_mask[:, None, :], not key_mask[:, :, None].", _masked_with(on_queries=True)),
    Mistake(ATTENTION_MISTAKES[0].hint, _masked_with(scaled=False)),
    Mistake(_row_sums, _rows_off_one),
]


def check_masked_attention(
    masked_attention: Callable[[Tensor, Tensor, Tensor, Tensor], tuple[Tensor, Tensor]],
) -> Feedback:
    """Grade ``masked_attention(q, k, v (B, T, d), key_mask (B, T) bool) -> (out, weights)``
    against ``scaled_dot_product(..., mask=key_mask[:, None, :])``."""
    return grade("attention with a padding mask", masked_attention, _masked_reference, MASK_CASES,
                 MASK_MISTAKES,
                 fallback_hint="scores.masked_fill(~key_mask[:, None, :], float('-inf')) before "
                               "the softmax over dim=-1.")


# ---------------------------------------------------------------------------- attention rollout

def _maps(label: str, depth: int, batch: int, heads: int, tokens: int, seed: int) -> Case:
    """``depth`` random attention maps ``(batch, heads, tokens, tokens)``, rows summing to 1."""
    g = torch.Generator().manual_seed(seed)
    return Case(label, ([torch.randn(batch, heads, tokens, tokens, generator=g).mul(2).softmax(-1)
                         for _ in range(depth)],))


ROLLOUT_CASES = [
    _maps("one block of 4 heads over 5 tokens", 1, 1, 4, 5, seed=0),
    _maps("three blocks, a batch of 2, 4 heads, 6 tokens", 3, 2, 4, 6, seed=1),
    _maps("two blocks of one head over 3 tokens", 2, 1, 1, 3, seed=2),
]


def _rolled(maps: list[Tensor], residual: bool = True, first_on_left: bool = False,
            heads=lambda m: m.mean(dim=1), half: bool = True) -> Tensor:
    """A variant of the rollout: without the residual, multiplied in the wrong order, with
    another way of combining heads, or with ``A + I`` not halved."""
    T = maps[0].shape[-1]
    eye = torch.eye(T)
    result = eye.expand(maps[0].shape[0], T, T)
    for block in maps:
        flow = heads(block)
        if residual:
            flow = 0.5 * flow + 0.5 * eye if half else flow + eye
        result = result @ flow if first_on_left else flow @ result
    return result


ROLLOUT_MISTAKES = [
    Mistake("you multiplied the raw attention: each block also passes its input on unchanged "
            "(the residual connection), so use 0.5 A + 0.5 I for each block.",
            lambda case, expected, got: close(_rolled(case.args[0], residual=False), got)),
    Mistake("the order is reversed: the first block acts first, so later blocks multiply on the "
            "left: R = A_L ... A_2 A_1.",
            lambda case, expected, got: close(_rolled(case.args[0], first_on_left=True), got)),
    Mistake("A + I has rows summing to 2: halve it (0.5 A + 0.5 I) so that every row of the "
            "rollout is still a set of weights summing to 1.",
            lambda case, expected, got: close(_rolled(case.args[0], half=False), got)),
    Mistake("average the heads (mean over dim=1) before adding the residual.",
            lambda case, expected, got: as_array(got).ndim == 4),
]


def check_rollout(rollout: Callable[[list[Tensor]], Tensor]) -> Feedback:
    """Grade ``rollout(maps: depth x (B, nh, T, T)) -> (B, T, T)`` against
    ``models.rollout.attention_rollout``."""
    return grade("attention rollout", rollout, attention_rollout, ROLLOUT_CASES, ROLLOUT_MISTAKES,
                 fallback_hint="start from the identity; for each block, first to last: "
                               "flow = 0.5 * maps[b].mean(dim=1) + 0.5 * I, then R = flow @ R.")


# ---------------------------------------------------------------------------- occlusion

def check_occlusion_reading(curve: OcclusionCurve, k: int, p_top_hidden: float,
                            p_others_hidden: float, attention_found_the_evidence: bool) -> Feedback:
    """Check what was read off ``curve`` (``occlusion.occlusion_curve``) at ``k`` patches: the
    probability with the top ``k`` hidden, the median with ``k`` others hidden, and whether
    hiding the top ``k`` costs more than every random draw of others does."""
    if k not in curve.ks:
        return Feedback("occlusion test", "wrong", f"k = {k} is not one of the curve's {curve.ks}",
                        "choose k from the table's first column.")
    row = curve.ks.index(k)
    top, others = float(curve.top[row]), curve.others[row]
    found = bool(top < others.min())
    verdict = ("hiding them costs the class more than any random draw of as many other patches: "
               "the map points at evidence the model uses." if found else
               "some random draw of as many other patches costs the class as much or more: on "
               "this clip, the map is no better a guide to the evidence than chance.")
    return grade_reading(
        "occlusion test",
        {"p_top_hidden": p_top_hidden, "p_others_hidden": p_others_hidden,
         "attention_found_the_evidence": attention_found_the_evidence},
        {"p_top_hidden": top, "p_others_hidden": float(np.median(others)),
         "attention_found_the_evidence": found},
        {"p_top_hidden": f"the 'top k hidden' column in the row k = {k}.",
         "p_others_hidden": f"the median in the 'k others hidden' column, row k = {k}.",
         "attention_found_the_evidence": "True only if the top-k probability is below the "
                                         "lowest value of the others' range."},
        conclusion=f"right, at k = {k}: {verdict}", atol=0.0015)
