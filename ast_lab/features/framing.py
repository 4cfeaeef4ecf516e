"""Framing and windows: how a waveform ``(batch, samples)`` becomes frames ``(batch, frames, W)``.

Frame arithmetic (``num_frames``, ``frame_starts``, ``frames_for_seconds``), the analysis
windows, and the per-frame steps Kaldi runs before the FFT (dither, DC removal, pre-emphasis).

* ``center=True`` (librosa) pads n_fft//2 samples at both ends and frame t covers the window
  centred on sample t*hop. ``center=False`` is Kaldi's ``snip_edges``: frame t starts at sample
  t*hop and spans W samples; the tail that does not fill a window is dropped. (librosa's own
  ``center=False`` spans n_fft samples instead, so it agrees with ours only when W == n_fft.)
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ast_lab.config import FbankConfig

from .settings import WINDOWS, check_config

Tensor = torch.Tensor

POVEY_EXPONENT = 0.85  # Kaldi's "povey" window: a Hann window raised to 0.85


# ---------------------------------------------------------------------------- frame arithmetic


def num_frames(n_samples: int, win_length: int, hop_length: int, n_fft: int, center: bool) -> int:
    """Number of frames in a signal of ``n_samples``.

    center=True (librosa): the signal is padded by n_fft//2 at both ends and frames of n_fft
    samples are taken every hop: ``1 + (n_samples + 2*(n_fft//2) - n_fft) // hop``
    (``1 + n_samples // hop`` for even n_fft; 5 s at 16 kHz, hop 160 -> 501).
    center=False (Kaldi snip_edges): ``1 + (n_samples - win_length) // hop`` (-> 498).
    """
    for name, value in (("win_length", win_length), ("hop_length", hop_length), ("n_fft", n_fft)):
        if value <= 0:
            raise ValueError(f"{name} must be positive, got {value}")
    if win_length > n_fft:
        raise ValueError(f"win_length={win_length} is longer than n_fft={n_fft}")
    if n_samples < win_length:
        raise ValueError(
            f"signal of {n_samples} samples is shorter than one window ({win_length} samples)"
        )
    if center:
        return 1 + (n_samples + 2 * (n_fft // 2) - n_fft) // hop_length
    return 1 + (n_samples - win_length) // hop_length


def frame_starts(
    n_frames: int, win_length: int, hop_length: int, n_fft: int, center: bool
) -> np.ndarray:
    """First sample of each of ``n_frames`` frames in the unpadded signal, int64 ``(n_frames,)``.

    center=False (snip_edges): ``t * hop``. center=True: the window sits in the middle of an
    n_fft span centred on sample ``t * hop``, so it starts at ``t * hop - n_fft//2 +
    (n_fft - W)//2``; negative starts reach into the padding (as ``frame_signal`` cuts them).
    """
    offset = (n_fft - win_length) // 2 - n_fft // 2 if center else 0
    return np.arange(n_frames, dtype=np.int64) * hop_length + offset


def paper_target_frames(n_frames: int) -> int:
    """The next power of two >= n_frames.

    The AST pads to a fixed length per dataset (its recipes' ``target_length``), not to a
    computed one; for AudioSet (10 s: 998 Kaldi frames -> 1024) and ESC-50 (5 s: 498 -> 512)
    that fixed length happens to be this power of two.
    """
    if n_frames <= 0:
        raise ValueError(f"n_frames must be positive, got {n_frames}")
    return 1 << (n_frames - 1).bit_length()


def frames_for_seconds(seconds: float, cfg: FbankConfig) -> int:
    """Width (frames) of ``fbank(..., cfg)`` for a clip of ``seconds`` at ``cfg.sample_rate``.

    That is ``cfg.target_frames`` when it is set (fbank pads or crops to it), otherwise the raw
    ``num_frames`` of ``round(seconds * sample_rate)`` samples.
    """
    if cfg.target_frames is not None:
        return cfg.target_frames
    n_samples = int(round(seconds * cfg.sample_rate))
    return num_frames(n_samples, cfg.win_length, cfg.hop_length, cfg.n_fft, cfg.center)


# ---------------------------------------------------------------------------- windows


def window_function(name: str, length: int, *, periodic: bool) -> Tensor:
    """A taper of ``length`` samples, float64 ``(length,)``.

    hann: 0.5 - 0.5 cos(2 pi n / D); hamming: 0.54 - 0.46 cos(2 pi n / D); povey (Kaldi):
    hann ** 0.85; rectangular: ones. D = length for a periodic window (one period of a
    length-periodic cosine, scipy's ``fftbins=True``, librosa's choice) and length - 1 for a
    symmetric one (first and last samples equal; numpy's ``np.hanning``, Kaldi's choice).
    """
    if name not in WINDOWS:
        raise ValueError(f"unknown window {name!r}; choose one of {WINDOWS}")
    if length <= 0:
        raise ValueError(f"window length must be positive, got {length}")
    if name == "rectangular" or length == 1:
        return torch.ones(length, dtype=torch.float64)
    period = length if periodic else length - 1
    n = torch.arange(length, dtype=torch.float64)  # (length,)
    cosine = torch.cos(2 * math.pi * n / period)  # (length,)
    if name == "hamming":
        return 0.54 - 0.46 * cosine
    hann = 0.5 - 0.5 * cosine
    return hann.pow(POVEY_EXPONENT) if name == "povey" else hann


def make_window(cfg: FbankConfig) -> Tensor:
    """The analysis window of ``cfg``, float64 ``(win_length,)`` (the FFT runs in float64)."""
    check_config(cfg)
    return window_function(cfg.window, cfg.win_length, periodic=cfg.periodic)


# ---------------------------------------------------------------------------- frames


def frame_signal(
    waveforms: Tensor,
    win_length: int,
    hop_length: int,
    *,
    n_fft: int,
    center: bool,
    pad_mode: str = "constant",
) -> Tensor:
    """Cut ``(batch, samples)`` waveforms into overlapping frames ``(batch, frames, win_length)``.

    center=True (librosa): pad n_fft//2 samples at each end (zeros, or a mirror image for
    "reflect") and take W samples every hop, starting (n_fft - W)//2 into each n_fft span, where
    librosa places its window. center=False (Kaldi snip_edges): frame t is samples
    [t*hop, t*hop + W). The result is a strided view when no padding is needed.
    """
    n_samples = waveforms.shape[-1]
    n_frames = num_frames(n_samples, win_length, hop_length, n_fft, center)
    start = 0
    if center:
        half = n_fft // 2
        if pad_mode == "reflect" and n_samples <= half:
            raise ValueError(f"reflect padding needs more than {half} samples, got {n_samples}")
        waveforms = F.pad(waveforms, (half, half), mode=pad_mode)  # (batch, samples + 2*half)
        start = (n_fft - win_length) // 2
    frames = waveforms[..., start:].unfold(-1, win_length, hop_length)  # (batch, >=frames, W)
    return frames[..., :n_frames, :]


def add_dither(frames: Tensor, std: float) -> Tensor:
    """Add Gaussian noise of ``std`` (waveform units) to every sample, as Kaldi's ``dither``."""
    return frames + std * torch.randn_like(frames) if std > 0 else frames


def remove_dc_offset(frames: Tensor) -> Tensor:
    """Subtract each frame's mean: ``(..., W) -> (..., W)``."""
    return frames - frames.mean(dim=-1, keepdim=True)


def preemphasize(frames: Tensor, coefficient: float) -> Tensor:
    """First-order high-pass within each frame: y[j] = x[j] - k x[j-1] and y[0] = (1-k) x[0].

    ``(..., W) -> (..., W)``. Like Kaldi, this repeats each frame's first sample as its own
    predecessor, so frames stay independent of their neighbours.
    """
    previous = torch.cat([frames[..., :1], frames[..., :-1]], dim=-1)  # (..., W)
    return frames - coefficient * previous
