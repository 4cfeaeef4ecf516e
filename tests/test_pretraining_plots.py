"""Notebook 05's pictures draw the data they are given, and the fine-tuning loop trains."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from ast_lab import pretraining_plots  # noqa: E402
from ast_lab.anchors import Anchor  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_rgb_filters_show_each_slice_and_their_sum():
    weight = torch.randn(6, 3, 4, 4)
    fig = pretraining_plots.plot_rgb_filters(weight, picks=[2, 5])
    rows = np.array(fig.axes).reshape(2, 5)
    for row, index in zip(rows, (2, 5)):
        shown = [ax.images[0].get_array() for ax in row[1:]]
        for channel in range(3):
            np.testing.assert_allclose(shown[channel], weight[index, channel].numpy())
        np.testing.assert_allclose(shown[3], weight[index].sum(0).numpy(), rtol=1e-6)
        low, high = row[4].images[0].get_clim()
        assert low == -high  # one symmetric scale: white is 0


def test_position_channels_and_similarity_show_each_stage():
    stages = {"square": torch.randn(8, 6, 6), "wide": torch.randn(8, 3, 12)}
    fig = pretraining_plots.plot_position_channels(stages, channels=[1, 4])
    axes = np.array(fig.axes).reshape(2, 2)
    np.testing.assert_allclose(axes[1, 1].images[0].get_array(), stages["wide"][4].numpy())
    assert "3 x 12" in axes[0, 1].get_title()
    fig = pretraining_plots.plot_position_similarity(stages, {"square": (2, 3), "wide": (1, 5)})
    similarity = pretraining_plots.cell_similarity(stages["wide"], 1, 5)  # (3, 12)
    assert similarity[1, 5] == pytest.approx(1.0)
    np.testing.assert_allclose(fig.axes[1].images[0].get_array(), similarity.numpy(), rtol=1e-6)


def test_fine_tuning_curves_plot_every_epoch():
    histories = {"a": {"train_loss": [2.0, 1.0], "val_loss": [2.1, 1.5], "val_acc": [0.2, 0.6]},
                 "b": {"train_loss": [2.2, 1.9], "val_loss": [2.3, 2.0], "val_acc": [0.1, 0.3]}}
    fig = pretraining_plots.plot_fine_tuning(histories)
    loss_ax, acc_ax = fig.axes
    assert [list(line.get_ydata()) for line in loss_ax.lines][:2] == [[2.0, 1.0], [2.1, 1.5]]
    assert list(acc_ax.lines[1].get_ydata()) == [0.1, 0.3]


def test_standing_draws_every_anchor_and_run_best_at_the_top():
    class Run:
        def summary(self):
            return {"accuracy": (0.5, 0.04)}

    anchors = (Anchor("low", 0.2, False, "x"), Anchor("high", 0.9, True, "y"))
    fig = pretraining_plots.plot_standing({"ours": Run()}, anchors)
    bars = fig.axes[0].patches
    assert [round(bar.get_width(), 6) for bar in bars] == [20.0, 50.0, 90.0]
    labels = [tick.get_text() for tick in fig.axes[0].get_yticklabels()]
    assert labels == ["low", "ours: ours", "high"]


def test_fine_tune_trains_a_model_it_is_given(tmp_path, monkeypatch):
    from ast_lab.config import ASTConfig, DataConfig, FbankConfig, TrainConfig
    from ast_lab.data import fold_split, load_dataset
    from ast_lab.fine_tuning import fine_tune
    from ast_lab.models import AST

    monkeypatch.setenv("AST_LAB_HOME", str(tmp_path / "home"))
    data = load_dataset(DataConfig(root=str(tmp_path / "syn"), clip_seconds=0.5,
                                   synthetic_per_class_per_fold=1), FbankConfig(n_mels=32))
    split = fold_split(data.metadata, test_fold=1, val_fraction=0.25)
    cfg = ASTConfig.preset("micro", depth=1, n_mels=data.n_mels, n_frames=data.n_frames,
                           num_classes=data.num_classes)
    train = TrainConfig(epochs=2, batch_size=8, warmup_epochs=1)
    histories = []
    for _ in range(2):
        torch.manual_seed(0)
        histories.append(fine_tune(AST(cfg), data, split, train, seed=3))
    assert histories[0] == histories[1]  # the same start and seed: the same run
    assert all(len(v) == 2 and np.isfinite(v).all() for v in histories[0].values())
