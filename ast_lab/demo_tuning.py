"""Choosing the demo's settings on its validation splits, never on its test folds.

The demo early-stops every fold on a validation split carved from its training folds
(``DataConfig.val_fraction``). A variant of the demo's settings (``DemoSettings.with_settings``)
is scored by that split's accuracy at the kept epoch, fold by fold; the test folds' predictions
are written with the run as always, but nothing here reads them. Each scored variant appends
one row to ``results/tuning/demo.md`` (``python scripts/tune_demo.py``).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from .data import load_dataset
from .demo import DemoSettings
from .metrics import Results, commit_label
from .training import cross_validate
from .tuning import accuracy_cells, append_log, markdown_row, mean_accuracy, settings_cell

DEMO_LOG_HEADER = (
    "| date | model | settings | runs of test folds | validation accuracy per fold | mean "
    "| epochs run | train min | commit |\n|---|---|---|---|---|---|---|---|---|\n"
)
DEMO_LOG_INTRO = (
    "The demo's validation splits only (a share of each run's training folds; the test folds' "
    "accuracy is never read). One row per scored variant."
)
MODELS = ("cnn", "ast")


@dataclass(frozen=True)
class DemoScore:
    """Validation accuracy of one demo variant, fold by fold, and what it cost."""

    model: str
    settings: dict[str, Any]
    accuracy: dict[int, float]  # test fold of the run -> its validation split's accuracy
    epochs_run: dict[int, int]
    minutes: float  # training wall time, all folds
    commit: str

    @property
    def mean(self) -> float:
        return mean_accuracy(self.accuracy)

    def row(self) -> str:
        """One markdown row of the demo's tuning log."""
        return markdown_row([
            datetime.date.today().isoformat(), self.model, settings_cell(self.settings, "(as set)"),
            *accuracy_cells(self.accuracy), ", ".join(map(str, self.epochs_run.values())),
            f"{self.minutes:.2f}", self.commit,
        ])


def validation_score(model: str, settings: dict[str, Any], results: Results) -> DemoScore:
    """The ``DemoScore`` of a finished run: each fold's validation accuracy at its kept epoch."""
    return DemoScore(
        model=model,
        settings=settings,
        accuracy={f.test_fold: float(f.history["val_acc"][f.best_epoch]) for f in results.folds},
        epochs_run={f.test_fold: f.epochs_run for f in results.folds},
        minutes=results.seconds / 60,
        commit=commit_label(results.version),
    )


def tune_demo(
    model: str,
    base: DemoSettings,
    settings: dict[str, Any],
    *,
    folds: Optional[Sequence[int]] = None,
    out_dir: str | Path = "runs/tuning/demo",
    log: Optional[str | Path] = None,
    progress: bool = True,
) -> DemoScore:
    """Cross-validate the demo's ``model`` ("cnn" or "ast") with ``settings`` replaced in
    ``base`` over ``folds`` (default: ``base.folds``, or all) into ``out_dir``; score it on the
    validation splits and append its row to ``log`` if given."""
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    chosen = base.with_settings(settings)
    data = load_dataset(chosen.data, chosen.fbank, progress=progress)
    model_cfg, train_cfg = getattr(chosen, model), getattr(chosen, f"{model}_train")
    chosen_folds = folds if folds is not None else chosen.folds
    results = cross_validate(model_cfg, train_cfg, data, folds=chosen_folds, out_dir=out_dir,
                             progress=progress)
    score = validation_score(model, settings, results)
    if log is not None:
        append_log(Path(log), score.row(), DEMO_LOG_HEADER, DEMO_LOG_INTRO)
    return score
