"""The notebooks' exercise graders: each accepts its worked solution, reports an unfinished stub
as not attempted (without raising), and rejects common wrong answers with the intended hint."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ast_lab.exercises import attention, folds, logmel, patches, solutions
from ast_lab.exercises.grading import Case, describe_difference, grade
from ast_lab.models.attention import scaled_dot_product
from ast_lab.occlusion import OcclusionCurve

GRADERS = {
    "frame count": (logmel.check_frame_count, (solutions.frame_count,)),
    "hz to mel": (logmel.check_hz_to_mel, (solutions.hz_to_mel_htk,)),
    "triangle": (logmel.check_triangle, (solutions.triangular_filter,)),
    "window config": (logmel.check_window_config, (solutions.window_config,)),
    "patch count": (patches.check_patch_count, (solutions.patch_count,)),
    "patches": (patches.check_patches, (solutions.patches_by_unfold,)),
    "tokens": (patches.check_tokens, (solutions.tokens,)),
    "growth exponent": (patches.check_growth_exponent, (solutions.growth_exponent,)),
    "attention": (attention.check_attention, (solutions.attention,)),
    "heads": (attention.check_heads, (solutions.split, solutions.merge)),
    "masked attention": (attention.check_masked_attention, (solutions.masked_attention,)),
    "rollout": (attention.check_rollout, (solutions.rollout,)),
    "fold split": (folds.check_fold_split, (solutions.split_by_source,)),
    "macro f1": (folds.check_macro_f1, (solutions.macro_f1,)),
}


def _stub(*args, **kwargs):
    raise NotImplementedError


@pytest.mark.parametrize("name", GRADERS)
def test_the_worked_solution_is_correct(name):
    check, answers = GRADERS[name]
    feedback = check(*answers)
    assert feedback.status == "correct", repr(feedback)
    assert repr(feedback).startswith("✓")


@pytest.mark.parametrize("name", GRADERS)
def test_an_unfinished_stub_is_not_attempted_and_does_not_raise(name):
    check, answers = GRADERS[name]
    feedback = check(*[_stub] * len(answers))
    assert feedback.status == "not attempted" and "not attempted yet" in repr(feedback)


def _wrong(check, *answers, hint: str, message: str = "") -> None:
    """``check(*answers)`` is wrong, with ``hint`` in its hint and ``message`` in its words."""
    feedback = check(*answers)
    assert feedback.status == "wrong", repr(feedback)
    assert hint in feedback.hint, repr(feedback)
    assert message in feedback.message, repr(feedback)


# ---------------------------------------------------------------------------- the machinery


def test_differences_are_described_in_words():
    assert describe_difference(501, 501) is None
    assert describe_difference(501, 500) == "expected 501, got 500"
    assert describe_difference(np.zeros((2, 3)), np.zeros((3, 2))) == \
        "expected shape (2, 3), got shape (3, 2)"
    words = describe_difference(np.arange(4.0), np.array([0.0, 1.0, 2.5, 3.0]))
    assert "index (2,)" in words and "expected 2, got 2.5" in words and "1 of 4" in words
    assert "value 1 of the result" in describe_difference((1, 2), (1, 3))


def test_a_learner_error_is_feedback_not_a_crash():
    def broken(x):
        raise KeyError("oops")

    feedback = grade("demo", broken, lambda x: x, [Case("the number 1", (1,))], fallback_hint="h")
    assert feedback.status == "wrong" and "raised KeyError" in feedback.message
    assert feedback.hint == "h"


# ---------------------------------------------------------------------------- notebook 01


def test_frame_count_hints():
    def one_short(n, win, hop, n_fft, center):
        return (n + 2 * (n_fft // 2) - n_fft) // hop if center else (n - win) // hop

    def librosa_shortcut(n, win, hop, n_fft, center):  # right for even n_fft only
        return 1 + n // hop if center else 1 + (n - win) // hop

    def window_not_fft(n, win, hop, n_fft, center):
        return 1 + (n + 2 * (n_fft // 2) - win) // hop if center else 1 + (n - win) // hop

    _wrong(logmel.check_frame_count, one_short, hint="one short",
           message="expected 501, got 500")
    _wrong(logmel.check_frame_count, librosa_shortcut, hint="odd n_fft", message="odd n_fft")
    _wrong(logmel.check_frame_count, window_not_fft, hint="not win_length")
    _wrong(logmel.check_frame_count, lambda n, win, hop, n_fft, center: 1 + (n - win) // hop,
           hint="other convention")


def test_hz_to_mel_hints():
    _wrong(logmel.check_hz_to_mel, lambda f: 2595 * np.log(1 + f / 700), hint="you used ln with 2595")
    with np.errstate(divide="ignore"):
        _wrong(logmel.check_hz_to_mel, lambda f: 2595 * np.log10(f / 700), hint="without the 1")
    from ast_lab.features import hz_to_mel
    _wrong(logmel.check_hz_to_mel, lambda f: hz_to_mel(f, "slaney"), hint="Slaney")


def test_triangle_hints():
    def unclipped(f, left, centre, right):
        return np.minimum((f - left) / (centre - left), (right - f) / (right - centre))

    def area_normalised(f, left, centre, right):
        return solutions.triangular_filter(f, left, centre, right) * 2 / (right - left)

    def one_slope(f, left, centre, right):
        return np.maximum(0, (f - left) / (centre - left))

    _wrong(logmel.check_triangle, unclipped, hint="go negative")
    _wrong(logmel.check_triangle, area_normalised, hint="area normalisation")
    _wrong(logmel.check_triangle, one_slope, hint="above 1")


def test_window_config_hints():
    def same_fft(cfg, win_ms):  # the explorer's old slip: the window grows, n_fft stays 512
        return dataclasses.replace(cfg, win_ms=win_ms)

    def fft_of_the_window(cfg, win_ms):
        return dataclasses.replace(cfg, win_ms=win_ms, n_fft=round(win_ms * cfg.sample_rate / 1000))

    def next_power_above(cfg, win_ms):
        return dataclasses.replace(cfg, win_ms=win_ms,
                                   n_fft=1 << round(win_ms * cfg.sample_rate / 1000).bit_length())

    _wrong(logmel.check_window_config, same_fft, hint="still the old one",
           message="64 ms")
    _wrong(logmel.check_window_config, fft_of_the_window, hint="power of two")
    _wrong(logmel.check_window_config, next_power_above, hint="bit_length()")
    _wrong(logmel.check_window_config,
           lambda cfg, w: dataclasses.replace(solutions.window_config(cfg, w), hop_ms=w / 2),
           hint="keep the hop")


def test_the_window_experiment_reading_is_checked_against_the_measurement():
    right = logmel.check_resolution_reading(solutions.TWO_TONES_FROM_MS,
                                            solutions.TWO_CLICKS_UP_TO_MS)
    assert right.correct and "no window in the list shows both" in right.message, repr(right)
    wrong = logmel.check_resolution_reading(25.0, solutions.TWO_CLICKS_UP_TO_MS)
    assert wrong.status == "wrong" and "two_tones_from_ms = 25.0" in wrong.message
    assert "tone column" in wrong.hint
    assert logmel.check_resolution_reading(..., 32.0).status == "not attempted"


# ---------------------------------------------------------------------------- notebook 02


def test_patch_count_hints():
    _wrong(patches.check_patch_count, lambda m, t, p, fs, ts: ((m - p) // fs, (t - p) // ts),
           hint="one patch short", message="value 0 of the result: expected 12, got 11")
    _wrong(patches.check_patch_count, lambda m, t, p, fs, ts: (m // fs, t // ts),
           hint="L // stride")
    _wrong(patches.check_patch_count,
           lambda m, t, p, fs, ts: ((t - p) // ts + 1, (m - p) // fs + 1), hint="mels first")
    _wrong(patches.check_patch_count,
           lambda m, t, p, fs, ts: ((m - p) // fs + 1, (t - p) // fs + 1), hint="tstride along")


def test_patches_hints():
    def untransposed(spec, p, fs, ts):
        return F.unfold(spec[:, None], kernel_size=p, stride=(fs, ts))

    def transposed(spec, p, fs, ts):
        columns = F.unfold(spec[:, None].transpose(-1, -2), kernel_size=p, stride=(ts, fs))
        return columns.transpose(1, 2)  # (frames, mels) patches: time-major, flattened by frame

    def no_channel(spec, p, fs, ts):
        return F.unfold(spec, kernel_size=p, stride=(fs, ts)).transpose(1, 2)

    _wrong(patches.check_patches, untransposed, hint="transpose the last two axes",
           message="expected shape (2, 12, 256), got shape (2, 256, 12)")
    _wrong(patches.check_patches, transposed, hint="spectrogram is transposed")
    _wrong(patches.check_patches, no_channel, hint="add the channel axis", message="raised")


def test_tokens_hints():
    def no_positions(patch_tokens, cls, dist, pos):
        return solutions.tokens(patch_tokens, cls, dist, torch.zeros_like(pos))

    def dist_first(patch_tokens, cls, dist, pos):
        return solutions.tokens(patch_tokens, dist, cls, pos)

    def patches_only(patch_tokens, cls, dist, pos):
        B = patch_tokens.shape[0]
        return torch.cat([cls.expand(B, -1, -1), dist.expand(B, -1, -1),
                          patch_tokens + pos[:, 2:]], dim=1)

    _wrong(patches.check_tokens, no_positions, hint="did not add the positional embedding")
    _wrong(patches.check_tokens, dist_first, hint="[CLS], then [DIST]")
    _wrong(patches.check_tokens, patches_only, hint="first two belong to [CLS] and [DIST]")


def test_growth_exponent_hints():
    tokens = np.array([74, 122, 147, 254, 434])
    seconds = 1e-5 * tokens**1.3
    assert patches.check_growth_exponent(solutions.growth_exponent, tokens, seconds).correct
    feedback = patches.check_growth_exponent(solutions.growth_exponent, tokens, seconds)
    assert "4 inputs" in feedback.message  # the three made-up power laws and the learner's own
    _wrong(patches.check_growth_exponent, lambda t, s: np.polyfit(t, s, 1)[0],
           hint="seconds per token")
    _wrong(patches.check_growth_exponent,
           lambda t, s: np.polyfit(np.log(s), np.log(t), 1)[0], hint="axes are swapped")
    _wrong(patches.check_growth_exponent,
           lambda t, s: np.log(s[-1] / s[0]) / np.log(t[-1] / t[0]),
           hint="fit all the measurements", message="noise")


# ---------------------------------------------------------------------------- notebook 03


def _attention_with(scores_to_weights, divisor=lambda d: math.sqrt(d)):
    def answer(q, k, v):
        weights = scores_to_weights(q @ k.transpose(-2, -1) / divisor(q.shape[-1]))
        return weights @ v, weights
    return answer


def test_attention_hints():
    _wrong(attention.check_attention, _attention_with(lambda s: s.softmax(-1), lambda d: 1.0),
           hint="divide the scores by √d")
    _wrong(attention.check_attention, _attention_with(lambda s: s.softmax(-1), float),
           hint="divided the scores by d")
    _wrong(attention.check_attention, _attention_with(lambda s: s.softmax(-2)),
           hint="rows of your attention weights sum to", message="expected")
    feedback = attention.check_attention(_attention_with(lambda s: s.softmax(-2)))
    assert "softmax over the wrong axis" in feedback.hint

    def queries_for_values(q, k, v):
        _, weights = solutions.attention(q, k, v)
        return weights @ q, weights

    _wrong(attention.check_attention, queries_for_values, hint="not weights @ v")


def test_heads_hints():
    def straight_view(x, nh):
        B, T, C = x.shape
        return x.view(B, nh, T, C // nh)

    def merge_without_transpose(y):
        B, nh, T, hs = y.shape
        return y.reshape(B, T, nh * hs)

    _wrong(attention.check_heads, straight_view, solutions.merge, hint="mixes tokens into heads")
    _wrong(attention.check_heads, lambda x, nh: x.view(*x.shape[:2], nh, -1), solutions.merge,
           hint="transpose(1, 2) after the view", message="shape")
    _wrong(attention.check_heads, solutions.split, merge_without_transpose,
           hint="transpose(1, 2) back")
    _wrong(attention.check_heads, solutions.split, lambda y: y.mean(1), hint="side by side")


def _masked_with(fill, keep):
    def answer(q, k, v, key_mask):
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        weights = scores.masked_fill(~keep(key_mask), fill).softmax(-1)
        return weights @ v, weights
    return answer


def test_masked_attention_hints():
    keys = lambda mask: mask[:, None, :]  # noqa: E731
    _wrong(attention.check_masked_attention, _masked_with(0.0, keys), hint="score of 0 is not")
    _wrong(attention.check_masked_attention, _masked_with(-math.inf, lambda m: ~m[:, None, :]),
           hint="go to the padded keys")
    _wrong(attention.check_masked_attention, _masked_with(-math.inf, lambda m: m[:, :, None]),
           hint="applies to keys")

    def masked_after_softmax(q, k, v, key_mask):
        _, weights = solutions.attention(q, k, v)
        weights = weights * key_mask[:, None, :]
        return weights @ v, weights

    _wrong(attention.check_masked_attention, masked_after_softmax, hint="rows of your attention")


def test_rollout_hints():
    def raw_product(maps):
        result = maps[0].mean(1)
        for block in maps[1:]:
            result = block.mean(1) @ result
        return result

    def first_on_the_left(maps):
        eye = torch.eye(maps[0].shape[-1])
        result = eye.expand(maps[0].shape[0], -1, -1)
        for block in maps:
            result = result @ (0.5 * block.mean(1) + 0.5 * eye)
        return result

    def not_halved(maps):
        eye = torch.eye(maps[0].shape[-1])
        result = eye.expand(maps[0].shape[0], -1, -1)
        for block in maps:
            result = (block.mean(1) + eye) @ result
        return result

    def per_head(maps):
        eye = torch.eye(maps[0].shape[-1])
        result = eye
        for block in maps:
            result = (0.5 * block + 0.5 * eye) @ result
        return result

    _wrong(attention.check_rollout, raw_product, hint="residual connection")
    _wrong(attention.check_rollout, first_on_the_left, hint="order is reversed")
    _wrong(attention.check_rollout, not_halved, hint="rows summing to 2")
    _wrong(attention.check_rollout, per_head, hint="average the heads")


def test_the_occlusion_reading_is_checked_against_the_curve():
    curve = OcclusionCurve(ks=(2, 8), clean=0.9, top=np.array([0.5, 0.1]),
                           others=np.array([[0.9, 0.8, 0.85], [0.6, 0.9, 0.7]]),
                           top_patches=torch.arange(8))
    right = attention.check_occlusion_reading(curve, 8, 0.1, 0.7, True)
    assert right.correct and "points at evidence" in right.message, repr(right)
    wrong = attention.check_occlusion_reading(curve, 8, 0.1, 0.9, True)
    assert wrong.status == "wrong" and "median" in wrong.hint
    blind = OcclusionCurve(ks=(2,), clean=0.9, top=np.array([0.7]), others=np.array([[0.6, 0.9]]),
                           top_patches=torch.arange(2))
    assert attention.check_occlusion_reading(blind, 2, 0.7, 0.75, False).correct
    assert "lowest value" in attention.check_occlusion_reading(blind, 2, 0.7, 0.75, True).hint
    assert attention.check_occlusion_reading(curve, 8, ..., ..., ...).status == "not attempted"
    assert "not one of" in attention.check_occlusion_reading(curve, 4, 0.1, 0.7, True).message


def test_the_mask_reference_agrees_with_pytorch():
    q, k, v, key_mask = attention.MASK_CASES[0].args
    ours, weights = scaled_dot_product(q, k, v, mask=key_mask[:, None, :])
    fused = F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask[:, None, :])
    assert torch.allclose(ours, fused, atol=1e-5)
    assert torch.all(weights[1, :, 3:] == 0)  # the padded keys of clip 2


# ---------------------------------------------------------------------------- notebook 04


def test_the_reference_split_passes_its_own_checks():
    assert folds.check_fold_split(folds.reference_split).status == "correct"


def test_fold_split_hints():
    def clip_level(folds_, targets, sources, test_fold, val_fraction):
        rest = np.flatnonzero(folds_ != test_fold)
        val = np.random.default_rng(0).choice(rest, size=round(val_fraction * rest.size), replace=False)
        return np.setdiff1d(rest, val), np.sort(val), np.flatnonzero(folds_ == test_fold)

    def test_fold_trains(folds_, targets, sources, test_fold, val_fraction):
        train, val, test = solutions.split_by_source(folds_, targets, sources, test_fold, val_fraction)
        return np.union1d(train, test), val, test

    def one_class_validates(folds_, targets, sources, test_fold, val_fraction):
        rest = np.flatnonzero(folds_ != test_fold)
        is_val = np.isin(sources[rest], np.unique(sources[rest])[: round(val_fraction * rest.size / 2)])
        return rest[~is_val], rest[is_val], np.flatnonzero(folds_ == test_fold)

    _wrong(folds.check_fold_split, clip_level, hint="recording is leaking")
    _wrong(folds.check_fold_split, test_fold_trains, hint="disjoint", message="two parts at once")
    _wrong(folds.check_fold_split, one_class_validates, hint="stratify")


def test_macro_f1_hints():
    def accuracy(confusion):
        return np.trace(confusion) / confusion.sum()

    def nan_on_empty_classes(confusion):
        hits = np.diag(confusion)
        with np.errstate(divide="ignore", invalid="ignore"):
            p, r = hits / confusion.sum(0), hits / confusion.sum(1)
            return float(np.mean(2 * p * r / (p + r)))

    def f1_of_averages(confusion):
        hits = np.diag(confusion).astype(float)
        p = np.divide(hits, confusion.sum(0), out=np.zeros_like(hits), where=confusion.sum(0) > 0)
        r = np.divide(hits, confusion.sum(1), out=np.zeros_like(hits), where=confusion.sum(1) > 0)
        return 2 * p.mean() * r.mean() / (p.mean() + r.mean())

    def present_classes_only(confusion):  # sklearn's f1_score(average="macro") without labels=
        present = (confusion.sum(0) + confusion.sum(1)) > 0
        return float(np.mean([_f1_of(confusion, c) for c in np.flatnonzero(present)]))

    def size_weighted(confusion):
        return float(np.average([_f1_of(confusion, c) for c in range(len(confusion))],
                                weights=confusion.sum(1)))

    _wrong(folds.check_macro_f1, present_classes_only, hint="only the classes present",
           message="class 2 absent")
    _wrong(folds.check_macro_f1, size_weighted, hint="weighted classes by their size")
    _wrong(folds.check_macro_f1, accuracy, hint="that is accuracy")
    _wrong(folds.check_macro_f1, nan_on_empty_classes, hint="divides 0 by 0", message="got nan")
    _wrong(folds.check_macro_f1, f1_of_averages, hint="F1 per class first")


def _f1_of(confusion: np.ndarray, c: int) -> float:
    """Class ``c``'s F1 from a confusion matrix (rows true), 0 where it is 0/0."""
    hits, predicted, actual = confusion[c, c], confusion[:, c].sum(), confusion[c].sum()
    return 0.0 if hits == 0 else 2 * hits / (predicted + actual)
