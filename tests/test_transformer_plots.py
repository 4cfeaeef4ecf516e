"""Notebooks 02 and 03's mechanics pictures: patches and heads on one stated scale, and the
cost of tokens in time and memory."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from ast_lab import transformer_plots  # noqa: E402
from ast_lab.config import ASTConfig  # noqa: E402
from ast_lab.models.cost import StrideCost, score_bytes  # noqa: E402


def test_each_head_gets_a_contiguous_slice_of_the_channels():
    x = torch.randn(10, 64)  # (tokens, dim)
    fig = transformer_plots.plot_head_split(x, 4)
    images = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    assert len(images) == 5 and np.allclose(images[0], x.numpy())
    for h, head in enumerate(images[1:]):
        assert head.shape == (10, 16) and np.allclose(head, x[:, 16 * h: 16 * (h + 1)].numpy())
    assert len({ax.images[0].get_clim() for ax in fig.axes if ax.images}) == 1  # one scale
    assert "(4, 10, 16)" in fig._suptitle.get_text()
    plt.close("all")


def test_patches_share_the_given_scale_and_a_colour_bar():
    fig = transformer_plots.plot_patches(np.zeros((3, 16, 16)), ["a", "b", "c"], (-2.0, 3.0),
                                         "std units")
    assert [ax.images[0].get_clim() for ax in fig.axes if ax.images] == [(-2.0, 3.0)] * 3
    assert any(ax.get_ylabel() == "std units" for ax in fig.axes)
    plt.close("all")


def test_score_memory_grows_with_the_square_of_the_tokens():
    assert score_bytes(10, heads=4, depth=3, batch_size=2) == 2 * 3 * 4 * 100 * 4
    assert score_bytes(20, 4, 3, 2) == 4 * score_bytes(10, 4, 3, 2)


def test_token_cost_plots_time_and_memory_against_tokens():
    cfg = ASTConfig(n_mels=32, n_frames=40, embed_dim=16, depth=2, num_heads=2, num_classes=3)
    costs = [StrideCost(16, (2, 2), 6, 0.01), StrideCost(8, (3, 4), 14, 0.03)]
    fig = transformer_plots.plot_token_cost(costs, cfg, batch_size=4)
    ax_time, ax_memory = fig.axes
    assert np.allclose(ax_time.lines[0].get_ydata(), [10.0, 30.0])  # ms
    mib = [score_bytes(t, 2, 2, 4) / 2**20 for t in (6, 14)]
    assert np.allclose(ax_memory.lines[0].get_ydata(), mib)
    plt.close("all")
