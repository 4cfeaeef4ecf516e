"""What an ``FbankConfig`` may hold, checked before any stage runs, and what follows from it.

Every stage that takes a config (``make_window``, ``mel_filterbank``, ``fbank``) calls
``check_config`` first, so a bad field fails with its name rather than deep inside a tensor op.
"""

from __future__ import annotations

import torch

from ast_lab.config import FbankConfig

Tensor = torch.Tensor

WINDOWS = ("hann", "hamming", "povey", "rectangular")

# The fields with a fixed set of values, and those values.
CHOICES = {
    "window": WINDOWS,
    "pad_mode": ("constant", "reflect"),
    "mel_scale": ("htk", "slaney"),
    "mel_norm": (None, "slaney"),
    "mel_domain": ("hz", "mel"),
    "log": ("db", "ln", "none"),
    "normalize": ("none", "per_sample", "dataset"),
}


def fmax_hz(cfg: FbankConfig) -> float:
    """The top edge of the highest mel filter in Hz: ``cfg.fmax``, or Nyquist when None."""
    return cfg.nyquist if cfg.fmax is None else cfg.fmax


def check_config(cfg: FbankConfig) -> None:
    """Raise ValueError naming the first FbankConfig field that cannot work."""
    for name in ("sample_rate", "n_fft", "n_mels"):
        value = getattr(cfg, name)
        if int(value) != value or value <= 0:
            raise ValueError(f"FbankConfig.{name} must be a positive integer, got {value!r}")
    for name, ms in (("win_length", cfg.win_ms), ("hop_length", cfg.hop_ms)):
        if getattr(cfg, name) <= 0:
            raise ValueError(
                f"FbankConfig {name} must be positive: {ms} ms at {cfg.sample_rate} Hz "
                f"is {getattr(cfg, name)} samples"
            )
    if cfg.win_length > cfg.n_fft:
        raise ValueError(
            f"window ({cfg.win_length} samples = {cfg.win_ms} ms) is longer than n_fft={cfg.n_fft}"
        )
    fmax = fmax_hz(cfg)
    if fmax > cfg.nyquist:
        raise ValueError(f"fmax={fmax} Hz is above the Nyquist frequency {cfg.nyquist} Hz")
    if not 0.0 <= cfg.fmin < fmax:
        raise ValueError(f"need 0 <= fmin < fmax, got fmin={cfg.fmin} Hz, fmax={fmax} Hz")
    for name, allowed in CHOICES.items():
        if getattr(cfg, name) not in allowed:
            raise ValueError(f"FbankConfig.{name}={getattr(cfg, name)!r}; choose one of {allowed}")
    if cfg.power <= 0:
        raise ValueError(f"FbankConfig.power must be positive, got {cfg.power}")
    if cfg.amin <= 0 or cfg.log_floor <= 0:
        raise ValueError(f"amin and log_floor must be positive, got {cfg.amin}, {cfg.log_floor}")
    if cfg.top_db is not None and cfg.top_db < 0:
        raise ValueError(f"top_db must be None or >= 0, got {cfg.top_db}")
    if not 0.0 <= cfg.preemphasis <= 1.0:
        raise ValueError(f"preemphasis must be in [0, 1], got {cfg.preemphasis}")
    if cfg.dither < 0:
        raise ValueError(f"dither must be >= 0, got {cfg.dither}")
    if cfg.target_frames is not None and cfg.target_frames <= 0:
        raise ValueError(f"target_frames must be None or positive, got {cfg.target_frames}")


def check_waveforms(waveforms: Tensor, cfg: FbankConfig) -> None:
    """Raise ValueError unless ``waveforms`` ``(batch, samples)`` can be framed with ``cfg``."""
    batch, n_samples = waveforms.shape
    if batch == 0 or n_samples == 0:
        raise ValueError(f"empty waveform batch of shape {tuple(waveforms.shape)}")
    if n_samples < cfg.win_length:
        raise ValueError(
            f"signal of {n_samples} samples is shorter than one window "
            f"({cfg.win_length} samples = {cfg.win_ms} ms at {cfg.sample_rate} Hz)"
        )
    # The sum is finite whenever every sample is, and one reduction is far cheaper than isfinite
    # on every sample; only a non-finite sum (a bad sample, or overflow) needs a closer look.
    if not torch.isfinite(waveforms.sum()) and not torch.isfinite(waveforms).all():
        raise ValueError("waveform contains NaN or Inf samples")
