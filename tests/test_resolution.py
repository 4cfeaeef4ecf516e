"""The window experiment of notebook 01: an FFT that holds any window, and the two test signals
measured through the project's own STFT (short windows separate clicks, long ones tones)."""

from __future__ import annotations

import numpy as np
import pytest

from ast_lab.config import FbankConfig
from ast_lab.features import check_config
from ast_lab.resolution import (WINDOWS_MS, config_for_window, dip_db, format_table,
                                resolution_table, two_clicks, two_tones)


@pytest.mark.parametrize("win_ms, n_fft", [(25.0, 512), (32.0, 512), (64.0, 1024), (100.0, 2048), (8.0, 128)])
def test_the_fft_is_the_smallest_power_of_two_that_holds_the_window(win_ms, n_fft):
    cfg = config_for_window(FbankConfig(), win_ms)
    assert (cfg.win_ms, cfg.n_fft, cfg.hop_ms, cfg.n_mels) == (win_ms, n_fft, 10.0, 128)
    check_config(cfg)  # accepted: the window fits


def test_dips_are_measured_between_two_peaks():
    assert dip_db(np.array([1.0, 0.5, 1.0]), 0, 2) == pytest.approx(10 * np.log10(2))
    assert dip_db(np.array([1.0, 2.0, 1.0]), 2, 0) == 0.0  # no dip: one bump
    assert dip_db(np.array([1.0, 1.0]), 0, 1) == 0.0  # nothing between them
    assert dip_db(np.array([1.0, 0.0, 4.0]), 0, 2) == 60.0  # silence between: the cap


def test_the_test_signals():
    cfg = FbankConfig()
    clicks = two_clicks(cfg, gap_ms=30.0)
    assert np.flatnonzero(clicks).tolist() == [8000, 8480]  # 0.5 s and 30 ms later, at 16 kHz
    tones = two_tones(cfg, (1000.0, 1050.0))
    spectrum = np.abs(np.fft.rfft(tones))  # 1 s: bins 1 Hz apart
    assert sorted(np.argsort(spectrum)[-2:].tolist()) == [1000, 1050]


def test_short_windows_resolve_the_clicks_and_long_ones_the_tones():
    rows = resolution_table(config_for_window, FbankConfig(), WINDOWS_MS)
    assert [row.win_ms for row in rows] == list(WINDOWS_MS)
    tones = [row.tones_resolved for row in rows]
    clicks = [row.clicks_resolved for row in rows]
    assert tones == sorted(tones) and tones[-1] and not tones[0]  # from some length on
    assert clicks == sorted(clicks, reverse=True) and clicks[0] and not clicks[-1]  # up to one
    assert not any(t and c for t, c in zip(tones, clicks))  # no window does both here
    assert "(two)" in format_table(rows) and "n_fft" in format_table(rows)


def test_the_picture_draws_one_line_per_window_in_each_panel():
    import matplotlib.pyplot as plt

    from ast_lab.resolution import plot_resolution

    fig = plot_resolution(config_for_window, FbankConfig(), (16.0, 64.0))
    assert [len(ax.lines) for ax in fig.axes] == [2 + 2, 2 + 2]  # 2 windows + 2 dotted marks
    plt.close(fig)
