"""Notebook interaction: ipywidgets explorers (notebooks 01, 02) and live training curves (04).

Each explorer is a thin set of sliders over a plain, tested function (``fbank_view``,
``patch_view``) that builds the figure and a one-line summary; the widget only re-calls it.
"""

from __future__ import annotations

import dataclasses

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display
from matplotlib.figure import Figure

from ast_lab.config import FbankConfig
from ast_lab.features import fbank
from ast_lab.models.patches import patch_boxes, patch_grid
from ast_lab.plotting import plot_learning_curves, plot_patch_grid, plot_spectrogram
from ast_lab.training import EpochEnd


def fbank_view(wave: np.ndarray, cfg: FbankConfig) -> tuple[Figure, str]:
    """Log-mel spectrogram of one waveform ``(samples,)`` under ``cfg``, and a summary line.

    The summary states the frame count and the output shape ``(n_mels, frames)``.
    """
    spec = fbank(wave, cfg)  # (n_mels, frames)
    unit = {"db": "dB", "ln": "ln(power)", "none": "power"}[cfg.log]
    fig, ax = plt.subplots(figsize=(8, 3))
    title = (f"{cfg.window} {cfg.win_ms:g} ms / hop {cfg.hop_ms:g} ms, n_fft {cfg.n_fft}, "
             f"{cfg.n_mels} {cfg.mel_scale} mels {cfg.fmin:g}-{cfg.fmax or cfg.nyquist:g} Hz")
    plot_spectrogram(spec, hop_length=cfg.hop_length, sample_rate=cfg.sample_rate, ax=ax,
                     title=title, unit=unit)
    summary = f"{spec.shape[1]} frames; output shape (n_mels, frames) = {tuple(spec.shape)}"
    return fig, summary


def fbank_explorer(wave: np.ndarray, cfg: FbankConfig) -> widgets.Widget:
    """Sliders for window type, window/hop (ms), n_fft, n_mels, fmin/fmax, mel scale and the log floor
    (``top_db``: how far below the clip's peak the dB image is clipped).

    ``wave`` must be sampled at ``cfg.sample_rate``; every redraw calls ``fbank_view``.
    """
    nyquist = cfg.nyquist

    def redraw(window, win_ms, hop_ms, n_fft, n_mels, fmin, fmax, mel_scale, top_db):
        trial = dataclasses.replace(
            cfg, window=window, win_ms=win_ms, hop_ms=hop_ms, n_fft=n_fft, n_mels=n_mels,
            fmin=fmin, fmax=fmax, mel_scale=mel_scale, top_db=top_db,
        )
        try:
            fig, summary = fbank_view(wave, trial)
        except ValueError as error:  # e.g. window longer than n_fft: say why, draw nothing
            print(f"invalid setting: {error}")
            return
        display(fig)
        plt.close(fig)
        print(summary)

    controls = dict(
        window=widgets.Dropdown(options=["hann", "hamming", "povey", "rectangular"], value=cfg.window),
        win_ms=widgets.FloatSlider(value=cfg.win_ms, min=5, max=100, step=5, description="window ms"),
        hop_ms=widgets.FloatSlider(value=cfg.hop_ms, min=2.5, max=50, step=2.5, description="hop ms"),
        n_fft=widgets.Dropdown(options=[256, 512, 1024, 2048], value=cfg.n_fft),
        n_mels=widgets.IntSlider(value=cfg.n_mels, min=16, max=256, step=16),
        fmin=widgets.FloatSlider(value=cfg.fmin, min=0, max=nyquist / 4, step=10),
        fmax=widgets.FloatSlider(value=cfg.fmax or nyquist, min=nyquist / 4, max=nyquist, step=100),
        mel_scale=widgets.ToggleButtons(options=["slaney", "htk"], value=cfg.mel_scale),
        top_db=widgets.FloatSlider(value=cfg.top_db or 80.0, min=20, max=120, step=10,
                                   description="floor (dB)"),
    )
    return widgets.interactive(redraw, **controls)


def patch_view(spec: np.ndarray, patch_size: int, fstride: int, tstride: int) -> tuple[Figure, str]:
    """A spectrogram ``(n_mels, frames)`` with its patch grid drawn, and the token count."""
    n_mels, n_frames = spec.shape[-2:]
    f_patches, t_patches = patch_grid(n_mels, n_frames, patch_size, fstride, tstride)
    boxes = patch_boxes(n_mels, n_frames, patch_size, fstride, tstride)
    fig, ax = plt.subplots(figsize=(8, 3))
    first_row = range(min(3, t_patches))  # fill a few neighbours so the overlap shows
    plot_patch_grid(spec, boxes, patch_size, ax=ax, highlight=list(first_row),
                    title=f"{patch_size}x{patch_size} patches, strides {fstride}/{tstride}")
    summary = (f"grid {f_patches} x {t_patches} = {f_patches * t_patches} patches "
               f"-> {f_patches * t_patches + 2} tokens with [CLS] and [DIST]")
    return fig, summary


def patch_explorer(spec: np.ndarray) -> widgets.Widget:
    """Sliders for patch size and the two strides over ``patch_view``."""

    def redraw(patch_size, fstride, tstride):
        try:
            fig, summary = patch_view(spec, patch_size, fstride, tstride)
        except ValueError as error:
            print(f"invalid setting: {error}")
            return
        display(fig)
        plt.close(fig)
        print(summary)

    return widgets.interactive(
        redraw,
        patch_size=widgets.IntSlider(value=16, min=4, max=32, step=2),
        fstride=widgets.IntSlider(value=10, min=2, max=32),
        tstride=widgets.IntSlider(value=10, min=2, max=32),
    )



class LiveCurves:
    """A ``cross_validate``/``train_fold`` callback that redraws the learning curves in place
    after every epoch (one output cell, updated; headless runs just render the last state)."""

    def __init__(self) -> None:
        self.histories: dict[int, dict[str, list[float]]] = {}
        self.handle = None

    def __call__(self, end: EpochEnd) -> None:
        self.histories[end.test_fold] = end.history
        fig = plot_learning_curves(self.histories)
        best = end.history["val_acc"][end.best_epoch]
        status = (f"best validation accuracy {best:.2f}" if np.isfinite(best)
                  else f"training accuracy {end.history['train_acc'][-1]:.2f}")
        fig.suptitle(f"{end.model.upper()}: fold {end.test_fold}, epoch {end.epoch + 1}, "
                     f"{status}", y=1.04)
        if self.handle is None:
            self.handle = display(fig, display_id=True)
        else:
            self.handle.update(fig)
        plt.close(fig)
