"""Notebook interaction: ipywidgets explorers (notebooks 01, 02) and live training curves (04).

Each explorer is a thin set of sliders over a plain, tested function (``fbank_view``,
``patch_view``) that builds the figure and a one-line summary; the widget only re-calls it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import display
from matplotlib.figure import Figure

from ast_lab.config import FbankConfig
from ast_lab.features import fbank, mel_band_edges, pad_or_crop_frames
from ast_lab.listening import ogg_bytes
from ast_lab.metrics import FoldResult
from ast_lab.models.patches import patch_boxes, patch_grid
from ast_lab.plotting import plot_learning_curves, plot_patch_grid, plot_spectrogram
from ast_lab.resolution import config_for_window
from ast_lab.training import FOLD_RESULT, EpochEnd
from ast_lab.training.saved_runs import read_fold_result


def fbank_view(wave: np.ndarray, cfg: FbankConfig) -> tuple[Figure, str]:
    """Log-mel spectrogram of one waveform ``(samples,)`` under ``cfg``, and a summary line.

    The mel axis is labelled with band indices and their centre frequencies. The summary states
    the frame count and the output shape ``(n_mels, frames)``.
    """
    spec = fbank(wave, cfg)  # (n_mels, frames)
    unit = {"db": "dB", "ln": "ln(power)", "none": "power"}[cfg.log]
    fig, ax = plt.subplots(figsize=(8, 3))
    title = (f"{cfg.window} {cfg.win_ms:g} ms / hop {cfg.hop_ms:g} ms, n_fft {cfg.n_fft}, "
             f"{cfg.n_mels} {cfg.mel_scale} mels {cfg.fmin:g}-{cfg.fmax or cfg.nyquist:g} Hz, "
             f"norm {cfg.mel_norm}, linear in {cfg.mel_domain}")
    plot_spectrogram(spec, hop_length=cfg.hop_length, sample_rate=cfg.sample_rate, ax=ax,
                     title=title, unit=unit, band_hz=mel_band_edges(cfg)[1:-1])
    summary = f"{spec.shape[1]} frames; output shape (n_mels, frames) = {tuple(spec.shape)}"
    return fig, summary


def _covering(options: list, value) -> list:
    """``options`` with ``value`` added, sorted, so a widget can start from any config."""
    return sorted(set(options) | {value})


AUTO_FFT = "auto"  # the n_fft control's value for "the smallest power of two that holds the window"


def explorer_config(cfg: FbankConfig, n_fft: int | str = AUTO_FFT, **fields) -> tuple[FbankConfig, str]:
    """The settings the explorer draws, and a note on the FFT size it chose.

    ``fields`` replace fields of ``cfg`` (window, win_ms, hop_ms, n_mels, ...). ``n_fft`` is
    ``AUTO_FFT`` (the smallest power of two that holds the window) or a size in samples; a size
    shorter than the window is raised to the smallest one that holds it, and the note says so,
    so every window the slider offers is drawn rather than refused. ``top_db`` (the floor in dB
    below the peak) is only kept for ``log="db"``, the one log it acts on.
    """
    trial = dataclasses.replace(cfg, **fields)
    needed = config_for_window(trial, trial.win_ms).n_fft  # smallest power of two >= window
    if n_fft == AUTO_FFT:
        chosen, note = needed, f"n_fft {needed}: the smallest power of two >= the window"
    elif int(n_fft) < trial.win_length:
        chosen = needed
        note = (f"n_fft {needed}: raised from {n_fft}, which is shorter than the "
                f"{trial.win_length}-sample window")
    else:
        chosen, note = int(n_fft), f"n_fft {n_fft}"
    note += f" ({trial.win_length}-sample window, bins {trial.sample_rate / chosen:g} Hz apart)"
    top_db = trial.top_db if trial.log == "db" else cfg.top_db
    return dataclasses.replace(trial, n_fft=chosen, top_db=top_db), note


def fbank_explorer(wave: np.ndarray, cfg: FbankConfig) -> widgets.Widget:
    """Controls for window type, window/hop (ms), n_fft, n_mels, fmin/fmax, the three
    independent mel choices: the Hz-to-mel formula (``mel_scale``), area normalisation
    (``mel_norm``) and whether triangles are linear in Hz or in mel (``mel_domain``; Kaldi's
    filterbank is htk + no norm + mel), and the log (dB or natural log, Kaldi's). The dB floor
    (``top_db``: how far below the clip's peak the image is clipped) only acts on dB logs, so
    it is disabled while the log is ln.

    ``n_fft`` is "auto" (the smallest power of two that holds the window) or a fixed size that
    a longer window raises (``explorer_config``); the line under the plot says which it used.
    Every range covers the starting ``cfg``. Figures redraw when a slider is released, not on
    every drag tick. ``wave`` must be sampled at ``cfg.sample_rate``; redraws call ``fbank_view``.
    A player above the controls plays ``wave``.
    """
    nyquist = cfg.nyquist

    def redraw(window, win_ms, hop_ms, n_fft, n_mels, fmin, fmax, mel_scale, mel_norm,
               mel_domain, log, top_db):
        try:
            trial, note = explorer_config(
                cfg, n_fft, window=window, win_ms=win_ms, hop_ms=hop_ms, n_mels=n_mels, fmin=fmin,
                fmax=fmax, mel_scale=mel_scale, mel_norm=None if mel_norm == "none" else mel_norm,
                mel_domain=mel_domain, log=log, top_db=top_db)
            fig, summary = fbank_view(wave, trial)
        except ValueError as error:  # e.g. fmin above fmax: say why, draw nothing
            print(f"invalid setting: {error}")
            return
        display(fig)
        plt.close(fig)
        print(f"{summary}; {note}")

    released = dict(continuous_update=False)
    fmax = cfg.fmax or nyquist
    start_fft = AUTO_FFT if cfg.n_fft == config_for_window(cfg, cfg.win_ms).n_fft else cfg.n_fft
    fft_sizes = _covering([256, 512, 1024, 2048, 4096], cfg.n_fft)
    log = widgets.ToggleButtons(options=[("dB", "db"), ("ln (Kaldi)", "ln")],
                                value=cfg.log if cfg.log in ("db", "ln") else "db", description="log")
    top_db = widgets.FloatSlider(value=cfg.top_db or 80.0, min=20, max=max(120, cfg.top_db or 0),
                                 step=10, description="floor (dB)", disabled=log.value != "db",
                                 tooltip="only dB logs are clipped", **released)
    log.observe(lambda change: setattr(top_db, "disabled", change["new"] != "db"), names="value")
    controls = dict(
        window=widgets.Dropdown(options=["hann", "hamming", "povey", "rectangular"], value=cfg.window),
        win_ms=widgets.FloatSlider(value=cfg.win_ms, min=min(5, cfg.win_ms), max=max(100, cfg.win_ms),
                                   step=2.5, description="window ms", **released),
        hop_ms=widgets.FloatSlider(value=cfg.hop_ms, min=min(2.5, cfg.hop_ms), max=max(50, cfg.hop_ms),
                                   step=2.5, description="hop ms", **released),
        n_fft=widgets.Dropdown(options=[("auto (holds the window)", AUTO_FFT), *((str(n), n) for n in fft_sizes)],
                               value=start_fft, description="n_fft"),
        n_mels=widgets.IntSlider(value=cfg.n_mels, min=min(16, cfg.n_mels), max=max(256, cfg.n_mels),
                                 step=8, **released),
        fmin=widgets.FloatSlider(value=cfg.fmin, min=0, max=nyquist, step=10, **released),
        fmax=widgets.FloatSlider(value=fmax, min=0, max=nyquist, step=10, **released),
        mel_scale=widgets.ToggleButtons(options=["slaney", "htk"], value=cfg.mel_scale),
        mel_norm=widgets.ToggleButtons(options=[("unit area (slaney)", "slaney"), ("peak 1", "none")],
                                       value=cfg.mel_norm or "none", description="mel_norm"),
        mel_domain=widgets.ToggleButtons(options=[("linear in Hz", "hz"), ("linear in mel", "mel")],
                                         value=cfg.mel_domain, description="mel_domain"),
        log=log,
        top_db=top_db,
    )
    explorer = widgets.interactive(redraw, **controls)
    explorer.children = (clip_player(wave, cfg.sample_rate), *explorer.children)
    return explorer


def clip_player(wave: np.ndarray, sample_rate: int) -> widgets.Audio:
    """A player widget for ``wave`` ``(samples,)`` at ``sample_rate`` Hz (Ogg Vorbis)."""
    return widgets.Audio(value=ogg_bytes(wave, sample_rate), format="ogg", autoplay=False,
                         loop=False)


def patch_view(spec: np.ndarray, patch_size: int, fstride: int, tstride: int) -> tuple[Figure, str]:
    """A spectrogram ``(n_mels, frames)`` with its patch grid drawn, and the token count."""
    n_mels, n_frames = spec.shape[-2:]
    f_patches, t_patches = patch_grid(n_mels, n_frames, patch_size, fstride, tstride)
    boxes = patch_boxes(n_mels, n_frames, patch_size, fstride, tstride)
    fig, ax = plt.subplots(figsize=(8, 3))
    first_row = range(min(3, t_patches))  # fill a few neighbours so the overlap shows
    plot_patch_grid(spec, boxes, patch_size, ax=ax, highlight=list(first_row),
                    title=f"{n_mels} x {n_frames} input, {patch_size}x{patch_size} patches, "
                          f"strides {fstride}/{tstride}")
    summary = (f"grid {f_patches} x {t_patches} = {f_patches * t_patches} patches "
               f"-> {f_patches * t_patches + 2} tokens with [CLS] and [DIST]")
    return fig, summary


def patch_explorer(spec: np.ndarray) -> widgets.Widget:
    """Sliders for the input length (frames: cropped, or padded with the spectrogram's minimum),
    patch size and the two strides over ``patch_view``; redraws on release.

    At 512 frames a 128-band spectrogram gives the paper's ESC-50 grid, 12 x 50 = 600 patches.
    """
    spec = torch.as_tensor(spec)

    def redraw(n_frames, patch_size, fstride, tstride):
        sized = pad_or_crop_frames(spec, n_frames).numpy()  # (n_mels, n_frames)
        try:
            fig, summary = patch_view(sized, patch_size, fstride, tstride)
        except ValueError as error:
            print(f"invalid setting: {error}")
            return
        display(fig)
        plt.close(fig)
        print(summary)

    released = dict(continuous_update=False)
    frames = spec.shape[-1]
    return widgets.interactive(
        redraw,
        n_frames=widgets.IntSlider(value=frames, min=16, max=max(1024, frames), step=8,
                                   description="frames", **released),
        patch_size=widgets.IntSlider(value=16, min=4, max=32, step=2, **released),
        fstride=widgets.IntSlider(value=10, min=2, max=32, **released),
        tstride=widgets.IntSlider(value=10, min=2, max=32, **released),
    )


class LiveCurves:
    """A ``cross_validate``/``train_fold`` callback that redraws the learning curves in place
    after every epoch (one output cell, updated; headless runs just render the last state).

    With ``out_dir`` (the run's folder) it also draws the folds a resumed run reads back from
    disk instead of training them: at once when created, and beside every new epoch.
    """

    def __init__(self, out_dir: Optional[str | Path] = None) -> None:
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.histories: dict[int, dict[str, list[float]]] = self.saved_histories()
        self.handle = None
        if self.histories:
            self.show(plot_learning_curves(self.histories), "folds read back from disk")

    def saved_histories(self) -> dict[int, dict[str, list[float]]]:
        """The history of every finished fold saved under ``out_dir``, by test fold."""
        if self.out_dir is None:
            return {}
        saved = {}
        for path in sorted(self.out_dir.glob(f"*-fold*/{FOLD_RESULT}")):
            fold = FoldResult.from_dict(read_fold_result(path.parent)["result"])
            saved[fold.test_fold] = fold.history
        return saved

    def __call__(self, end: EpochEnd) -> None:
        self.histories = {**self.saved_histories(), **self.histories, end.test_fold: end.history}
        fig = plot_learning_curves(self.histories)
        best = end.history["val_acc"][end.best_epoch]
        status = (f"best validation accuracy {best:.2f}" if np.isfinite(best)
                  else f"training accuracy {end.history['train_acc'][-1]:.2f}")
        self.show(fig, f"{end.model.upper()}: fold {end.test_fold}, epoch {end.epoch + 1}, {status}")

    def show(self, fig: Figure, title: str) -> None:
        """Display ``fig`` titled ``title`` in this callback's output, replacing the last one."""
        fig.suptitle(title, y=1.04)
        if self.handle is None:
            self.handle = display(fig, display_id=True)
        else:
            self.handle.update(fig)
        plt.close(fig)
