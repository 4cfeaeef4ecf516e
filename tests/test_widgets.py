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
    LiveCurves,
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
    window = next(c for c in explorer.children if getattr(c, "description", "") == "window ms")
    window.value = 100.0  # 1600 samples > n_fft 512
    explorer.update()
    assert "invalid setting" in capsys.readouterr().out
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
