"""Every picture the notebooks, the demo and the results folder draw.

One module so that figure defaults are set once (``use_style``) and every spectrogram's time
axis is computed from the same hop and sample rate as the transform that made it.
Functions take an optional ``ax`` and return it, so notebooks can stack comparisons.
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

STYLE = {
    "figure.figsize": (8.0, 3.2),
    "figure.dpi": 100,
    "axes.grid": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "image.cmap": "magma",
    "savefig.bbox": "tight",
}


def use_style() -> None:
    """Apply the project's figure defaults (called once on import)."""
    plt.rcParams.update(STYLE)


use_style()


def _axes(ax: Optional[Axes], figsize: Optional[tuple[float, float]] = None) -> Axes:
    """Return ``ax`` or a fresh one."""
    if ax is not None:
        return ax
    _, new_ax = plt.subplots(figsize=figsize)
    return new_ax


def _numpy(x) -> np.ndarray:
    """A numpy copy of an array or (CPU/GPU, grad-carrying) tensor."""
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    return np.asarray(x)


def plot_waveform(
    wave, sample_rate: int, ax: Optional[Axes] = None, title: str = "Waveform"
) -> Axes:
    """Plot a mono waveform ``(samples,)`` against time in seconds."""
    wave = _numpy(wave)
    ax = _axes(ax)
    t = np.arange(wave.shape[-1]) / sample_rate
    ax.plot(t, wave, lw=0.6)
    ax.set(xlabel="time (s)", ylabel="amplitude", title=title, xlim=(0, t[-1] if len(t) else 1))
    return ax


def plot_spectrogram(
    spec,
    *,
    hop_length: int,
    sample_rate: int,
    ax: Optional[Axes] = None,
    title: str = "Log-mel spectrogram",
    unit: str = "dB",
    ylabel: str = "mel band",
    colorbar: bool = True,
) -> Axes:
    """Image of ``(bands, frames)`` with time in seconds (frame index × hop / rate).

    ``hop_length`` (samples) and ``sample_rate`` (Hz) must be those of the transform,
    otherwise the time axis lies.
    """
    spec = _numpy(spec)
    if spec.ndim != 2:
        raise ValueError(f"plot_spectrogram expects (bands, frames), got shape {spec.shape}")
    ax = _axes(ax)
    seconds = spec.shape[1] * hop_length / sample_rate
    image = ax.imshow(
        spec, origin="lower", aspect="auto", interpolation="nearest",
        extent=(0.0, seconds, -0.5, spec.shape[0] - 0.5),
    )
    ax.set(xlabel="time (s)", ylabel=ylabel, title=title)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label=unit, pad=0.01)
    return ax


def plot_frames(frames, sample_rate: int, ax: Optional[Axes] = None, title: str = "Frames") -> Axes:
    """Overlay a few frames ``(n, win_length)`` offset vertically, time in ms."""
    frames = _numpy(frames)
    ax = _axes(ax)
    t_ms = np.arange(frames.shape[-1]) * 1000.0 / sample_rate
    step = 2.2 * (np.abs(frames).max() or 1.0)
    for i, frame in enumerate(frames):
        ax.plot(t_ms, frame - i * step, lw=0.7)
    ax.set(xlabel="time within frame (ms)", yticks=[], title=title)
    return ax


def plot_windows(
    windows: Mapping[str, np.ndarray], n_fft: int, ax_shape: Optional[Axes] = None,
    ax_spectrum: Optional[Axes] = None,
) -> tuple[Axes, Axes]:
    """Window shapes and their spectra (dB relative to each window's peak, zero-padded to 8·n_fft)."""
    if ax_shape is None or ax_spectrum is None:
        _, (ax_shape, ax_spectrum) = plt.subplots(1, 2, figsize=(10, 3))
    for name, window in windows.items():
        window = _numpy(window)
        ax_shape.plot(window, label=name)
        spectrum = np.abs(np.fft.rfft(window, 8 * n_fft))
        db = 20 * np.log10(np.maximum(spectrum / spectrum.max(), 1e-8))
        bins = np.arange(db.size) / 8.0  # in units of the n_fft bin spacing
        ax_spectrum.plot(bins, db, lw=0.8, label=name)
    ax_shape.set(xlabel="sample", ylabel="weight", title="Window shapes")
    ax_spectrum.set(xlim=(0, 12), ylim=(-100, 5), xlabel=f"frequency (bins of the {n_fft}-point FFT)",
                    ylabel="dB", title="Window spectra: main lobe and side lobes")
    ax_shape.legend(fontsize=8)
    return ax_shape, ax_spectrum


def plot_filterbank(fb, sample_rate: int, ax: Optional[Axes] = None, every: int = 1,
                    title: str = "Mel filterbank") -> Axes:
    """Mel triangles ``(n_mels, n_fft//2+1)`` against frequency in Hz (every ``every``-th filter)."""
    fb = _numpy(fb)
    ax = _axes(ax)
    hz = np.linspace(0, sample_rate / 2, fb.shape[1])
    for row in fb[::every]:
        ax.plot(hz, row, lw=0.7)
    ax.set(xlabel="frequency (Hz)", ylabel="weight", title=title)
    return ax


def plot_patch_grid(
    spec, boxes: Sequence[tuple[int, int]], patch_size: int, *, ax: Optional[Axes] = None,
    highlight: Sequence[int] = (), title: str = "Patches",
) -> Axes:
    """Draw patch outlines on a spectrogram ``(n_mels, frames)`` (axes in bins and frames).

    ``boxes`` are the (frequency start, time start) of each patch in row-major token order;
    indices in ``highlight`` are filled so overlaps are visible.
    """
    spec = _numpy(spec)
    ax = _axes(ax)
    ax.imshow(spec, origin="lower", aspect="auto", interpolation="nearest")
    for i, (f0, t0) in enumerate(boxes):
        filled = i in highlight
        ax.add_patch(Rectangle(
            (t0 - 0.5, f0 - 0.5), patch_size, patch_size, fill=filled,
            alpha=0.35 if filled else 0.8, lw=0.6, edgecolor="cyan", facecolor="cyan",
        ))
    ax.set(xlabel="frame", ylabel="mel band", title=title)
    return ax


def plot_token_map(
    values, grid: tuple[int, int], ax: Optional[Axes] = None, title: str = "",
    cmap: str = "viridis", label: str = "",
) -> Axes:
    """Show one value per patch token ``(f_patches * t_patches,)`` laid out on the patch grid."""
    values = _numpy(values).reshape(grid)
    ax = _axes(ax)
    image = ax.imshow(values, origin="lower", aspect="auto", cmap=cmap, interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, label=label, pad=0.01)
    ax.set(xlabel="time patch", ylabel="frequency patch", title=title)
    return ax


def plot_matrix(
    matrix, ax: Optional[Axes] = None, title: str = "", xlabel: str = "", ylabel: str = "",
    cmap: str = "viridis", label: str = "",
) -> Axes:
    """A labelled heat map of any 2-D array (e.g. attention weights ``(tokens, tokens)``)."""
    matrix = _numpy(matrix)
    ax = _axes(ax)
    image = ax.imshow(matrix, aspect="auto", cmap=cmap, interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, label=label, pad=0.01)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return ax


def plot_learning_curves(histories: Mapping[int, Mapping[str, Sequence[float]]]) -> Figure:
    """Loss and accuracy per epoch for each fold (keys train_loss, val_loss, train_acc, val_acc).

    Training is drawn solid, validation dashed in the same colour; runs without a validation
    split (their val values are NaN) draw training only, and the titles say so.
    """
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.2))
    validated = False
    for fold, history in sorted(histories.items()):
        epochs = np.arange(1, len(history["train_loss"]) + 1)
        (line,) = ax_loss.plot(epochs, history["train_loss"], lw=1)
        ax_acc.plot(epochs, history["train_acc"], lw=1, color=line.get_color(),
                    label=f"fold {fold}")
        if np.isfinite(history["val_acc"]).any():
            validated = True
            ax_loss.plot(epochs, history["val_loss"], lw=1, ls="--", color=line.get_color())
            ax_acc.plot(epochs, history["val_acc"], lw=1, ls="--", color=line.get_color())
    note = "(solid train, dashed val)" if validated else "(training; no validation split)"
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title=f"Loss {note}")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", ylim=(0, 1.02), title=f"Accuracy {note}")
    ax_acc.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(cm, class_names: Sequence[str], ax: Optional[Axes] = None,
                          title: str = "Confusion matrix") -> Axes:
    """Row-normalised confusion matrix ``(C, C)`` (rows: true class) with counts in the cells."""
    cm = _numpy(cm)
    n = len(class_names)
    ax = _axes(ax, figsize=(0.35 * n + 2.5, 0.35 * n + 2))
    rates = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    image = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ax.figure.colorbar(image, ax=ax, label="share of the true class", pad=0.01)
    ax.set_xticks(range(n), class_names, rotation=90, fontsize=7)
    ax.set_yticks(range(n), class_names, fontsize=7)
    if n <= 20:
        for i, j in zip(*np.nonzero(cm)):
            ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=6,
                    color="white" if rates[i, j] > 0.5 else "black")
    ax.set(xlabel="predicted", ylabel="true", title=title)
    return ax


def plot_per_class_f1(f1, class_names: Sequence[str], ax: Optional[Axes] = None,
                      title: str = "F1 per class") -> Axes:
    """Horizontal bars of per-class F1 ``(C,)``, worst class at the top."""
    f1 = _numpy(f1)
    order = np.argsort(f1)[::-1]
    ax = _axes(ax, figsize=(5, 0.22 * len(class_names) + 1))
    ax.barh(np.arange(len(order)), f1[order])
    ax.set_yticks(range(len(order)), [class_names[i] for i in order], fontsize=7)
    ax.set(xlim=(0, 1), xlabel="F1", title=title)
    return ax


def plot_fold_protocol(fold_ids: Sequence[int], ax: Optional[Axes] = None) -> Axes:
    """Which folds train (with a validation share carved out), and which one tests, per round."""
    folds = list(fold_ids)
    ax = _axes(ax, figsize=(6, 0.45 * len(folds) + 1))
    colours = {"train": "#4c72b0", "test": "#dd8452"}
    for row, test_fold in enumerate(folds):
        for col, fold in enumerate(folds):
            role = "test" if fold == test_fold else "train"
            ax.add_patch(Rectangle((col, row), 0.95, 0.8, color=colours[role]))
            if role == "train":  # the validation share taken from each training fold
                ax.add_patch(Rectangle((col + 0.76, row), 0.19, 0.8, color="#55a868"))
            ax.text(col + 0.38, row + 0.4, f"{fold}", ha="center", va="center", color="white")
    ax.set(xlim=(0, len(folds)), ylim=(len(folds), 0), xticks=[],
           yticks=np.arange(len(folds)) + 0.4, yticklabels=[f"round {f}" for f in folds],
           title="Folds: blue trains, green validates (early stopping), orange tests")
    for spine in ax.spines.values():
        spine.set_visible(False)
    return ax


def plot_spectrogram_grid(
    specs: Sequence, titles: Sequence[str], *, hop_length: int, sample_rate: int, ncols: int = 4,
) -> Figure:
    """Small multiples of ``(bands, frames)`` spectrograms sharing axes, one title each."""
    nrows = -(-len(specs) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3 * ncols, 2.2 * nrows), sharex=True,
                             sharey=True, squeeze=False)
    for ax, spec, title in zip(axes.flat, specs, titles):
        plot_spectrogram(spec, hop_length=hop_length, sample_rate=sample_rate, ax=ax, title=title,
                         colorbar=False)
    for ax in axes.flat[len(specs):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def plot_misclassified(
    features, wrong: Sequence[tuple[int, int, int, float]], class_names: Sequence[str], *,
    hop_length: int, sample_rate: int, limit: int = 8, ncols: int = 4,
) -> Figure:
    """The spectrograms of misclassified clips, titled "true -> predicted (probability)".

    ``features``: ``(n_clips, n_mels, frames)`` (a FeatureSet's ``features``); ``wrong``: as
    ``Results.misclassified()`` returns, of which the first ``limit`` are drawn.
    """
    shown = list(wrong)[:limit]
    if not shown:
        raise ValueError("no misclassified clips to show")
    return plot_spectrogram_grid(
        [features[i] for i, _, _, _ in shown],
        [f"{class_names[t]} -> {class_names[p]} ({prob:.2f})" for _, t, p, prob in shown],
        hop_length=hop_length, sample_rate=sample_rate, ncols=ncols,
    )
