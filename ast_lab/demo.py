"""The main job: the built-in set -> features -> 5-fold CV of the CNN and the AST -> one table.

``ast-lab demo`` (the README's ``make demo``) and notebook 04 call ``run_demo`` with
``demo_settings()``. Quick mode (``AST_LAB_QUICK=1``, set by the test command) shrinks data,
folds and epochs so notebooks run in seconds under nbval; the full settings are the defaults.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import matplotlib.pyplot as plt
import numpy as np

from .config import (ASTConfig, CNNConfig, DataConfig, FbankConfig, TrainConfig,
                     replace_settings)
from .data import FeatureSet, load_dataset
from .data.paths import ast_lab_home
from .metrics import Results, results_table
from .plotting import plot_spectrogram_grid
from .training import cross_validate

QUICK_ENV = "AST_LAB_QUICK"


def quick_mode() -> bool:
    """True when ``AST_LAB_QUICK`` is set to anything but "" or "0"."""
    return os.environ.get(QUICK_ENV, "") not in ("", "0")


@dataclass
class DemoSettings:
    """Everything the demo runs with; each default's reason is in ``demo_settings``."""

    data: DataConfig
    fbank: FbankConfig
    cnn: CNNConfig
    ast: ASTConfig
    cnn_train: TrainConfig
    ast_train: TrainConfig
    folds: Optional[tuple[int, ...]] = None  # test folds to run; None = all five

    def with_settings(self, settings: dict[str, Any]) -> "DemoSettings":
        """These settings with config fields replaced, keyed ``"<part>.<field>"`` for a part of
        ``DEMO_PARTS`` (e.g. ``{"ast_train.epochs": 10}``); ValueError names an unknown one."""
        return replace_settings(self, settings, DEMO_PARTS)


DEMO_PARTS = ("data", "fbank", "cnn", "ast", "cnn_train", "ast_train")  # its config fields


def demo_settings(quick: Optional[bool] = None) -> DemoSettings:
    """The demo's settings: full by default, shrunk in quick mode (``quick_mode()`` if None).

    Full: the built-in set at 48 clips per class and fold (2,880 one-second clips; at 32 the
    AST scored 0.940 on validation against 0.963 at 48), 48 mel bands, a 3-stage CNN for 4
    epochs and the ``micro`` AST cut to 2 blocks, its patch tokens pooled by maximum, for 6
    epochs, batches of 16, one warm-up epoch. Chosen on the validation splits of folds 1-2
    (AST) or 1-5 (CNN), never on a test fold (``results/tuning/demo.md``): max pooling gave
    the AST 0.973 against 0.892 for the mean of [CLS] and [DIST] at 8 epochs; 48 bands gave
    0.976 against 0.963 at 64 (2 blocks, 8 epochs) and cut the CNN's time by a fifth (0.993
    at 48, 0.986 at 64); 6 epochs instead of 8 gave 0.956 for three quarters of the time;
    patches without overlap (stride 16) lost 10 points. On 2 CPU cores the whole 5-fold run
    of both models takes under 3 minutes (README).
    """
    full = DemoSettings(
        data=DataConfig(),
        fbank=FbankConfig(n_mels=48),
        cnn=CNNConfig(channels=(16, 32, 64)),
        ast=ASTConfig.preset("micro", depth=2, pooling="max", drop_path_rate=0.0),
        cnn_train=TrainConfig(epochs=4, batch_size=16, warmup_epochs=1, patience=3),
        ast_train=TrainConfig(epochs=6, batch_size=16, warmup_epochs=1, weight_decay=0.01,
                              patience=5),
    )
    if not (quick_mode() if quick is None else quick):
        return full
    return dataclasses.replace(
        full,
        data=DataConfig(root=str(ast_lab_home() / "synthetic-quick"), clip_seconds=0.5,
                        synthetic_per_class_per_fold=2),
        cnn_train=dataclasses.replace(full.cnn_train, epochs=2, warmup_epochs=1),
        ast_train=dataclasses.replace(full.ast_train, epochs=2, warmup_epochs=1),
        folds=(1, 2),
    )


def class_examples(data: FeatureSet) -> plt.Figure:
    """One log-mel spectrogram per class (its first clip), as small multiples."""
    first = [int(np.flatnonzero(data.targets == c)[0]) for c in range(data.num_classes)]
    return plot_spectrogram_grid(
        [data.features[i] for i in first], data.class_names,
        hop_length=data.fbank.hop_length, sample_rate=data.fbank.sample_rate,
    )


def run_demo(
    out_dir: str | Path, settings: Optional[DemoSettings] = None, *, resume: bool = False,
    progress: bool = True,
) -> list[Results]:
    """Run the demo into ``out_dir``; returns the CNN's and the AST's ``Results``.

    Writes ``examples.png`` (one spectrogram per class), ``cnn/`` and ``ast/`` (checkpoints,
    ``results.json``/``.csv``, curves, confusion matrices) and ``results.md`` (the table).
    """
    settings = demo_settings() if settings is None else settings
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = load_dataset(settings.data, settings.fbank, progress=progress)
    figure = class_examples(data)
    figure.savefig(out / "examples.png")
    plt.close(figure)
    runs = [("cnn", settings.cnn, settings.cnn_train), ("ast", settings.ast, settings.ast_train)]
    results = [
        cross_validate(model_cfg, train_cfg, data, folds=settings.folds, out_dir=out / kind,
                       resume=resume, progress=progress)
        for kind, model_cfg, train_cfg in runs
    ]
    (out / "results.md").write_text(results_table(results) + "\n")
    return results
