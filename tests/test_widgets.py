"""The notebook explorers: the views they redraw, and the widgets wiring them up."""

from __future__ import annotations

import dataclasses

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ast_lab.config import FbankConfig  # noqa: E402
from ast_lab.features import num_frames  # noqa: E402
from ast_lab import widgets as widgets_module  # noqa: E402
from ast_lab.training import EpochEnd  # noqa: E402
from ast_lab.widgets import (  # noqa: E402
    AUTO_FFT,
    LiveCurves,
    explorer_config,
    fbank_explorer,
    fbank_view,
    patch_explorer,
    patch_view,
)


def _chirp(seconds: float = 0.5, rate: int = 16_000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * (200 + 3000 * t) * t)).astype(np.float32)


def test_fbank_view_reports_the_frame_count_of_the_settings():
    wave = _chirp()
    for center in (True, False):
        cfg = FbankConfig(n_mels=40, center=center, hop_ms=5.0)
        fig, summary = fbank_view(wave, cfg)
        frames = num_frames(wave.size, cfg.win_length, cfg.hop_length, cfg.n_fft, center)
        assert f"{frames} frames" in summary and f"(40, {frames})" in summary
        plt.close(fig)


def test_fbank_explorer_redraws_when_a_slider_moves(capsys):
    wave = _chirp()
    explorer = fbank_explorer(wave, FbankConfig(n_mels=32))
    names = {getattr(child, "description", "") for child in explorer.children}
    assert {"window", "n_fft", "n_mels", "mel_scale", "hop ms"} <= names
    slider = next(c for c in explorer.children if getattr(c, "description", "") == "hop ms")
    slider.value = 20.0
    explorer.update()
    cfg = dataclasses.replace(FbankConfig(n_mels=32), hop_ms=20.0)
    expected = num_frames(wave.size, cfg.win_length, cfg.hop_length, cfg.n_fft, True)
    assert f"{expected} frames" in capsys.readouterr().out
    plt.close("all")


def test_fbank_explorer_says_why_a_setting_is_invalid(capsys):
    explorer = fbank_explorer(_chirp(), FbankConfig(n_mels=32))
    _control(explorer, "fmin").value = 7000.0
    _control(explorer, "fmax").value = 1000.0
    explorer.update()
    assert "invalid setting" in capsys.readouterr().out
    plt.close("all")


def test_every_window_the_slider_offers_gets_an_fft_that_holds_it():
    cfg = FbankConfig(n_mels=32)  # 25 ms window, n_fft 512
    for win_ms in (5.0, 25.0, 32.5, 64.0, 100.0):
        auto, note = explorer_config(cfg, AUTO_FFT, win_ms=win_ms)
        assert auto.win_length <= auto.n_fft < 2 * auto.win_length  # smallest power of two
        assert auto.n_fft & (auto.n_fft - 1) == 0 and f"n_fft {auto.n_fft}" in note
    fixed, note = explorer_config(cfg, 1024, win_ms=25.0)
    assert fixed.n_fft == 1024 and "raised" not in note
    raised, note = explorer_config(cfg, 512, win_ms=100.0)  # 1600 samples > 512
    assert raised.n_fft == 2048 and "raised from 512" in note and "1600-sample" in note


def test_the_floor_follows_the_log_control():
    cfg = FbankConfig(n_mels=32, top_db=80.0)
    assert explorer_config(cfg, AUTO_FFT, log="db", top_db=40.0)[0].top_db == 40.0
    assert explorer_config(cfg, AUTO_FFT, log="ln", top_db=40.0)[0].top_db == 80.0
    explorer = fbank_explorer(_chirp(), cfg)
    assert not _control(explorer, "floor (dB)").disabled
    _control(explorer, "log").value = "ln"
    assert _control(explorer, "floor (dB)").disabled
    plt.close("all")


def test_a_window_longer_than_512_samples_is_drawn_not_refused(capsys):
    explorer = fbank_explorer(_chirp(), FbankConfig(n_mels=32))
    assert _control(explorer, "n_fft").value == AUTO_FFT  # 400 samples: 512 is the auto size
    _control(explorer, "window ms").value = 100.0  # 1600 samples
    explorer.update()
    out = capsys.readouterr().out
    assert "invalid" not in out and "n_fft 2048" in out
    plt.close("all")


def test_patch_view_counts_patches_and_tokens():
    spec = np.random.default_rng(0).normal(size=(128, 512)).astype(np.float32)
    fig, summary = patch_view(spec, 16, 10, 10)
    assert "12 x 50 = 600 patches" in summary and "602 tokens" in summary
    plt.close(fig)
    explorer = patch_explorer(spec[:, :100])
    explorer.update()
    plt.close("all")


def test_live_curves_title_says_what_picks_the_weights(monkeypatch):
    shown = []

    class Handle:
        def update(self, fig):
            shown.append(fig._suptitle.get_text())

    def fake_display(fig, display_id=False):
        shown.append(fig._suptitle.get_text())
        return Handle()

    monkeypatch.setattr(widgets_module, "display", fake_display)
    history = {"train_loss": [2.0, 1.0], "train_acc": [0.3, 0.6], "val_loss": [2.1, 1.1],
               "val_acc": [0.25, 0.55], "lr": [1e-3, 1e-3]}
    curves = LiveCurves()
    curves(EpochEnd("ast", 1, 1, history, best_epoch=1))
    no_val = {**history, "val_loss": [float("nan")] * 2, "val_acc": [float("nan")] * 2}
    curves(EpochEnd("ast", 2, 1, no_val, best_epoch=1))
    assert shown == ["AST: fold 1, epoch 2, best validation accuracy 0.55",
                     "AST: fold 2, epoch 2, training accuracy 0.60"]


def _control(explorer, description):
    return next(c for c in explorer.children if getattr(c, "description", "") == description)


def test_fbank_explorer_covers_its_config_and_redraws_on_release():
    cfg = FbankConfig.kaldi_like(n_fft=4096, win_ms=200.0, fmin=3000.0, target_frames=None)
    explorer = fbank_explorer(_chirp(), cfg)
    assert _control(explorer, "n_fft").value == "auto" and _control(explorer, "fmin").value == 3000.0
    assert _control(explorer, "window ms").value == 200.0
    assert not _control(explorer, "hop ms").continuous_update
    assert _control(explorer, "floor (dB)").disabled  # ln logs are floored, not clipped
    assert _control(explorer, "mel_norm").value == "none" and _control(explorer, "mel_domain").value == "mel"
    plt.close("all")


def test_fbank_explorer_switches_mel_scale_norm_and_domain_separately(capsys):
    explorer = fbank_explorer(_chirp(), FbankConfig(n_mels=32))
    _control(explorer, "mel_norm").value = "none"
    explorer.update()
    assert "invalid" not in capsys.readouterr().out
    _control(explorer, "mel_domain").value = "mel"
    explorer.update()
    assert "32 frames" not in capsys.readouterr().out  # redrew, without an error
    plt.close("all")


def test_patch_explorer_can_reach_the_papers_600_patches(capsys):
    spec = np.random.default_rng(0).normal(size=(128, 200)).astype(np.float32)
    explorer = patch_explorer(spec)
    _control(explorer, "frames").value = 512
    explorer.update()
    assert "12 x 50 = 600 patches" in capsys.readouterr().out
    plt.close("all")


def test_patch_grid_is_one_mesh_not_a_rectangle_per_patch():
    spec = np.zeros((128, 1024), dtype=np.float32)
    fig, _ = patch_view(spec, 4, 2, 2)  # 63 x 511 = 32,193 patches
    ax = fig.axes[0]
    assert len(ax.patches) == 0 and len(ax.collections) == 2
    plt.close(fig)


def test_live_curves_draw_the_folds_a_resumed_run_reads_back(monkeypatch, tmp_path):
    import json

    from ast_lab.metrics import FoldResult, Predictions
    from ast_lab.training import FOLD_RESULT

    history = {"train_loss": [2.0], "train_acc": [0.3], "val_loss": [2.1], "val_acc": [0.25],
               "lr": [1e-3]}
    predictions = Predictions(np.array([0]), np.array([1]), np.array([1]), np.array([[0.2, 0.8]]))
    finished = FoldResult("ast", 1, 2, history, 0, False, 0.0, 1.0, 8, 2, predictions, 1.0)
    (tmp_path / "ast-fold1").mkdir()
    (tmp_path / "ast-fold1" / FOLD_RESULT).write_text(json.dumps({"result": finished.to_dict()}))
    titles = []

    class Handle:
        def update(self, fig):
            titles.append(fig._suptitle.get_text())

    def fake_display(fig, display_id=False):
        titles.append(fig._suptitle.get_text())
        return Handle()

    monkeypatch.setattr(widgets_module, "display", fake_display)
    curves = LiveCurves(tmp_path)
    assert list(curves.histories) == [1] and titles == ["folds read back from disk"]
    curves(EpochEnd("ast", 2, 0, history, best_epoch=0))
    assert sorted(curves.histories) == [1, 2] and len(titles) == 2
    plt.close("all")
