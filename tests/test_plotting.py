"""Pictures whose content is a claim: the fold protocol, frame positions, colour scales."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from ast_lab import features, plotting  # noqa: E402
from ast_lab.config import FbankConfig  # noqa: E402


def test_the_fold_protocol_pools_the_training_folds_and_validates_one_part():
    ax = plotting.plot_fold_protocol([1, 2, 3, 4, 5], val_fraction=0.2)
    green = [p for p in ax.patches if p.get_facecolor()[:3] == matplotlib.colors.to_rgb("#55a868")]
    assert len(green) == 5  # one validation part per round, not a slice of every fold
    assert all(np.isclose(p.get_width(), 0.2 * 4.0) for p in green)
    assert "pooled" in ax.get_title()
    plt.close("all")


def test_frame_starts_are_where_frame_signal_cuts():
    signal = torch.arange(2000, dtype=torch.float64)[None]  # sample i has value i
    for center in (True, False):
        frames = features.frame_signal(signal, 400, 160, n_fft=512, center=center)
        starts = features.frame_starts(frames.shape[1], 400, 160, 512, center)
        inside = starts >= 0
        assert np.array_equal(frames[0, inside, 0].numpy(), starts[inside])
    assert features.frame_starts(3, 400, 160, 512, True).tolist() == [-200, -40, 120]


def test_diverging_maps_centre_on_zero_and_limits_are_kept():
    ax = plotting.plot_token_map(np.array([0.1, 0.3, -0.2, 0.0]), (2, 2), cmap="coolwarm")
    assert ax.images[0].get_clim() == (-0.3, 0.3)
    ax = plotting.plot_matrix(np.eye(3) * 0.3, limits=(0, 1))
    assert ax.images[0].get_clim() == (0, 1)
    plt.close("all")


def test_mel_axis_is_labelled_in_hz():
    cfg = FbankConfig(n_mels=40)
    ax = plotting.plot_spectrogram(np.zeros((40, 10)), hop_length=160, sample_rate=16_000,
                                   band_hz=features.mel_band_edges(cfg)[1:-1])
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0].startswith("0 (") and "kHz" in labels[-1]
    plt.close("all")


def test_small_matrices_get_integer_ticks_and_their_values_written_in():
    ax = plotting.plot_matrix(np.array([[0.25, 0.75], [0.5, 0.5]]), limits=(0, 1), annotate=True)
    ax.figure.canvas.draw()
    assert all(float(t).is_integer() for t in ax.get_xticks() if -0.5 <= t <= 1.5)
    assert sorted(t.get_text() for t in ax.texts) == ["0.25", "0.50", "0.50", "0.75"]
    plt.close("all")


def test_a_spectrogram_grid_has_one_colour_scale_and_one_colour_bar():
    specs = [np.zeros((4, 5)), np.full((4, 5), 10.0)]
    fig = plotting.plot_spectrogram_grid(specs, ["a", "b"], hop_length=160, sample_rate=16_000,
                                         ncols=2, unit="dB")
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert [im.get_clim() for im in images] == [(0.0, 10.0)] * 2
    assert [ax.get_ylabel() for ax in fig.axes if not ax.images] == ["dB (one scale)"]
    plt.close("all")
