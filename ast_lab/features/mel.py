"""Mel filterbanks: the mel scales, the triangular filters over FFT bins, and applying them.

A filterbank is float32 ``(n_mels, K)`` with K = n_fft//2 + 1 rfft bins, bin k at
k * sample_rate / n_fft Hz. ``apply_mel_filterbank`` is the readable matrix product;
``mel_blocks`` + ``apply_mel_blocks`` compute the same sums faster (``fbank`` uses them).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch

from ast_lab.config import FbankConfig

from .settings import check_config, fmax_hz

Tensor = torch.Tensor

# Slaney's mel scale (Auditory Toolbox, as librosa): linear below 1 kHz, logarithmic above.
SLANEY_HZ_PER_MEL = 200.0 / 3.0  # 15 mels at 1 kHz
SLANEY_LOG_START_HZ = 1000.0
SLANEY_LOG_START_MEL = SLANEY_LOG_START_HZ / SLANEY_HZ_PER_MEL
SLANEY_LOG_STEP = math.log(6.4) / 27.0  # 27 mels per factor of 6.4 in frequency


# ---------------------------------------------------------------------------- mel scale


def hz_to_mel(freq: float | np.ndarray, scale: str) -> np.ndarray:
    """Frequency in Hz -> mel, float64, same shape.

    htk: 2595 * log10(1 + f/700) (= Kaldi's 1127 * ln(1 + f/700)); slaney: f / (200/3) below
    1 kHz, then 15 + ln(f / 1000) / (ln(6.4) / 27).
    """
    f = np.asarray(freq, dtype=np.float64)
    if scale == "htk":
        return 2595.0 * np.log10(1.0 + f / 700.0)
    if scale == "slaney":
        octaves = np.log(np.maximum(f, SLANEY_LOG_START_HZ) / SLANEY_LOG_START_HZ)  # 0 below 1 kHz
        log_part = SLANEY_LOG_START_MEL + octaves / SLANEY_LOG_STEP
        return np.where(f >= SLANEY_LOG_START_HZ, log_part, f / SLANEY_HZ_PER_MEL)
    raise ValueError(f"unknown mel scale {scale!r}; choose 'htk' or 'slaney'")


def mel_to_hz(mel: float | np.ndarray, scale: str) -> np.ndarray:
    """Mel -> frequency in Hz, float64, same shape; the inverse of ``hz_to_mel``."""
    m = np.asarray(mel, dtype=np.float64)
    if scale == "htk":
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    if scale == "slaney":
        above = np.maximum(m, SLANEY_LOG_START_MEL) - SLANEY_LOG_START_MEL  # 0 below 15 mel
        log_part = SLANEY_LOG_START_HZ * np.exp(SLANEY_LOG_STEP * above)
        return np.where(m >= SLANEY_LOG_START_MEL, log_part, m * SLANEY_HZ_PER_MEL)
    raise ValueError(f"unknown mel scale {scale!r}; choose 'htk' or 'slaney'")


def mel_band_edges(cfg: FbankConfig) -> np.ndarray:
    """The n_mels + 2 band edges in Hz, equally spaced in mel from fmin to fmax, ``(n_mels + 2,)``.

    Filter m rises from edge m to edge m+1 (its centre, where it peaks) and falls to edge m+2.
    """
    return mel_to_hz(mel_band_edges_in_mel(cfg), cfg.mel_scale)


def mel_band_edges_in_mel(cfg: FbankConfig) -> np.ndarray:
    """The same n_mels + 2 band edges in mel, ``(n_mels + 2,)``."""
    lowest, highest = hz_to_mel(cfg.fmin, cfg.mel_scale), hz_to_mel(fmax_hz(cfg), cfg.mel_scale)
    return np.linspace(lowest, highest, cfg.n_mels + 2)


# ---------------------------------------------------------------------------- the filters


def triangular_filters(freqs_hz: np.ndarray, cfg: FbankConfig) -> np.ndarray:
    """The mel filters at any frequencies: ``(n_freqs,)`` Hz -> weights ``(n_mels, n_freqs)``.

    mel_domain="hz" (librosa): each triangle is linear in Hz between its edges.
    mel_domain="mel" (Kaldi): linear in mel, i.e. positions and edges both mapped to mel first.
    Peaks are 1 at the centres; with mel_norm="slaney" each filter is scaled by
    2 / (right edge - left edge in Hz) so that its area (in Hz) is 1.
    """
    edges_hz = mel_band_edges(cfg)  # (n_mels + 2,)
    freqs_hz = np.asarray(freqs_hz, dtype=np.float64)
    if cfg.mel_domain == "mel":
        edges, positions = mel_band_edges_in_mel(cfg), hz_to_mel(freqs_hz, cfg.mel_scale)
    else:
        edges, positions = edges_hz, freqs_hz
    left, centre, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]  # (n_mels, 1)
    rising = (positions - left) / (centre - left)  # (n_mels, n_freqs)
    falling = (right - positions) / (right - centre)  # (n_mels, n_freqs)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    if cfg.mel_norm == "slaney":
        weights *= (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, None]
    return weights


def mel_filterbank(cfg: FbankConfig) -> Tensor:
    """The mel filterbank for the rfft bins of ``cfg``, float32 ``(n_mels, n_fft//2 + 1)``.

    Row m weights FFT bin k (at k * sample_rate / n_fft Hz). Built in float64, rounded once.
    Kaldi leaves out the Nyquist bin; since the top filter ends at fmax <= Nyquist its weight
    there is 0 anyway, so no special case is needed. Warns (UserWarning, as librosa) when a
    filter covers no FFT bin at all, which happens with many mels and a short FFT.
    """
    check_config(cfg)
    freqs = np.fft.rfftfreq(cfg.n_fft, d=1.0 / cfg.sample_rate)  # (n_fft//2 + 1,) Hz
    weights = torch.from_numpy(triangular_filters(freqs, cfg)).float()
    warn_about_empty_filters(empty_filters(weights))
    return weights


def empty_filters(filterbank: Tensor) -> list[int]:
    """The rows of ``filterbank`` ``(n_mels, K)`` that weight no FFT bin."""
    return (filterbank.amax(dim=1) <= 0).nonzero().flatten().tolist()


def warn_about_empty_filters(empty: list[int]) -> None:
    """librosa's UserWarning for filters that cover no FFT bin; nothing when ``empty`` is []."""
    if empty:
        warnings.warn(
            f"Empty filters detected in mel frequency basis (filters {empty} cover no FFT bin); "
            "they will output zero. Use fewer n_mels, a larger n_fft, or a wider fmin..fmax.",
            UserWarning,
            stacklevel=3,
        )


# ---------------------------------------------------------------------------- applying them


def apply_mel_filterbank(spectrum: Tensor, filterbank: Tensor) -> Tensor:
    """Mel energies ``(batch, n_mels, frames)`` from ``(batch, frames, K)`` and ``(n_mels, K)``."""
    return torch.matmul(filterbank, spectrum.transpose(-1, -2))  # (batch, n_mels, frames)


# The fast path of ``apply_mel_filterbank``: each triangle is non-zero only between its edges, so
# ~98% of a 128 x 257 filterbank is zeros. Blocks of consecutive filters multiply only the FFT
# bins they touch: the same sums with ~8x fewer multiply-adds (tests check the two agree).
MEL_BLOCK_FILTERS = 16

MelBlock = tuple[slice, slice, Tensor]  # (filters, FFT bins, weights (bins, filters))


def mel_blocks(filterbank: Tensor, filters_per_block: int = MEL_BLOCK_FILTERS) -> list[MelBlock]:
    """Split ``(n_mels, K)`` into blocks of consecutive filters with the bin range each touches.

    Blocks whose filters are all zero are left out (their mel energies are 0).
    """
    blocks = []
    for start in range(0, filterbank.shape[0], filters_per_block):
        filters = slice(start, min(start + filters_per_block, filterbank.shape[0]))
        used_bins = filterbank[filters].ne(0).any(dim=0).nonzero().flatten()  # (n_used,)
        if used_bins.numel() > 0:
            bins = slice(used_bins[0].item(), used_bins[-1].item() + 1)
            blocks.append((filters, bins, filterbank[filters, bins].T.contiguous()))
    return blocks


def apply_mel_blocks(spectrum: Tensor, blocks: list[MelBlock], n_mels: int) -> Tensor:
    """The same as ``apply_mel_filterbank``, from ``mel_blocks`` of the filterbank.

    ``(batch, frames, K) -> (batch, n_mels, frames)``.
    """
    *batch, n_bins = spectrum.shape
    flat = spectrum.reshape(-1, n_bins)  # (batch * frames, K)
    mel = flat.new_zeros(flat.shape[0], n_mels)  # (batch * frames, n_mels)
    for filters, bins, weights in blocks:
        torch.matmul(flat[:, bins], weights, out=mel[:, filters])
    return mel.view(*batch, n_mels).transpose(-1, -2)  # (batch, n_mels, frames)
