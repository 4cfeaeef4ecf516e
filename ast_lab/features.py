"""Our FBANK: waveform -> frames -> window -> |FFT|^p -> mel filterbank -> log -> normalise.

Notebook 01 (``01_stft_to_logmel``) calls these steps one by one and plots each; ``fbank`` chains
them. Everything is batched torch and runs wherever the input tensor lives (CPU or CUDA).

Shapes and units at each step (B clips, N samples, F frames, W = win_length, K = n_fft//2 + 1,
M = n_mels):

    waveforms             (B, N)     float32 in [-1, 1], see ``audio.as_float_waveform``
    frame_signal          (B, F, W)  librosa centring or Kaldi snip_edges
    remove_dc_offset,     (B, F, W)  optional, in Kaldi's order (DC removal first)
      preemphasize
    power_spectrum        (B, F, K)  |rfft(frame * window, n_fft)|^power; bin k at k*sr/n_fft Hz
    apply_mel_filterbank  (B, M, F)  mel power; filterbank (M, K) of triangles over the bins
    to_log                (B, M, F)  dB (10 log10, ``top_db`` clip) or natural log (floored)
    pad_or_crop_frames    (B, M, T)  T = target_frames; then ``normalize``

Every choice that differs between librosa and Kaldi is a field of ``FbankConfig``; the two
presets differ only in values. With ``librosa_like()`` settings the output matches
``librosa.feature.melspectrogram`` + ``power_to_db`` (tests/test_features_vs_librosa.py);
``kaldi_like()`` follows ``torchaudio.compliance.kaldi.fbank`` as the AST authors call it.

Two conventions to know:

* Zero-padding a windowed frame to ``n_fft`` only multiplies its spectrum by a phase
  (|X| is unchanged by where the W samples sit in the n_fft buffer), so frames keep their
  W samples and ``power_spectrum`` zero-pads them at the end. librosa centres the window in
  the n_fft frame, Kaldi pads on the right: same power spectrum.
* ``center=True`` (librosa) pads n_fft//2 samples at both ends and frame t covers the window
  centred on sample t*hop. ``center=False`` is Kaldi's ``snip_edges``: frame t starts at sample
  t*hop and spans W samples; the tail that does not fill a window is dropped. (librosa's own
  ``center=False`` spans n_fft samples instead, so it agrees with ours only when W == n_fft.)
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings
from typing import Iterable, Optional

import numpy as np
import torch
import torch.nn.functional as F

from ast_lab.audio import as_float_waveform
from ast_lab.config import FbankConfig

Tensor = torch.Tensor

WINDOWS = ("hann", "hamming", "povey", "rectangular")
POVEY_EXPONENT = 0.85  # Kaldi's "povey" window: a Hann window raised to 0.85
PER_SAMPLE_STD_FLOOR = 1e-5  # a silent clip has std 0; divide by at least this instead

# Slaney's mel scale (Auditory Toolbox, as librosa): linear below 1 kHz, logarithmic above.
SLANEY_HZ_PER_MEL = 200.0 / 3.0  # 15 mels at 1 kHz
SLANEY_LOG_START_HZ = 1000.0
SLANEY_LOG_START_MEL = SLANEY_LOG_START_HZ / SLANEY_HZ_PER_MEL
SLANEY_LOG_STEP = math.log(6.4) / 27.0  # 27 mels per factor of 6.4 in frequency


# ---------------------------------------------------------------------------- config checks


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
    choices = {
        "window": WINDOWS,
        "pad_mode": ("constant", "reflect"),
        "mel_scale": ("htk", "slaney"),
        "mel_norm": (None, "slaney"),
        "mel_domain": ("hz", "mel"),
        "log": ("db", "ln", "none"),
        "normalize": ("none", "per_sample", "dataset"),
    }
    for name, allowed in choices.items():
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


def frame_starts(n_frames: int, win_length: int, hop_length: int, n_fft: int, center: bool) -> np.ndarray:
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


def fmax_hz(cfg: FbankConfig) -> float:
    """The top edge of the highest mel filter in Hz: ``cfg.fmax``, or Nyquist when None."""
    return cfg.nyquist if cfg.fmax is None else cfg.fmax


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
    _warn_about_empty_filters(_empty_filters(weights))
    return weights


def _empty_filters(filterbank: Tensor) -> list[int]:
    return (filterbank.amax(dim=1) <= 0).nonzero().flatten().tolist()


def _warn_about_empty_filters(empty: list[int]) -> None:
    if empty:
        warnings.warn(
            f"Empty filters detected in mel frequency basis (filters {empty} cover no FFT bin); "
            "they will output zero. Use fewer n_mels, a larger n_fft, or a wider fmin..fmax.",
            UserWarning,
            stacklevel=3,
        )


# ---------------------------------------------------------------------------- per-frame steps


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


def power_spectrum(frames: Tensor, window: Tensor, n_fft: int, power: float = 2.0) -> Tensor:
    """|rfft(frame * window, n_fft)| ** power: ``(batch, frames, W) -> (batch, frames, K)``.

    K = n_fft//2 + 1. Frames are zero-padded at the end to n_fft; bin k is at
    k * sample_rate / n_fft Hz. power=2
    gives power, power=1 magnitude, in waveform units (unnormalised: a unit-amplitude sine on a bin
    gives (sum(window) / 2) ** 2). Windowing and FFT run in float64, then the spectrum is rounded
    to float32 (as librosa's complex64 STFT): in float32 the FFT's rounding noise sits only ~160 dB
    below each frame's strongest bin, enough to move bins 75 dB down by ~0.002 dB (librosa's
    float64 window makes its FFT float64 too).
    """
    *batch, win_length = frames.shape
    padded = frames.new_zeros(*batch, n_fft, dtype=torch.float64)  # (batch, frames, n_fft)
    torch.mul(frames, window, out=padded[..., :win_length])  # faster than rfft(..., n=n_fft) here
    spectrum = torch.fft.rfft(padded)  # (batch, frames, K), complex128
    parts = torch.view_as_real(spectrum).float().square_()  # (batch, frames, K, 2): re^2, im^2
    squared = parts[..., 0] + parts[..., 1]  # (batch, frames, K)
    return squared if power == 2 else squared.pow(power / 2)


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


# ---------------------------------------------------------------------------- whole spectrograms


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


def normalize(spec: Tensor, cfg: FbankConfig) -> Tensor:
    """Normalise log-mel spectrograms ``(..., n_mels, frames)`` as ``cfg.normalize`` says.

    "none": unchanged. "per_sample": (x - mean) / std over each spectrogram's own values (std
    floored at 1e-5 so silence stays finite). "dataset": (x - dataset_mean) / dataset_std with
    the scalars stored in the config, computed by ``dataset_stats`` on the training folds only.
    (The AST code divides by 2 * std instead; that is a different scale, not a different idea.)
    """
    if cfg.normalize == "none":
        return spec
    if cfg.normalize == "per_sample":
        std, mean = torch.std_mean(spec, dim=(-2, -1), keepdim=True, correction=0)
        return (spec - mean) / std.clamp(min=PER_SAMPLE_STD_FLOOR)
    if cfg.normalize == "dataset":
        if cfg.dataset_mean is None or cfg.dataset_std is None:
            raise ValueError(
                "normalize='dataset' needs FbankConfig.dataset_mean and dataset_std; "
                "compute them with features.dataset_stats on the training folds"
            )
        if not cfg.dataset_std > 0:
            raise ValueError(f"dataset_std must be positive, got {cfg.dataset_std}")
        return (spec - cfg.dataset_mean) / cfg.dataset_std
    raise ValueError(f"unknown normalize {cfg.normalize!r}; use 'none', 'per_sample' or 'dataset'")


def dataset_stats(
    specs: np.ndarray | Tensor | Iterable[np.ndarray | Tensor],
) -> tuple[float, float]:
    """Scalar mean and (population) std over every value of ``specs``.

    ``specs`` is one ``(n, n_mels, frames)`` array/tensor or an iterable of them (e.g. batches
    from a DataLoader). Chunks are merged with Chan et al.'s pairwise update in float64, so the
    result does not drift with dataset size. Use training data only.
    """
    chunks = [specs] if isinstance(specs, (np.ndarray, Tensor)) else specs
    count, mean, sum_sq_dev = 0, 0.0, 0.0
    for chunk in chunks:
        values = torch.as_tensor(chunk).detach().to("cpu", torch.float64).flatten()
        if values.numel() == 0:
            continue
        if not torch.isfinite(values).all():
            raise ValueError("dataset_stats got NaN or Inf values")
        chunk_mean = values.mean().item()
        chunk_sum_sq_dev = (values - chunk_mean).square().sum().item()
        total = count + values.numel()
        delta = chunk_mean - mean
        mean += delta * values.numel() / total
        sum_sq_dev += chunk_sum_sq_dev + delta**2 * count * values.numel() / total
        count = total
    if count == 0:
        raise ValueError("dataset_stats got no values")
    return mean, math.sqrt(sum_sq_dev / count)


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
    return mel_blocks(bank.to(device)), _empty_filters(bank)


def _cfg_values(cfg: FbankConfig) -> tuple:
    return tuple(getattr(cfg, field.name) for field in dataclasses.fields(cfg))


# fbank takes clips in chunks of about this many frames x n_fft values: on CPU 4 MB of float64,
# so that the FFT's input and output stay in cache; on a GPU 512 MB, big enough to keep it busy
# and small enough not to run out of memory on long datasets.
CHUNK_VALUES = {"cpu": 2**19, "cuda": 2**26}


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


def log_mel(waveforms: Tensor, cfg: FbankConfig, window: Tensor, blocks: list[MelBlock]) -> Tensor:
    """The per-frame part of FBANK: ``(batch, samples)`` -> ``(batch, n_mels, frames)`` log-mel."""
    frames = frame_signal(
        waveforms, cfg.win_length, cfg.hop_length,
        n_fft=cfg.n_fft, center=cfg.center, pad_mode=cfg.pad_mode,
    )  # (B, F, W)
    frames = add_dither(frames, cfg.dither)
    if cfg.remove_dc:
        frames = remove_dc_offset(frames)
    if cfg.preemphasis > 0:
        frames = preemphasize(frames, cfg.preemphasis)
    spectrum = power_spectrum(frames, window, cfg.n_fft, cfg.power)  # (B, F, K)
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
    _warn_about_empty_filters(empty)

    n_frames = num_frames(batch.shape[1], cfg.win_length, cfg.hop_length, cfg.n_fft, cfg.center)
    budget = CHUNK_VALUES.get(batch.device.type, CHUNK_VALUES["cpu"])
    chunk = max(1, budget // (n_frames * cfg.n_fft))  # clips per chunk
    parts = [log_mel(part, cfg, window, blocks) for part in batch.split(chunk)]
    spec = torch.cat(parts)  # (B, M, F)
    if cfg.target_frames is not None:
        spec = pad_or_crop_frames(spec, cfg.target_frames, cfg.pad_value)  # (B, M, T)
    spec = normalize(spec, cfg)
    return spec[0] if wave.ndim == 1 else spec
