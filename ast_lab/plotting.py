"""The shared pictures: spectrograms, frames and windows, token maps, learning curves and the
results folder's figures. Notebook 01's step-by-step pictures are in ``fbank_plots``, the
transformer's mechanics in ``transformer_plots``, a trained AST's maps in ``model_plots``.

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
from matplotlib.collections import PolyCollection
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

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
    band_hz: Optional[Sequence[float]] = None,
    limits: Optional[tuple[float, float]] = None,
) -> Axes:
    """Image of ``(bands, frames)`` with time in seconds (frame index × hop / rate).

    ``hop_length`` (samples) and ``sample_rate`` (Hz) must be those of the transform,
    otherwise the time axis lies. ``band_hz`` (one centre frequency per band, e.g.
    ``features.mel_band_edges(cfg)[1:-1]``) labels a few bands with their frequency too.
    ``limits`` (vmin, vmax) fixes the colour scale; by default it spans this image's values.
    """
    spec = _numpy(spec)
    if spec.ndim != 2:
        raise ValueError(f"plot_spectrogram expects (bands, frames), got shape {spec.shape}")
    ax = _axes(ax)
    seconds = spec.shape[1] * hop_length / sample_rate
    image = ax.imshow(
        spec, origin="lower", aspect="auto", interpolation="nearest",
        extent=(0.0, seconds, -0.5, spec.shape[0] - 0.5),
        vmin=None if limits is None else limits[0], vmax=None if limits is None else limits[1],
    )
    ax.set(xlabel="time (s)", ylabel=ylabel, title=title)
    if band_hz is not None:
        label_bands_in_hz(ax, band_hz)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label=unit, pad=0.01)
    return ax


def label_bands_in_hz(ax: Axes, band_hz: Sequence[float], n_ticks: int = 6) -> None:
    """Tick ``n_ticks`` bands of a ``(bands, frames)`` image as "band (frequency)"."""
    band_hz = _numpy(band_hz)
    bands = np.linspace(0, len(band_hz) - 1, n_ticks).round().astype(int)
    ax.set_yticks(bands, [f"{b} ({_hz(band_hz[b])})" for b in bands])
    ax.set_ylabel(f"{ax.get_ylabel()} (centre)")


def _hz(freq: float) -> str:
    return f"{freq / 1000:.1f} kHz" if freq >= 1000 else f"{freq:.0f} Hz"


def plot_frame_layout(
    starts: Mapping[str, np.ndarray], win_length: int, sample_rate: int, wave=None,
    ax: Optional[Axes] = None, title: str = "Where the first frames sit",
) -> Axes:
    """Each convention's first frames as bars over time (ms), optionally over the waveform.

    ``starts`` maps a convention's name to the first sample of each of its frames in the
    signal (``features.frame_starts``; negative where a frame reaches into the padding).
    """
    ax = _axes(ax, figsize=(9, 1.0 + 0.5 * len(starts)))
    to_ms = 1000.0 / sample_rate
    for row, (name, first) in enumerate(starts.items()):
        first = _numpy(first)
        step = 0.75 / len(first)  # a staircase: one sub-row per frame, so overlaps stay visible
        for i, start in enumerate(first):
            ax.broken_barh([(start * to_ms, win_length * to_ms)], (row + 0.1 + i * step, 0.8 * step),
                           color=f"C{row}")
        ax.text(first.min() * to_ms, row + 0.95, name, fontsize=8, va="top")
    if wave is not None:
        wave = _numpy(wave)
        span = int(np.ceil(max(f.max() for f in starts.values()) + win_length))
        t = np.arange(min(span, wave.size)) * to_ms
        peak = np.abs(wave[: t.size]).max() or 1.0
        ax.plot(t, len(starts) + 0.5 + 0.45 * wave[: t.size] / peak, lw=0.6, color="k")
    ax.axvline(0, color="k", lw=0.8, ls=":")
    ax.set(xlabel="time (ms); the dotted line is the first sample", yticks=[], title=title)
    return ax


def plot_mel_scales(max_hz: float, scales: Mapping[str, np.ndarray], ax: Optional[Axes] = None) -> Axes:
    """Mel against Hz for each scale: ``scales`` maps a name to the mel values of
    ``np.linspace(0, max_hz, n)`` (``features.hz_to_mel``). The scales count in different units
    (HTK reaches 2840 mel at 8 kHz, Slaney 45), so each is drawn as a share of its value at
    ``max_hz``: equal spacing on this axis is what equal spacing in mel means."""
    ax = _axes(ax, figsize=(5, 3))
    for name, mel in scales.items():
        mel = _numpy(mel)
        ax.plot(np.linspace(0, max_hz, mel.size), mel / mel[-1], label=f"{name} (top: {mel[-1]:.0f} mel)")
    ax.axvline(1000, color="grey", lw=0.6, ls=":")
    ax.set(xlabel="frequency (Hz)", ylabel=f"mel / mel({max_hz:g} Hz)",
           title="Hz to mel (dotted: 1 kHz, where Slaney turns logarithmic)")
    ax.legend(fontsize=8)
    return ax


def plot_frame(
    frame, window, spectra: Mapping[str, np.ndarray], sample_rate: int, n_fft: int,
) -> Figure:
    """One frame ``(W,)`` before and after ``window``, and the spectra ``(n_fft//2 + 1,)`` of the
    named versions in dB re the loudest bin, so leakage is seen on a real signal."""
    frame, window = _numpy(frame), _numpy(window)
    fig, (ax_frame, ax_spectrum) = plt.subplots(1, 2, figsize=(11, 3))
    t_ms = np.arange(frame.size) * 1000.0 / sample_rate
    ax_frame.plot(t_ms, frame, lw=0.7, label="frame")
    ax_frame.plot(t_ms, frame * window, lw=0.7, label="windowed")
    ax_frame.set(xlabel="time within frame (ms)", ylabel="amplitude", title="One frame")
    ax_frame.legend(fontsize=8)
    hz = np.arange(n_fft // 2 + 1) * sample_rate / n_fft
    peak = max(float(_numpy(power).max()) for power in spectra.values()) or 1.0
    for name, power in spectra.items():
        db = 10 * np.log10(np.maximum(_numpy(power) / peak, 1e-12))
        ax_spectrum.plot(hz, db, lw=0.8, label=name)
    ax_spectrum.set(xlabel="frequency (Hz)", ylabel="dB re the loudest bin", ylim=(-100, 5),
                    title="Its power spectrum: leakage fills the gaps")
    ax_spectrum.legend(fontsize=8)
    fig.tight_layout()
    return fig


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
    corners = np.asarray(boxes, dtype=float).reshape(-1, 2)[:, ::-1] - 0.5  # (N, 2): (t0, f0)
    square = np.array([[0, 0], [1, 0], [1, 1], [0, 1]]) * patch_size  # (4, 2)
    outlines = corners[:, None, :] + square  # (N, 4, 2): one mesh for every patch
    ax.add_collection(PolyCollection(outlines, facecolors="none", edgecolors="cyan", lw=0.6,
                                     alpha=0.8))
    filled = [i for i in highlight if i < len(outlines)]
    if filled:
        ax.add_collection(PolyCollection(outlines[filled], facecolors="cyan", edgecolors="cyan",
                                         alpha=0.35, lw=0.6))
    ax.set(xlabel="frame", ylabel="mel band", title=title)
    return ax


DIVERGING = ("coolwarm", "RdBu_r", "bwr", "seismic")  # colour maps whose middle means 0


def colour_limits(values: np.ndarray, cmap: str, limits: Optional[tuple[float, float]]) -> tuple:
    """``(vmin, vmax)``: ``limits`` when given; for a diverging map, symmetric about 0 so that
    white means 0; otherwise None (auto-scaled to the data: say so in the title)."""
    if limits is not None:
        return limits
    if cmap in DIVERGING:
        extent = float(np.abs(values).max()) or 1.0
        return -extent, extent
    return None, None


def plot_token_map(
    values, grid: tuple[int, int], ax: Optional[Axes] = None, title: str = "",
    cmap: str = "viridis", label: str = "", limits: Optional[tuple[float, float]] = None,
) -> Axes:
    """Show one value per patch token ``(f_patches * t_patches,)`` laid out on the patch grid.

    ``limits`` fixes the colour scale (see ``colour_limits``; diverging maps centre on 0).
    """
    values = _numpy(values).reshape(grid)
    ax = _axes(ax)
    vmin, vmax = colour_limits(values, cmap, limits)
    image = ax.imshow(values, origin="lower", aspect="auto", cmap=cmap, interpolation="nearest",
                      vmin=vmin, vmax=vmax)
    ax.figure.colorbar(image, ax=ax, label=label, pad=0.01)
    ax.set(xlabel="time patch", ylabel="frequency patch", title=title)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # patch rows are whole numbers
    return ax


def plot_matrix(
    matrix, ax: Optional[Axes] = None, title: str = "", xlabel: str = "", ylabel: str = "",
    cmap: str = "viridis", label: str = "", limits: Optional[tuple[float, float]] = None,
    annotate: bool = False,
) -> Axes:
    """A labelled heat map of any 2-D array (e.g. attention weights ``(tokens, tokens)``) with
    integer ticks (row and column indices); ``limits`` as in ``plot_token_map``. ``annotate``
    writes each cell's value in it (for small matrices)."""
    matrix = _numpy(matrix)
    ax = _axes(ax)
    vmin, vmax = colour_limits(matrix, cmap, limits)
    image = ax.imshow(matrix, aspect="auto", cmap=cmap, interpolation="nearest", vmin=vmin,
                      vmax=vmax)
    ax.figure.colorbar(image, ax=ax, label=label, pad=0.01)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(MaxNLocator(integer=True))
    if annotate:
        middle = np.mean(image.get_clim())
        for (i, j), value in np.ndenumerate(matrix):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8,
                    color="black" if value > middle else "white")
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


def plot_fold_protocol(fold_ids: Sequence[int], val_fraction: float = 0.2,
                       ax: Optional[Axes] = None) -> Axes:
    """Per round, which fold tests, and how validation is taken, as ``fold_split`` does it.

    Left: the folds, one of them testing. Right: the other folds pooled into one set of
    training clips, of which one group-stratified part (about ``val_fraction``, whole
    recordings, every class) validates; the rest trains. No fold is sliced on its own.
    """
    folds = list(fold_ids)
    n = len(folds)
    ax = _axes(ax, figsize=(9, 0.45 * n + 1.2))
    colours = {"train": "#4c72b0", "test": "#dd8452", "val": "#55a868"}
    pool_x, pool_w = n + 1.0, 4.0  # where the pooled training clips are drawn, and how wide
    for row, test_fold in enumerate(folds):
        for col, fold in enumerate(folds):
            role = "test" if fold == test_fold else "train"
            ax.add_patch(Rectangle((col, row), 0.95, 0.8, color=colours[role]))
            ax.text(col + 0.47, row + 0.4, f"{fold}", ha="center", va="center", color="white")
        ax.annotate("", xy=(pool_x - 0.1, row + 0.4), xytext=(n + 0.1, row + 0.4),
                    arrowprops=dict(arrowstyle="->", lw=0.8))
        train_w = pool_w * (1 - val_fraction)
        ax.add_patch(Rectangle((pool_x, row), train_w, 0.8, color=colours["train"]))
        ax.add_patch(Rectangle((pool_x + train_w, row), pool_w - train_w, 0.8, color=colours["val"]))
        others = ",".join(str(f) for f in folds if f != test_fold)
        ax.text(pool_x + train_w / 2, row + 0.4, f"folds {others} pooled: train", ha="center",
                va="center", color="white", fontsize=8)
        ax.text(pool_x + train_w + (pool_w - train_w) / 2, row + 0.4, "val", ha="center",
                va="center", color="white", fontsize=8)
    ax.set(xlim=(0, pool_x + pool_w), ylim=(n, 0), xticks=[],
           yticks=np.arange(n) + 0.4, yticklabels=[f"round {f}" for f in folds],
           title=(f"Orange tests. The other folds are pooled; {val_fraction:.0%} of their "
                  "recordings (grouped by source,\nstratified by class) validate for early "
                  "stopping (green), the rest train (blue)"))
    for spine in ax.spines.values():
        spine.set_visible(False)
    return ax


def plot_spectrogram_grid(
    specs: Sequence, titles: Sequence[str], *, hop_length: int, sample_rate: int, ncols: int = 4,
    unit: str = "value", limits: Optional[tuple[float, float]] = None,
) -> Figure:
    """Small multiples of ``(bands, frames)`` spectrograms sharing axes, one title each.

    All panels share one colour scale, ``limits`` or else the range of all their values, and
    one colour bar labelled ``unit``, so equal colours mean equal values across the grid.
    """
    arrays = [_numpy(spec) for spec in specs]
    if limits is None:
        limits = (min(float(a.min()) for a in arrays), max(float(a.max()) for a in arrays))
    nrows = -(-len(specs) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3 * ncols + 0.8, 2.2 * nrows), sharex=True,
                             sharey=True, squeeze=False)
    for ax, spec, title in zip(axes.flat, arrays, titles):
        plot_spectrogram(spec, hop_length=hop_length, sample_rate=sample_rate, ax=ax, title=title,
                         colorbar=False, limits=limits)
    for ax in axes.flat[len(specs):]:
        ax.set_visible(False)
    fig.tight_layout()
    fig.colorbar(axes.flat[0].images[0], ax=axes.ravel().tolist(), label=f"{unit} (one scale)",
                 pad=0.01, fraction=0.02)
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
