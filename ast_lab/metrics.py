"""Per-fold and cross-validated classification metrics, and the results they go into.

A fold's numbers are computed from its recorded test predictions (``FoldResult.metrics``
is derived, never stored separately), and ``Results`` aggregates the folds into mean ± std,
the results table, JSON/CSV files and plots. Nothing is collected by hand.

Spread over folds is the *sample* standard deviation (``ddof=1``): the folds are a sample of
the ways the data could have been split, and this is what ``pandas.DataFrame.std`` reports.
With a single fold it is undefined: NaN in memory, ``null`` in JSON, "n/a" in the table.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

import ast_lab

from .atomic_files import load_json, save_json, write_atomic

# metric key -> column title in the results table (the earlier attempt's layout)
TABLE_COLUMNS: dict[str, str] = {
    "accuracy": "Accuracy",
    "precision": "Average Precision",
    "recall": "Average Recall",
    "f1": "Average F1",
}
METRICS: tuple[str, ...] = tuple(TABLE_COLUMNS)
RESULTS_FILE = "results.json"
STD_KIND = "sample (ddof=1)"


@dataclass(frozen=True)
class FoldMetrics:
    """Test-fold scores. Precision, recall and F1 are macro averages over all classes."""

    accuracy: float
    precision: float
    recall: float
    f1: float
    per_class_f1: np.ndarray  # (num_classes,)
    confusion: np.ndarray  # (num_classes, num_classes) int counts; rows true, columns predicted

    def scores(self) -> dict[str, float]:
        """The four scalar metrics keyed as in ``METRICS``."""
        return {name: getattr(self, name) for name in METRICS}


def fold_metrics(targets: np.ndarray, predicted: np.ndarray, num_classes: int) -> FoldMetrics:
    """Accuracy, macro precision/recall/F1 and the confusion matrix of one fold.

    Every class in ``range(num_classes)`` counts in the macro average, also one absent from
    this fold; a class never predicted has precision 0 (``zero_division=0``).

    Args:
        targets: ``(n,)`` true class indices.
        predicted: ``(n,)`` predicted class indices.
        num_classes: number of classes C.
    """
    labels = np.arange(num_classes)
    precision, recall, f1, _ = precision_recall_fscore_support(
        targets, predicted, labels=labels, average=None, zero_division=0
    )
    return FoldMetrics(
        accuracy=float(accuracy_score(targets, predicted)),
        precision=float(precision.mean()),
        recall=float(recall.mean()),
        f1=float(f1.mean()),
        per_class_f1=f1,
        confusion=confusion_matrix(targets, predicted, labels=labels),
    )


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; NaN for fewer than two values)."""
    arr = np.asarray(values, dtype=np.float64)
    std = float(arr.std(ddof=1)) if arr.size > 1 else math.nan
    return float(arr.mean()), std


def format_mean_std(mean: float, std: float) -> str:
    """``"0.xxx ± 0.xxx"``, or ``"0.xxx ± n/a"`` when the spread is undefined."""
    return f"{mean:.3f} ± " + ("n/a" if math.isnan(std) else f"{std:.3f}")


def code_version() -> dict[str, Optional[str]]:
    """The package version and, when the code lives in a git checkout, its commit hash and
    whether tracked files differed from it (a result made from uncommitted code says so)."""
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "ast_lab": ast_lab.__version__,
        "git_commit": None if commit is None else commit.strip(),
        "git_dirty": None if status is None else bool(status.strip()),
    }


def commit_label(version: dict[str, Optional[str]]) -> str:
    """A result's short commit, marked when the tree had uncommitted changes (for tables)."""
    label = (version.get("git_commit") or "unknown")[:10]
    return label + (" (uncommitted changes)" if version.get("git_dirty") else "")


def _git(*args: str) -> Optional[str]:
    """``git ARGS`` run in the package's folder: its output, or None outside a checkout."""
    try:
        return subprocess.run(
            ["git", *args], cwd=Path(ast_lab.__file__).parent, capture_output=True, text=True,
            timeout=10, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None


@dataclass
class Predictions:
    """What the model said about each test clip, in the order they were evaluated."""

    indices: np.ndarray  # (n,) clip indices into the FeatureSet
    targets: np.ndarray  # (n,) true class indices
    predicted: np.ndarray  # (n,) argmax class indices
    probabilities: np.ndarray  # (n, num_classes) softmax probabilities

    def to_dict(self) -> dict[str, list]:
        return {k: v.tolist() for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, list]) -> "Predictions":
        return cls(
            indices=np.asarray(d["indices"], dtype=np.int64),
            targets=np.asarray(d["targets"], dtype=np.int64),
            predicted=np.asarray(d["predicted"], dtype=np.int64),
            probabilities=np.asarray(d["probabilities"], dtype=np.float32),
        )


@dataclass
class FoldResult:
    """One fold of cross-validation: its history, the chosen epoch and test predictions.

    ``history`` maps "train_loss", "train_acc", "val_loss", "val_acc", "lr" to one value per
    epoch run (losses in nats per example, accuracies in [0, 1], lr at the epoch's last step).
    ``best_epoch`` indexes those lists (0-based): the epoch of the highest validation accuracy
    (the first, on ties), whose weights produced ``predictions``.
    """

    model: str  # "ast" or "cnn"
    test_fold: int
    num_classes: int
    history: dict[str, list[float]]
    best_epoch: int
    stopped_early: bool
    norm_mean: float  # dataset normalisation, from this fold's training clips only
    norm_std: float
    n_train: int  # clips in the training and validation splits
    n_val: int
    predictions: Predictions
    seconds: float  # wall time spent on this fold (summed over resumed calls)

    @property
    def metrics(self) -> FoldMetrics:
        """Test-fold metrics, computed from ``predictions``."""
        p = self.predictions
        return fold_metrics(p.targets, p.predicted, self.num_classes)

    @property
    def epochs_run(self) -> int:
        return len(self.history["val_acc"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; includes the (derived) scalar metrics for readers of the file."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["predictions"] = self.predictions.to_dict()
        return {**d, "metrics": self.metrics.scores(), "epochs_run": self.epochs_run}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FoldResult":
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in d.items() if k in names}
        return cls(**{**kwargs, "predictions": Predictions.from_dict(d["predictions"])})


@dataclass
class Results:
    """Cross-validation of one model: its folds, the configs that produced them, aggregates."""

    model: str  # "ast" or "cnn"
    folds: list[FoldResult]
    class_names: list[str]
    configs: dict[str, Optional[dict[str, Any]]]  # "model", "train", "fbank", "data"
    class_targets: Optional[list[int]] = None  # the dataset's own target number of each class
    # index (ESC-10: 0, 1, 10, 11, ...); None for runs saved before it was recorded
    shuffled_labels: bool = False  # the label-permutation control run
    seconds: float = 0.0  # total wall time of the folds
    version: dict[str, Optional[str]] = field(default_factory=code_version)

    @property
    def label(self) -> str:
        """The row name in the results table."""
        return self.model.upper() + (" (shuffled labels)" if self.shuffled_labels else "")

    @property
    def fold_ids(self) -> list[int]:
        return [f.test_fold for f in self.folds]

    def summary(self) -> dict[str, tuple[float, float]]:
        """Metric -> (mean, sample std) over folds."""
        scores = [f.metrics.scores() for f in self.folds]
        return {name: mean_std([s[name] for s in scores]) for name in METRICS}

    def confusion(self) -> np.ndarray:
        """``(C, C)`` confusion matrix summed over folds (every clip is tested exactly once)."""
        return np.sum([f.metrics.confusion for f in self.folds], axis=0)

    def per_class_f1(self) -> np.ndarray:
        """``(C,)`` per-class F1, averaged over folds."""
        return np.mean([f.metrics.per_class_f1 for f in self.folds], axis=0)

    def misclassified(self) -> list[tuple[int, int, int, float]]:
        """Every wrongly predicted test clip as ``(clip index, true class, predicted class,
        probability given to the prediction)``, most confident mistakes first."""
        wrong = [
            (int(i), int(t), int(p), float(probs[p]))
            for fold in self.folds
            for i, t, p, probs in zip(fold.predictions.indices, fold.predictions.targets,
                                      fold.predictions.predicted, fold.predictions.probabilities)
            if t != p
        ]
        return sorted(wrong, key=lambda w: -w[3])

    def table(self) -> str:
        """The markdown results table with this model's row."""
        return results_table([self])

    def to_dict(self) -> dict[str, Any]:
        summary = {
            name: {"mean": mean, "std": None if math.isnan(std) else std}
            for name, (mean, std) in self.summary().items()
        }
        return {
            "model": self.model,
            "label": self.label,
            "shuffled_labels": self.shuffled_labels,
            "class_names": list(self.class_names),
            "class_targets": None if self.class_targets is None else list(self.class_targets),
            "summary": summary,
            "std": STD_KIND,
            "configs": self.configs,
            "version": self.version,
            "seconds": self.seconds,
            "folds": [f.to_dict() for f in self.folds],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Results":
        return cls(
            model=d["model"],
            folds=[FoldResult.from_dict(f) for f in d["folds"]],
            class_names=d["class_names"],
            configs=d["configs"],
            class_targets=d.get("class_targets"),
            shuffled_labels=d["shuffled_labels"],
            seconds=d["seconds"],
            version=d["version"],
        )

    def save(self, out_dir: str | Path) -> Path:
        """Write results.json, results.csv and PNG plots into ``out_dir``; return it. The
        JSON and CSV are written atomically: a crash leaves the old file or the new one."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        save_json(self.to_dict(), out / RESULTS_FILE)
        write_atomic(out / "results.csv", lambda fh: fh.write(self._csv_text().encode()))
        self._save_plots(out)
        return out

    @classmethod
    def load(cls, run_dir: str | Path) -> "Results":
        """Read what ``save`` wrote (results.json) back; ValueError naming the file if it is
        damaged."""
        path = Path(run_dir) / RESULTS_FILE
        fix = "run the training again with --resume to rewrite it (finished folds are kept)"
        return cls.from_dict(load_json(path, fix))

    def _csv_text(self) -> str:
        """results.csv: one row per fold, then a "mean" and a "std" row."""
        columns = ["fold", *METRICS, "best_epoch", "epochs_run", "seconds"]
        summary = self.summary()
        text = io.StringIO(newline="")
        writer = csv.writer(text)
        writer.writerow(columns)
        for f in self.folds:
            scores = f.metrics.scores()
            writer.writerow(
                [f.test_fold, *(scores[m] for m in METRICS), f.best_epoch, f.epochs_run, f.seconds]
            )
        for row, i in (("mean", 0), ("std", 1)):
            writer.writerow([row, *(summary[m][i] for m in METRICS), "", "", ""])
        return text.getvalue()

    def _save_plots(self, out: Path) -> None:
        """learning_curves.png, confusion_matrix.png (summed), per_class_f1.png (fold mean)."""
        import matplotlib.pyplot as plt  # plotting only when saving: keeps imports light

        from ast_lab.plotting import plot_confusion_matrix, plot_learning_curves, plot_per_class_f1

        fig = plot_learning_curves({f.test_fold: f.history for f in self.folds})
        fig.savefig(out / "learning_curves.png", dpi=100, bbox_inches="tight")
        plt.close(fig)
        for name, plot, values in (
            ("confusion_matrix", plot_confusion_matrix, self.confusion()),
            ("per_class_f1", plot_per_class_f1, self.per_class_f1()),
        ):
            ax = plot(values, list(self.class_names))
            ax.figure.savefig(out / f"{name}.png", dpi=100, bbox_inches="tight")
            plt.close(ax.figure)


def results_table(results: Sequence[Results]) -> str:
    """Markdown table, one row per model: Model | Accuracy | Average Precision | ... ."""
    header = ["Model", *TABLE_COLUMNS.values()]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in results:
        summary = r.summary()
        cells = [r.label, *(format_mean_std(*summary[m]) for m in METRICS)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
