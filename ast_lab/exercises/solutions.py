"""Worked solutions to the notebooks' exercises. Try the exercise first!

Each is written the way a learner would write it, from the notebook's text alone; the package
holds the reference implementations the graders compare with (``tests/test_exercises.py``
runs every solution through its grader).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ast_lab.config import FbankConfig

# ---------------------------------------------------------------------------- notebook 01


def frame_count(n_samples: int, win_length: int, hop_length: int, n_fft: int, center: bool) -> int:
    """Frames of a signal: librosa's centred frames, or Kaldi's snip-edges ones."""
    if center:  # n_fft // 2 zeros at each end, frames of n_fft samples
        return 1 + (n_samples + 2 * (n_fft // 2) - n_fft) // hop_length
    return 1 + (n_samples - win_length) // hop_length  # frames of win_length from sample 0


def hz_to_mel_htk(freq_hz: np.ndarray) -> np.ndarray:
    """HTK's mel scale, element by element."""
    return 2595.0 * np.log10(1.0 + np.asarray(freq_hz, dtype=np.float64) / 700.0)


def triangular_filter(freqs_hz: np.ndarray, left_hz: float, centre_hz: float, right_hz: float) -> np.ndarray:
    """One mel filter at ``freqs_hz (n,)``: 0 outside (left, right), 1 at the centre."""
    rising = (freqs_hz - left_hz) / (centre_hz - left_hz)
    falling = (right_hz - freqs_hz) / (right_hz - centre_hz)
    return np.maximum(0.0, np.minimum(rising, falling))


def window_config(cfg: FbankConfig, win_ms: float) -> FbankConfig:
    """``cfg`` with a ``win_ms`` window and the smallest power-of-two FFT that holds it."""
    win_length = round(win_ms * cfg.sample_rate / 1000)
    n_fft = 1
    while n_fft < win_length:
        n_fft *= 2
    return dataclasses.replace(cfg, win_ms=win_ms, n_fft=n_fft)


# the window experiment, read off its table (the shortest window showing two tones, the longest
# showing two clicks)
TWO_TONES_FROM_MS, TWO_CLICKS_UP_TO_MS = 64.0, 32.0


# ---------------------------------------------------------------------------- notebook 02


def patch_count(n_mels: int, n_frames: int, patch_size: int, fstride: int, tstride: int) -> tuple[int, int]:
    """(frequency patches, time patches): a patch starts wherever a whole one still fits."""
    return (n_mels - patch_size) // fstride + 1, (n_frames - patch_size) // tstride + 1


def patches_by_unfold(spec: Tensor, patch_size: int, fstride: int, tstride: int) -> Tensor:
    """``(B, n_mels, frames) -> (B, N, patch_size**2)``, frequency-major token order."""
    columns = F.unfold(spec[:, None], kernel_size=patch_size, stride=(fstride, tstride))  # (B, p*p, N)
    return columns.transpose(1, 2)  # (B, N, p*p)


def growth_exponent(tokens: np.ndarray, seconds: np.ndarray) -> float:
    """``a`` in ``seconds ∝ tokens ** a``: the slope of the log-log points, by least squares."""
    return float(np.polyfit(np.log(tokens), np.log(seconds), 1)[0])


def tokens(patches: Tensor, cls_token: Tensor, dist_token: Tensor, pos_embed: Tensor) -> Tensor:
    """``(B, N, D)`` patches -> ``(B, 2 + N, D)``: [CLS], [DIST], patches, plus positions."""
    B = patches.shape[0]
    sequence = torch.cat([cls_token.expand(B, -1, -1), dist_token.expand(B, -1, -1), patches], dim=1)
    return sequence + pos_embed


# ---------------------------------------------------------------------------- notebook 03


def attention(q: Tensor, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
    """``softmax(q kᵀ / √d) v`` for ``(..., T, d)`` inputs; returns (out, weights)."""
    weights = (q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])).softmax(dim=-1)  # (..., T, T)
    return weights @ v, weights


def split(x: Tensor, num_heads: int) -> Tensor:
    """``(B, T, C) -> (B, nh, T, C // nh)``."""
    B, T, C = x.shape
    return x.view(B, T, num_heads, C // num_heads).transpose(1, 2)


def merge(y: Tensor) -> Tensor:
    """``(B, nh, T, hs) -> (B, T, nh * hs)``."""
    B, nh, T, hs = y.shape
    return y.transpose(1, 2).reshape(B, T, nh * hs)


def masked_attention(q: Tensor, k: Tensor, v: Tensor, key_mask: Tensor) -> tuple[Tensor, Tensor]:
    """Attention in which no query attends to a padded key (``key_mask`` False)."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, T, T)
    scores = scores.masked_fill(~key_mask[:, None, :], float("-inf"))
    weights = scores.softmax(dim=-1)
    return weights @ v, weights


def rollout(maps: list[Tensor]) -> Tensor:
    """Attention rollout: ``depth x (B, nh, T, T) -> (B, T, T)``, the first block applied first."""
    B, _, T, _ = maps[0].shape
    identity = torch.eye(T)
    result = identity.expand(B, T, T)
    for block in maps:
        result = (0.5 * block.mean(dim=1) + 0.5 * identity) @ result
    return result


# ---------------------------------------------------------------------------- notebook 04


def split_by_source(folds: np.ndarray, targets: np.ndarray, sources: np.ndarray, test_fold: int,
                    val_fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Test = the test fold; validation = about ``val_fraction`` of each class's recordings."""
    rng = np.random.default_rng(seed)
    test = np.flatnonzero(folds == test_fold)
    rest = np.flatnonzero(folds != test_fold)
    val_sources = []
    for target in np.unique(targets[rest]):
        recordings = np.unique(sources[rest][targets[rest] == target])
        n_val = max(1, round(val_fraction * len(recordings)))
        val_sources.extend(rng.choice(recordings, size=n_val, replace=False))
    is_val = np.isin(sources[rest], val_sources)
    return rest[~is_val], rest[is_val], test


def macro_f1(confusion: np.ndarray) -> float:
    """Mean over classes of per-class F1; a 0/0 counts as 0."""
    hits = np.diag(confusion).astype(float)
    predicted, actual = confusion.sum(axis=0), confusion.sum(axis=1)
    precision = np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0)
    recall = np.divide(hits, actual, out=np.zeros_like(hits), where=actual > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(hits), where=both > 0)
    return float(f1.mean())


# ---------------------------------------------------------------------------- notebook 05


def sum_rgb(weight: Tensor) -> Tensor:
    """``(D, 3, p, p) -> (D, 1, p, p)``: a grey image gives the same tokens through the sum."""
    return weight.sum(dim=1, keepdim=True)


def fit_axis(image: Tensor, size: int, axis: int) -> Tensor:
    """``(1, D, F, T)``, one axis to ``size`` cells: its middle cells, or a bilinear stretch."""
    old = image.shape[axis]
    if size <= old:
        return image.narrow(axis, old // 2 - size // 2, size)
    target = list(image.shape[-2:])
    target[axis] = size
    return F.interpolate(image, size=tuple(target), mode="bilinear", align_corners=False)


def fit_grid(pos_embed: Tensor, old_grid: tuple[int, int], new_grid: tuple[int, int]) -> Tensor:
    """``(1, 2 + Fo*To, D) -> (1, 2 + Fn*Tn, D)``: time first, then frequency; prefix kept."""
    prefix, cells = pos_embed[:, :2], pos_embed[:, 2:]
    dim = pos_embed.shape[-1]
    image = cells.reshape(1, *old_grid, dim).permute(0, 3, 1, 2)  # (1, D, Fo, To)
    image = fit_axis(fit_axis(image, new_grid[1], -1), new_grid[0], -2)  # (1, D, Fn, Tn)
    return torch.cat([prefix, image.flatten(2).transpose(1, 2)], dim=1)
