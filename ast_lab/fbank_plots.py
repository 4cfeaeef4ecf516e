"""Pictures of the steps from a waveform to a log-mel spectrogram (notebook 01).

- ``plot_frames_in_time``: a few windowed frames where they sit in the signal, so their overlap
  shows;
- ``plot_window_lengths``: the same sound's power spectrogram with a short and a long window,
  time against frequency resolution;
- ``plot_filterbank``: the mel triangles as the continuous functions they are, with the values
  the FFT bins sample from them;
- ``plot_filterbank_product``: pooling into mel bands as one matrix product, drawn with shapes.

Times are in ms or s, frequencies in Hz, powers in dB re the loudest cell.
"""

from __future__ import annotations

from typing import Optional, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from . import features
from .config import FbankConfig
from .plotting import _numpy
from .resolution import power_frames

FLOOR_DB = -80.0  # the darkest colour of every dB image here, re the image's loudest cell


def _db(power: np.ndarray, peak: Optional[float] = None) -> np.ndarray:
    """Power -> dB re ``peak`` (default: the loudest value), floored at ``FLOOR_DB``."""
    peak = float(power.max()) if peak is None else peak
    return np.maximum(10 * np.log10(np.maximum(power, 1e-30) / (peak or 1.0)), FLOOR_DB)


def plot_frames_in_time(wave, starts: Sequence[int], win_length: int, sample_rate: int,
                        window=None, ax: Optional[Axes] = None,
                        title: str = "Frames in time") -> Axes:
    """Each frame's windowed samples at its own place in the signal, one row per frame.

    ``wave (samples,)``; ``starts``: each frame's first sample (``features.frame_starts``);
    ``window (win_length,)`` multiplies each frame if given (default: the bare cut). The waveform is drawn on top, every frame below it on the same
    absolute time axis (ms) with its span shaded, so consecutive frames visibly share samples.
    Samples outside the signal (centred framing's padding) count as 0.
    """
    wave = _numpy(wave)
    window = np.ones(win_length) if window is None else _numpy(window)
    starts = [int(s) for s in starts]
    win = win_length
    to_ms = 1000.0 / sample_rate
    ax = ax or plt.subplots(figsize=(9, 1.0 + 0.6 * len(starts)))[1]
    first, last = min(starts), max(starts) + win
    span = np.arange(max(first, 0), min(last, wave.size))
    peak = float(np.abs(wave[span]).max()) if span.size else 1.0
    peak = peak or 1.0
    ax.plot(span * to_ms, wave[span] / peak, color="k", lw=0.7)
    for row, start in enumerate(starts, start=1):
        segment = np.zeros(win)
        inside = np.arange(start, start + win)
        valid = (inside >= 0) & (inside < wave.size)
        segment[valid] = wave[inside[valid]]
        ax.plot(inside * to_ms, segment * window / peak - 2.2 * row, color=f"C{row - 1}", lw=0.7)
        ax.axvspan(start * to_ms, (start + win) * to_ms, color=f"C{row - 1}", alpha=0.12)
    hop = np.diff(starts)
    step = f", a new one every {hop[0] * to_ms:g} ms" if hop.size and (hop == hop[0]).all() else ""
    ax.set(xlabel="time in the signal (ms)", yticks=[0, *(-2.2 * np.arange(1, len(starts) + 1))],
           yticklabels=["signal", *(f"from {start * to_ms:g} ms" for start in starts)],
           title=f"{title}: {win * to_ms:g} ms each{step} (shaded spans overlap where "
                 f"frames share samples)")
    return ax


def plot_window_lengths(wave, configs: Sequence[FbankConfig], max_hz: Optional[float] = None,
                        start_s: float = 0.0) -> Figure:
    """Power spectrograms of ``wave (samples,)`` under each config, side by side.

    Linear frequency (Hz, up to ``max_hz``) so each FFT bin is visible; dB re the loudest cell
    over all panels, on one colour scale from ``FLOOR_DB`` to 0. Frame ``t`` (centred framing)
    is drawn at ``start_s + t * hop / rate`` seconds. The titles give each window's length and
    its bin spacing (sample_rate / n_fft).
    """
    wave = _numpy(wave).astype(np.float32)
    powers = [power_frames(wave, cfg).numpy().T for cfg in configs]  # (bins, frames) each
    peak = max(float(p.max()) for p in powers)
    fig, axes = plt.subplots(1, len(configs), figsize=(5.2 * len(configs), 3.2), sharey=True,
                             squeeze=False)
    for ax, cfg, power in zip(axes[0], configs, powers):
        seconds = power.shape[1] * cfg.hop_length / cfg.sample_rate
        image = ax.imshow(_db(power, peak), origin="lower", aspect="auto", interpolation="nearest",
                          vmin=FLOOR_DB, vmax=0.0,
                          extent=(start_s, start_s + seconds, 0.0, cfg.nyquist))
        ax.set(xlabel="time (s)", ylim=(0, max_hz or cfg.nyquist),
               title=f"{cfg.win_ms:g} ms window (n_fft {cfg.n_fft}): bins "
                     f"{cfg.sample_rate / cfg.n_fft:g} Hz apart")
    axes[0, 0].set_ylabel("frequency (Hz)")
    fig.colorbar(image, ax=axes[0].tolist(), label="dB re the loudest cell", pad=0.01)
    return fig


def plot_filterbank(cfg: FbankConfig, every: int = 1, ax: Optional[Axes] = None,
                    title: str = "Mel filterbank") -> Axes:
    """Every ``every``-th mel filter of ``cfg`` against frequency in Hz.

    Lines: the exact triangles (``features.triangular_filters`` on a fine grid that includes
    every band edge, so each peak is drawn at its true height). Dots: the weights at the FFT
    bins, the rows of ``features.mel_filterbank``, which are all the spectrum ever sees.
    """
    ax = ax or plt.subplots()[1]
    edges = features.mel_band_edges(cfg)  # (n_mels + 2,) Hz
    fine = np.union1d(np.linspace(0.0, cfg.nyquist, 4001), edges)  # (n_points,) Hz
    curves = features.triangular_filters(fine, cfg)  # (n_mels, n_points)
    bins_hz = np.fft.rfftfreq(cfg.n_fft, d=1.0 / cfg.sample_rate)  # (n_fft//2 + 1,)
    sampled = features.mel_filterbank(cfg).numpy()  # (n_mels, n_fft//2 + 1)
    for colour, m in enumerate(range(0, cfg.n_mels, every)):
        inside = sampled[m] > 0
        ax.plot(fine, curves[m], lw=0.7, color=f"C{colour % 10}")
        ax.plot(bins_hz[inside], sampled[m, inside], ".", ms=3, color=f"C{colour % 10}")
    unit = "weight (unit area, 1/Hz)" if cfg.mel_norm == "slaney" else "weight"
    ax.set(xlabel="frequency (Hz)", ylabel=unit,
           title=f"{title} (lines: exact triangles; dots: their values at the FFT bins)")
    return ax


def plot_filterbank_product(fb, power, sample_rate: int, hop_length: int) -> Figure:
    """``fb (mels, bins) @ power (bins, frames) = mel (mels, frames)``, as three images.

    Each image is titled with its name and shape. ``power`` and the product are shown in dB
    re their loudest cell (floor ``FLOOR_DB``), the filterbank in its own weights; time in s.
    """
    fb, power = _numpy(fb), _numpy(power)
    mel = fb @ power  # (mels, frames)
    seconds = power.shape[1] * hop_length / sample_rate
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    panels = [
        (fb, "filterbank", ("frequency bin", "mel band"), "(mels, bins)", "weight", fb.shape[1]),
        (_db(power), "@ power spectrogram", ("time (s)", "frequency bin"), "(bins, frames)",
         "dB re loudest", seconds),
        (_db(mel), "= mel spectrogram", ("time (s)", "mel band"), "(mels, frames)",
         "dB re loudest", seconds),
    ]
    for ax, (image, name, (xlabel, ylabel), axes_names, unit, width) in zip(axes, panels):
        shown = ax.imshow(image, origin="lower", aspect="auto", interpolation="nearest",
                          extent=(0, width, -0.5, image.shape[0] - 0.5),
                          cmap="viridis" if name == "filterbank" else None)
        ax.set(xlabel=xlabel, ylabel=ylabel, title=f"{name}\n{axes_names} = {image.shape}")
        fig.colorbar(shown, ax=ax, label=unit, pad=0.02)
    fig.suptitle(f"Pooling into mel bands is one matrix product: "
                 f"{fb.shape} @ {power.shape} = {mel.shape}")
    fig.tight_layout()
    return fig
