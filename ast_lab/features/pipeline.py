"""The FBANK pipeline: waveforms -> frames -> window -> |FFT|^p -> mel filterbank -> log.

Notebook 01 (``01_stft_to_logmel``) calls the steps one by one and plots each; ``fbank`` chains
them. Everything is batched torch and runs wherever the input tensor lives (CPU or CUDA).

Shapes and units at each step (B clips, N samples, F frames, W = win_length, K = n_fft//2 + 1,
M = n_mels):

    waveforms             (B, N)     float32 in [-1, 1], see ``audio.as_float_waveform``
    frame_signal          (B, F, W)  librosa centring or Kaldi snip_edges (``framing``)
    remove_dc_offset,     (B, F, W)  optional, in Kaldi's order (DC removal first)
      preemphasize
    power_spectrum        (B, F, K)  |rfft(frame * window, n_fft)|^power; bin k at k*sr/n_fft Hz
    apply_mel_filterbank  (B, M, F)  mel power; filterbank (M, K) of triangles (``mel``)
    to_log                (B, M, F)  dB (10 log10, ``top_db`` clip) or natural log (floored)
    pad_or_crop_frames    (B, M, T)  T = target_frames; then ``normalize`` (``normalization``)

Zero-padding a windowed frame to ``n_fft`` only multiplies its spectrum by a phase (|X| is
unchanged by where the W samples sit in the n_fft buffer), so frames keep their W samples and
``power_spectrum`` zero-pads them at the end. librosa centres the window in the n_fft frame,
Kaldi pads on the right: same power spectrum.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from typing import Optional

import numpy as np
import torch

from ast_lab.audio import as_float_waveform
from ast_lab.config import FbankConfig

from .framing import add_dither, frame_signal, make_window, num_frames, preemphasize
from .framing import remove_dc_offset
from .mel import MelBlock, apply_mel_blocks, empty_filters, mel_blocks, mel_filterbank
from .mel import warn_about_empty_filters
from .normalization import normalize
from .settings import check_config, check_waveforms

Tensor = torch.Tensor


# ---------------------------------------------------------------------------- spectrum, log, width


def power_spectrum(
    frames: Tensor,
    window: Tensor,
    n_fft: int,
    power: float = 2.0,
    *,
    padded: Optional[Tensor] = None,
) -> Tensor:
    """|rfft(frame * window, n_fft)| ** power: ``(batch, frames, W) -> (batch, frames, K)``.

    K = n_fft//2 + 1. Frames are zero-padded at the end to n_fft; bin k is at
    k * sample_rate / n_fft Hz. power=2 gives power, power=1 magnitude, in waveform units
    (unnormalised: a unit-amplitude sine on a bin gives (sum(window) / 2) ** 2). Windowing and
    FFT run in float64, then the spectrum is rounded to float32 (as librosa's complex64 STFT): in
    float32 the FFT's rounding noise sits only ~160 dB below each frame's strongest bin, enough
    to move bins 75 dB down by ~0.002 dB (librosa's float64 window makes its FFT float64 too).

    ``padded`` is an optional float64 ``(batch, frames, n_fft)`` buffer whose columns from W on
    are zeros; ``fbank`` passes the same one for every chunk of clips, so the zeros are written
    once. Without it a new one is made.
    """
    *batch, win_length = frames.shape
    if padded is None:
        padded = frames.new_zeros(*batch, n_fft, dtype=torch.float64)  # (batch, frames, n_fft)
    torch.mul(frames, window, out=padded[..., :win_length])  # faster than rfft(..., n=n_fft) here
    spectrum = torch.fft.rfft(padded)  # (batch, frames, K), complex128
    parts = torch.view_as_real(spectrum).float().square_()  # (batch, frames, K, 2): re^2, im^2
    squared = parts[..., 0] + parts[..., 1]  # (batch, frames, K)
    return squared if power == 2 else squared.pow(power / 2)


def to_log(
    mel: Tensor,
    kind: str = "db",
    *,
    top_db: Optional[float] = None,
    amin: float = 1e-10,
    log_floor: float = torch.finfo(torch.float32).eps,
) -> Tensor:
    """Compress mel energies ``(..., n_mels, frames)``; same shape.

    kind="db": 10 * log10(max(x, amin)) in dB re 1 (librosa ``power_to_db`` with ref=1.0); with
    ``top_db``, values more than top_db below each spectrogram's own maximum are raised to
    (max - top_db). kind="ln": natural log of max(x, log_floor) (Kaldi; floor = float32 eps).
    kind="none": unchanged.
    """
    if kind == "db":
        db = mel.clamp(min=amin).log10_().mul_(10.0)
        if top_db is None:
            return db
        return torch.maximum(db, db.amax(dim=(-2, -1), keepdim=True) - top_db)
    if kind == "ln":
        return mel.clamp(min=log_floor).log_()
    if kind == "none":
        return mel
    raise ValueError(f"unknown log kind {kind!r}; choose 'db', 'ln' or 'none'")


def pad_or_crop_frames(spec: Tensor, n_frames: int, pad_value: Optional[float] = None) -> Tensor:
    """Exactly ``n_frames`` frames: ``(..., n_mels, frames) -> (..., n_mels, n_frames)``.

    Longer spectrograms keep their first n_frames; shorter ones get frames of ``pad_value``
    appended at the end (None: each spectrogram's own minimum, i.e. "silence" in its units).
    """
    if n_frames <= 0:
        raise ValueError(f"n_frames must be positive, got {n_frames}")
    missing = n_frames - spec.shape[-1]
    if missing <= 0:
        return spec[..., :n_frames]
    if pad_value is None:
        fill = spec.amin(dim=(-2, -1), keepdim=True)  # (..., 1, 1)
    else:
        fill = torch.full((1, 1), pad_value, dtype=spec.dtype, device=spec.device)
    padding = fill.expand(*spec.shape[:-1], missing)  # (..., n_mels, missing)
    return torch.cat([spec, padding], dim=-1)


# ---------------------------------------------------------------------------- the whole FBANK

# Window and filterbank depend only on the config; build each once per (config, device).
@functools.lru_cache(maxsize=32)
def _cached_window(cfg_values: tuple, device: str) -> Tensor:
    return make_window(FbankConfig(*cfg_values)).to(device)  # (W,) float64


@functools.lru_cache(maxsize=32)
def _cached_mel_blocks(cfg_values: tuple, device: str) -> tuple[list[MelBlock], list[int]]:
    with warnings.catch_warnings():  # ``fbank`` warns on every call, not only the first
        warnings.simplefilter("ignore", UserWarning)
        bank = mel_filterbank(FbankConfig(*cfg_values))  # (M, K)
    return mel_blocks(bank.to(device)), empty_filters(bank)


def _cfg_values(cfg: FbankConfig) -> tuple:
    return tuple(getattr(cfg, field.name) for field in dataclasses.fields(cfg))


# fbank takes clips in chunks of about this many frames x n_fft values (one float64 FFT buffer
# of that size serves every chunk): on CPU 4 MB, so that the FFT's input and output stay in
# cache; on a GPU 512 MB, big enough to keep it busy and small enough not to run out of memory
# on long datasets.
CHUNK_VALUES = {"cpu": 2**19, "cuda": 2**26}


def log_mel(
    waveforms: Tensor,
    cfg: FbankConfig,
    window: Tensor,
    blocks: list[MelBlock],
    *,
    padded: Optional[Tensor] = None,
) -> Tensor:
    """The per-frame part of FBANK: ``(batch, samples)`` -> ``(batch, n_mels, frames)`` log-mel.

    ``padded``: a reusable FFT buffer, as ``power_spectrum`` takes it.
    """
    frames = frame_signal(
        waveforms, cfg.win_length, cfg.hop_length,
        n_fft=cfg.n_fft, center=cfg.center, pad_mode=cfg.pad_mode,
    )  # (B, F, W)
    frames = add_dither(frames, cfg.dither)
    if cfg.remove_dc:
        frames = remove_dc_offset(frames)
    if cfg.preemphasis > 0:
        frames = preemphasize(frames, cfg.preemphasis)
    spectrum = power_spectrum(frames, window, cfg.n_fft, cfg.power, padded=padded)  # (B, F, K)
    mel = apply_mel_blocks(spectrum, blocks, cfg.n_mels)  # (B, M, F)
    return to_log(mel, cfg.log, top_db=cfg.top_db, amin=cfg.amin, log_floor=cfg.log_floor)


def fbank(
    waveforms: np.ndarray | Tensor, cfg: FbankConfig, *, device: Optional[str | torch.device] = None
) -> Tensor:
    """Log-mel filterbank features of one or many clips.

    Args:
        waveforms: ``(batch, samples)`` or ``(samples,)``, numpy or torch, float in [-1, 1] or
            int16/int32 (scaled by their full scale).
        cfg: the feature settings; see ``FbankConfig.librosa_like`` / ``kaldi_like``.
        device: where to compute. Default: the input tensor's device (CPU for numpy).

    Returns:
        float32 ``(batch, n_mels, frames)`` (or ``(n_mels, frames)`` for 1-D input) in dB,
        natural log or linear power as ``cfg.log`` says, padded/cropped to ``cfg.target_frames``
        if set (before normalising, as AST does), then normalised as ``cfg.normalize`` says.
    """
    check_config(cfg)
    wave = as_float_waveform(waveforms)
    if wave.ndim not in (1, 2):
        raise ValueError(
            f"waveforms must be (samples,) or (batch, samples), got shape {tuple(wave.shape)}"
        )
    if device is not None:
        wave = wave.to(device)
    batch = wave if wave.ndim == 2 else wave.unsqueeze(0)  # (B, N)
    check_waveforms(batch, cfg)
    cfg_values, device_key = _cfg_values(cfg), str(batch.device)
    window = _cached_window(cfg_values, device_key)  # (W,)
    blocks, empty = _cached_mel_blocks(cfg_values, device_key)
    warn_about_empty_filters(empty)

    n_frames = num_frames(batch.shape[1], cfg.win_length, cfg.hop_length, cfg.n_fft, cfg.center)
    budget = CHUNK_VALUES.get(batch.device.type, CHUNK_VALUES["cpu"])
    chunk = min(len(batch), max(1, budget // (n_frames * cfg.n_fft)))  # clips per chunk
    padded = batch.new_zeros(chunk, n_frames, cfg.n_fft, dtype=torch.float64)  # FFT buffer
    parts = [log_mel(part, cfg, window, blocks, padded=padded[: len(part)])
             for part in batch.split(chunk)]
    spec = torch.cat(parts)  # (B, M, F)
    if cfg.target_frames is not None:
        spec = pad_or_crop_frames(spec, cfg.target_frames, cfg.pad_value)  # (B, M, T)
    spec = normalize(spec, cfg)
    return spec[0] if wave.ndim == 1 else spec
