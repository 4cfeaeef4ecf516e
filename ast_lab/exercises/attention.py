"""Graders for notebook 03 (``03_attention``): scaled dot-product attention, splitting and
merging heads, and attention with a padding mask.

The references are ``ast_lab.models.attention``'s ``scaled_dot_product`` (with its ``mask``),
``split_heads`` and ``merge_heads``.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from ast_lab.exercises.grading import Case, Feedback, Mistake, as_array, close, correct, grade
from ast_lab.models.attention import merge_heads, scaled_dot_product, split_heads


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
