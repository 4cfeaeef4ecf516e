"""Time against frequency resolution: what the window length buys and costs (notebook 01).

A window of ``T`` seconds sees frequencies only as finely as about ``1 / T`` and events only as
finely as about ``T``: one window cannot be sharp in both. Two test signals measure it, each
through the project's own STFT (``features.frame_signal``, ``power_spectrum``):

- ``two_tones``: two steady sines a few tens of Hz apart. They are *resolved* when the
  frame-averaged power spectrum dips between them by at least ``RESOLVED_DB``;
- ``two_clicks``: two impulses a few tens of ms apart. They are resolved when the frames'
  energy dips between them by at least ``RESOLVED_DB``.

``resolution_table`` runs both for a list of window lengths, each with an FFT long enough for
the window (``config_for_window``: the next power of two, as ``FbankConfig.n_fft`` asks), and
``plot_resolution`` draws the two profiles the table measures.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from . import features
from .config import FbankConfig

MAX_DIP_DB = 60.0  # a dip to silence is reported as this
RESOLVED_DB = 3.0  # a dip of at least this much (half the power) between two peaks: two things
TONES_HZ = (1000.0, 1050.0)  # the two sines, 50 Hz apart
CLICK_GAP_MS = 30.0  # between the two impulses
WINDOWS_MS = (8.0, 16.0, 25.0, 32.0, 64.0, 128.0)  # the experiment's windows (25: the AST's)
FIRST_CLICK_S = 0.5  # on a frame centre (a whole number of 10-ms hops)
SECONDS = 1.0


def config_for_window(cfg: FbankConfig, win_ms: float) -> FbankConfig:
    """``cfg`` with a ``win_ms`` window and the smallest power-of-two ``n_fft`` that holds it."""
    win_length = int(round(win_ms * cfg.sample_rate / 1000.0))
    return dataclasses.replace(cfg, win_ms=win_ms, n_fft=1 << (win_length - 1).bit_length())


def two_tones(cfg: FbankConfig, freqs_hz: Sequence[float] = TONES_HZ,
              seconds: float = SECONDS) -> np.ndarray:
    """``(samples,)`` float32: equal sines at ``freqs_hz``, peak amplitude 0.5 each."""
    t = np.arange(int(seconds * cfg.sample_rate)) / cfg.sample_rate
    return sum(0.5 * np.sin(2 * np.pi * f * t) for f in freqs_hz).astype(np.float32)


def two_clicks(cfg: FbankConfig, gap_ms: float = CLICK_GAP_MS,
               seconds: float = SECONDS) -> np.ndarray:
    """``(samples,)`` float32: silence with a unit impulse at ``FIRST_CLICK_S`` and ``gap_ms``
    later."""
    wave = np.zeros(int(seconds * cfg.sample_rate), dtype=np.float32)
    first = int(FIRST_CLICK_S * cfg.sample_rate)
    wave[[first, first + int(round(gap_ms * cfg.sample_rate / 1000.0))]] = 1.0
    return wave


def power_frames(wave: np.ndarray, cfg: FbankConfig) -> torch.Tensor:
    """``(frames, n_fft // 2 + 1)`` power spectrum of ``wave`` with ``cfg``'s window and FFT."""
    frames = features.frame_signal(torch.from_numpy(wave)[None], cfg.win_length, cfg.hop_length,
                                   n_fft=cfg.n_fft, center=cfg.center)
    return features.power_spectrum(frames, features.make_window(cfg), cfg.n_fft)[0]


def dip_db(profile: np.ndarray, first: int, second: int) -> float:
    """How far (dB) the lowest value strictly between indices ``first`` and ``second`` of
    ``profile`` lies below the smaller of the two, from 0 (no dip, or nothing lies between
    them) to ``MAX_DIP_DB`` (silence between them)."""
    low, high = sorted((first, second))
    if high - low < 2:
        return 0.0
    peak = min(profile[low], profile[high])
    between = max(profile[low + 1 : high].min(), peak * 10 ** (-MAX_DIP_DB / 10))
    return max(0.0, float(10 * np.log10(peak / between)))


def tone_profile(cfg: FbankConfig, freqs_hz: Sequence[float] = TONES_HZ) -> np.ndarray:
    """``(n_fft // 2 + 1,)``: the two tones' power spectrum averaged over frames; bin ``k`` is at
    ``k * sample_rate / n_fft`` Hz."""
    return power_frames(two_tones(cfg, freqs_hz), cfg).mean(dim=0).double().numpy()


def click_profile(cfg: FbankConfig, gap_ms: float = CLICK_GAP_MS) -> np.ndarray:
    """``(frames,)``: the two clicks' energy in each frame (centred frame ``t`` at ``t * hop``)."""
    return power_frames(two_clicks(cfg, gap_ms), cfg).sum(dim=1).double().numpy()


def tone_dip_db(cfg: FbankConfig, freqs_hz: Sequence[float] = TONES_HZ) -> float:
    """The dip between the two tones' peaks in the frame-averaged power spectrum, in dB."""
    first, second = (int(round(f * cfg.n_fft / cfg.sample_rate)) for f in freqs_hz)
    return dip_db(tone_profile(cfg, freqs_hz), first, second)


def click_dip_db(cfg: FbankConfig, gap_ms: float = CLICK_GAP_MS) -> float:
    """The dip between the two clicks in the frames' energy, in dB."""
    first = int(round(FIRST_CLICK_S * 1000.0 / cfg.hop_ms))  # frame centred on the first click
    return dip_db(click_profile(cfg, gap_ms), first, first + int(round(gap_ms / cfg.hop_ms)))


@dataclass(frozen=True)
class ResolutionRow:
    """One window length's measurements."""

    win_ms: float
    n_fft: int
    tone_dip_db: float  # between the two tones; >= RESOLVED_DB: two tones
    click_dip_db: float  # between the two clicks; >= RESOLVED_DB: two clicks

    @property
    def tones_resolved(self) -> bool:
        return self.tone_dip_db >= RESOLVED_DB

    @property
    def clicks_resolved(self) -> bool:
        return self.click_dip_db >= RESOLVED_DB


def resolution_table(make_config: Callable[[FbankConfig, float], FbankConfig], cfg: FbankConfig,
                     windows_ms: Sequence[float]) -> list[ResolutionRow]:
    """Both measurements for every window length, with ``make_config(cfg, win_ms)`` (e.g.
    ``config_for_window``) choosing the settings."""
    rows = []
    for win_ms in windows_ms:
        windowed = make_config(cfg, win_ms)
        rows.append(ResolutionRow(win_ms, windowed.n_fft, tone_dip_db(windowed),
                                  click_dip_db(windowed)))
    return rows


def format_table(rows: Sequence[ResolutionRow]) -> str:
    """The rows as text: window, FFT size, each dip and whether it resolves the pair."""
    lines = [f"{'window':>8} {'n_fft':>6}  {'dip between tones':>18}  {'dip between clicks':>19}"]
    for row in rows:
        lines.append(f"{row.win_ms:6g} ms {row.n_fft:6}  {row.tone_dip_db:8.1f} dB "
                     f"{_two(row.tones_resolved)}  {row.click_dip_db:9.1f} dB "
                     f"{_two(row.clicks_resolved)}")
    return "\n".join(lines)


def _two(resolved: bool) -> str:
    return "(two)" if resolved else "(one)"


def plot_resolution(make_config: Callable[[FbankConfig, float], FbankConfig], cfg: FbankConfig,
                    windows_ms: Sequence[float]) -> Figure:
    """What the table measures, one line per window: left, the two tones' spectrum near
    1 kHz; right, the two clicks' energy over time. Each line in dB below its own peak; a dip
    between the two dotted lines is two things seen apart."""
    fig, (tones_ax, clicks_ax) = plt.subplots(1, 2, figsize=(12, 3.6))
    for win_ms in windows_ms:
        windowed = make_config(cfg, win_ms)
        spectrum = tone_profile(windowed)
        hz = np.arange(spectrum.size) * windowed.sample_rate / windowed.n_fft
        tones_ax.plot(hz, _db_below_peak(spectrum), ".-", label=f"{win_ms:g} ms")
        energy = click_profile(windowed)
        seconds = np.arange(energy.size) * windowed.hop_ms / 1000.0
        clicks_ax.plot(seconds, _db_below_peak(energy), ".-", label=f"{win_ms:g} ms")
    first = FIRST_CLICK_S
    for ax, marks, span, xlabel, what in (
            (tones_ax, TONES_HZ, (800, 1250), "frequency (Hz)", "two tones, spectrum"),
            (clicks_ax, (first, first + CLICK_GAP_MS / 1000), (first - 0.1, first + 0.13),
             "time (s)", "two clicks, energy per frame")):
        for mark in marks:
            ax.axvline(mark, color="grey", ls=":", lw=1)
        ax.set(xlim=span, ylim=(-40, 3), xlabel=xlabel, ylabel="dB below the peak", title=what)
    clicks_ax.legend(title="window", fontsize=8)
    fig.tight_layout()
    return fig


def _db_below_peak(profile: np.ndarray) -> np.ndarray:
    return 10 * np.log10(np.maximum(profile / profile.max(), 1e-12))
