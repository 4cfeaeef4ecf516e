"""Notebook 01's pictures draw what they claim: frames where they sit, two window lengths on
one scale, exact triangles with their FFT-bin samples, and the filterbank product's shapes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ast_lab import fbank_plots, features  # noqa: E402
from ast_lab.config import FbankConfig  # noqa: E402
from ast_lab.resolution import config_for_window  # noqa: E402


def test_frames_are_drawn_at_their_place_in_the_signal():
    wave = np.sin(np.arange(4000) / 10.0).astype(np.float32)
    starts = features.frame_starts(4, 400, 160, 512, center=True)  # [-200, -40, 120, 280]
    ax = fbank_plots.plot_frames_in_time(wave, starts, 400, 16_000)
    signal, *frames = ax.lines
    assert len(frames) == 4
    for line, start in zip(frames, starts):
        x = line.get_xdata()
        assert np.isclose(x[0], start / 16.0) and np.isclose(x[-1], (start + 399) / 16.0)  # ms
    assert len(ax.patches) == 4  # one shaded span per frame: the overlaps darken
    assert "25 ms each, a new one every 10 ms" in ax.get_title()
    plt.close("all")


def test_two_windows_share_one_colour_scale_and_say_their_bin_spacing():
    cfg = FbankConfig()
    rng = np.random.default_rng(0)
    wave = rng.normal(size=8000).astype(np.float32)
    fig = fbank_plots.plot_window_lengths(wave, [config_for_window(cfg, ms) for ms in (8, 64)],
                                          max_hz=4000)
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 2 and all(im.get_clim() == (fbank_plots.FLOOR_DB, 0.0) for im in images)
    assert [im.get_array().shape[0] for im in images] == [65, 513]  # n_fft 128 and 1024
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert "125 Hz apart" in titles[0] and "15.625 Hz apart" in titles[1]
    plt.close("all")


def test_filterbank_lines_are_exact_triangles_and_dots_are_the_fft_bins():
    for norm in (None, "slaney"):
        cfg = FbankConfig(n_mels=16, mel_norm=norm)
        ax = fbank_plots.plot_filterbank(cfg, every=1)
        lines, dots = ax.lines[0::2], ax.lines[1::2]
        edges = features.mel_band_edges(cfg)
        peaks = np.ones(16) if norm is None else 2.0 / (edges[2:] - edges[:-2])
        assert np.allclose([line.get_ydata().max() for line in lines], peaks)  # true heights
        bank = features.mel_filterbank(cfg).numpy()
        assert np.allclose(dots[3].get_ydata(), bank[3][bank[3] > 0])
        assert all(d.get_ydata().max() <= p + 1e-9 for d, p in zip(dots, peaks))
        plt.close("all")


def test_the_filterbank_product_draws_three_images_with_their_shapes():
    fb = np.random.default_rng(0).random((8, 33))  # (mels, bins)
    power = np.random.default_rng(1).random((33, 20)) + 1e-3  # (bins, frames)
    fig = fbank_plots.plot_filterbank_product(fb, power, 16_000, 160)
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert [im.get_array().shape for im in images] == [(8, 33), (33, 20), (8, 20)]
    mel_db = 10 * np.log10(fb @ power / (fb @ power).max())
    assert np.allclose(images[2].get_array(), np.maximum(mel_db, fbank_plots.FLOOR_DB))
    assert "(8, 33) @ (33, 20) = (8, 20)" in fig._suptitle.get_text()
    assert sum(1 for ax in fig.axes if not ax.images) == 3  # one colour bar per image
    plt.close("all")
