"""How two or more runs of different models on the same clips compare, class by class and clip
by clip.

A k-fold run tests every clip exactly once, so its folds' test predictions pooled together are
one answer per clip. Two runs over the same clips (the same dataset and folds) can then be laid
side by side: which classes each gets right (``per_class_accuracy``, the figure
``plot_per_class_accuracy``), on which clips they disagree (``disagreement``: the 2×2 table of
right/wrong and McNemar's exact test on it), and whether their mistakes are complementary
(``ensemble_accuracy``: averaging their probabilities).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Optional, Sequence

import numpy as np
from scipy.stats import binomtest

from ast_lab.metrics import Predictions, Results

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TOP_CLASSES = 5  # classes listed per model in the markdown report


def pooled_predictions(results: Results, name: str = "the run") -> Predictions:
    """All folds' test predictions as one ``Predictions`` of ``n`` clips, sorted by clip index.

    Raises ValueError naming ``name`` when a clip was tested more than once.
    """
    preds = [f.predictions for f in results.folds]
    indices = np.concatenate([p.indices for p in preds])
    order = np.argsort(indices, kind="stable")
    indices = indices[order]
    repeated = indices[1:][indices[1:] == indices[:-1]]
    if repeated.size:
        raise ValueError(f"{name} tests {np.unique(repeated).size} clip(s) more than once "
                         f"(e.g. clip {repeated[0]})")
    return Predictions(
        indices=indices,
        targets=np.concatenate([p.targets for p in preds])[order],
        predicted=np.concatenate([p.predicted for p in preds])[order],
        probabilities=np.concatenate([p.probabilities for p in preds])[order],
    )


def per_class_accuracy(results: Results) -> np.ndarray:
    """``(C,)`` recall of each class over all folds' test clips pooled: the share of its clips
    predicted as it (the confusion matrix's diagonal over its row sums); NaN for a class with
    no test clips."""
    p = pooled_predictions(results)
    num_classes = len(results.class_names)
    right = np.bincount(p.targets[p.targets == p.predicted], minlength=num_classes)
    total = np.bincount(p.targets, minlength=num_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return right / total


def check_comparable(a: Results, b: Results, names: tuple[str, str] = ("A", "B")) -> None:
    """Raise ValueError, naming what differs, unless ``a`` and ``b`` have the same class names
    and tested the same clips with the same targets."""
    if list(a.class_names) != list(b.class_names):
        first = next((i for i, (x, y) in enumerate(zip(a.class_names, b.class_names)) if x != y),
                     min(len(a.class_names), len(b.class_names)))
        shown = [f"{n}: {len(r.class_names)} classes" for n, r in zip(names, (a, b))]
        raise ValueError(f"the runs' class names differ ({', '.join(shown)}; first difference "
                         f"at class {first}: {_name_at(a, first)!r} vs {_name_at(b, first)!r})")
    pa, pb = pooled_predictions(a, names[0]), pooled_predictions(b, names[1])
    if not np.array_equal(pa.indices, pb.indices):
        only = [np.setdiff1d(x.indices, y.indices) for x, y in ((pa, pb), (pb, pa))]
        parts = [f"{o.size} only in {n}" + (f" (e.g. clip {o[0]})" if o.size else "")
                 for o, n in zip(only, names)]
        raise ValueError(f"the runs tested different clip indices: {', '.join(parts)}")
    differ = np.flatnonzero(pa.targets != pb.targets)
    if differ.size:
        i = differ[0]
        raise ValueError(
            f"the runs' targets differ on {differ.size} clip(s) (e.g. clip {pa.indices[i]}: "
            f"{a.class_names[pa.targets[i]]!r} in {names[0]}, "
            f"{b.class_names[pb.targets[i]]!r} in {names[1]})"
        )


def _name_at(results: Results, i: int) -> Optional[str]:
    return results.class_names[i] if i < len(results.class_names) else None


def ensemble_accuracy(runs: Sequence[Results] | Mapping[str, Results]) -> float:
    """Accuracy of averaging the runs' softmax probabilities clip by clip (argmax of the mean).

    Raises ValueError unless every run covers the same clips as the first (``check_comparable``).
    """
    named = dict(runs) if isinstance(runs, Mapping) else {f"run {i + 1}": r
                                                          for i, r in enumerate(runs)}
    if not named:
        raise ValueError("no runs to average")
    (first_name, first), *rest = named.items()
    for name, other in rest:
        check_comparable(first, other, (first_name, name))
    pooled = [pooled_predictions(r, n) for n, r in named.items()]
    mean = np.mean([p.probabilities for p in pooled], axis=0)  # (n, C)
    return float(np.mean(mean.argmax(axis=1) == pooled[0].targets))


@dataclass(frozen=True, eq=False)
class Disagreement:
    """Two runs' answers on the same ``n`` clips: the 2×2 table of right/wrong, per-class
    accuracies ``(C,)`` of each, and the ensemble of the two."""

    names: tuple[str, str]
    class_names: tuple[str, ...]
    both_right: int
    only_a: int  # clips a gets right and b wrong
    only_b: int
    both_wrong: int
    both_wrong_same: int  # of ``both_wrong``: clips both give the same wrong class
    class_accuracy_a: np.ndarray  # (C,)
    class_accuracy_b: np.ndarray  # (C,)
    ensemble: float  # accuracy of averaging the two runs' probabilities

    @property
    def n_clips(self) -> int:
        return self.both_right + self.only_a + self.only_b + self.both_wrong

    @property
    def accuracy_a(self) -> float:
        return (self.both_right + self.only_a) / self.n_clips

    @property
    def accuracy_b(self) -> float:
        return (self.both_right + self.only_b) / self.n_clips

    @property
    def agreement(self) -> float:
        """Share of clips given the same class by both (right or wrong)."""
        return (self.both_right + self.both_wrong_same) / self.n_clips

    @property
    def oracle(self) -> float:
        """Share of clips at least one of the two gets right: the best that picking one of their
        two answers per clip could do (averaging probabilities can still, rarely, beat it)."""
        return 1 - self.both_wrong / self.n_clips

    @property
    def mcnemar_p(self) -> float:
        """McNemar's exact test: two-sided binomial p-value of ``only_a`` among the clips only
        one run gets right, under "either is as likely" (1.0 when there are none)."""
        discordant = self.only_a + self.only_b
        return 1.0 if discordant == 0 else float(binomtest(self.only_a, discordant).pvalue)

    @property
    def difference(self) -> np.ndarray:
        """``(C,)`` per-class accuracy of b minus that of a."""
        return self.class_accuracy_b - self.class_accuracy_a

    def ahead(self, run: int, k: int = TOP_CLASSES) -> list[tuple[str, float, float]]:
        """Up to ``k`` classes where run ``run`` (0: a, 1: b) has the higher accuracy, largest
        gap first, as ``(class name, accuracy of a, accuracy of b)``."""
        gap = self.difference * (1 if run else -1)
        order = [i for i in np.argsort(-gap, kind="stable") if gap[i] > 0][:k]
        return [(self.class_names[i], float(self.class_accuracy_a[i]),
                 float(self.class_accuracy_b[i])) for i in order]

    def to_markdown(self) -> str:
        """A short report: the 2×2 table, agreement, McNemar p, ensemble, and the classes
        where each run is most ahead (both accuracies)."""
        a, b = self.names
        lines = [
            f"**{a} vs {b}** on the same {self.n_clips} clips "
            f"({len(self.class_names)} classes, all test folds pooled)",
            "",
            f"| | {b} right | {b} wrong |",
            "|---|---|---|",
            f"| **{a} right** | {self.both_right} | {self.only_a} |",
            f"| **{a} wrong** | {self.only_b} | {self.both_wrong} "
            f"({self.both_wrong_same} same wrong class) |",
            "",
            f"- Accuracy: {a} {self.accuracy_a:.4f} ({self.both_right + self.only_a}/"
            f"{self.n_clips}), {b} {self.accuracy_b:.4f} ({self.both_right + self.only_b}/"
            f"{self.n_clips}); they give the same answer on {self.agreement:.1%} of clips.",
            f"- McNemar's exact test on the {self.only_a + self.only_b} clips only one gets right "
            f"({self.only_a} vs {self.only_b}): p = {self.mcnemar_p:.2g}.",
            f"- Averaging their probabilities: accuracy {self.ensemble:.4f}; "
            f"either one right (oracle): {self.oracle:.4f}.",
        ]
        for run, (name, other) in enumerate((self.names, self.names[::-1])):
            listed = ", ".join(f"{c} {acc[run]:.3f} vs {acc[1 - run]:.3f}"
                               for c, *acc in self.ahead(run)) or "no class"
            lines.append(f"- Where {name} is most ahead ({name} vs {other} accuracy): {listed}.")
        return "\n".join(lines)


def disagreement(a: Results, b: Results, names: Optional[tuple[str, str]] = None
                 ) -> Disagreement:
    """Compare runs ``a`` and ``b`` clip by clip (``names`` default to their labels).

    Raises ValueError, naming what differs, unless both tested the same clips with the same
    targets and class names.
    """
    if names is None:
        names = (a.label, b.label) if a.label != b.label else (f"{a.label} (a)", f"{b.label} (b)")
    check_comparable(a, b, names)
    pa, pb = pooled_predictions(a), pooled_predictions(b)
    right_a, right_b = pa.predicted == pa.targets, pb.predicted == pb.targets
    both_wrong = ~right_a & ~right_b
    return Disagreement(
        names=tuple(names),
        class_names=tuple(a.class_names),
        both_right=int(np.sum(right_a & right_b)),
        only_a=int(np.sum(right_a & ~right_b)),
        only_b=int(np.sum(~right_a & right_b)),
        both_wrong=int(np.sum(both_wrong)),
        both_wrong_same=int(np.sum(both_wrong & (pa.predicted == pb.predicted))),
        class_accuracy_a=per_class_accuracy(a),
        class_accuracy_b=per_class_accuracy(b),
        ensemble=ensemble_accuracy({names[0]: a, names[1]: b}),
    )


def plot_per_class_accuracy(runs: Mapping[str, Results], title: Optional[str] = None
                            ) -> Figure:
    """Horizontal grouped bars of per-class accuracy, one bar per run in each class's row.

    Classes are sorted by the runs' mean accuracy, best at the top; a dashed line in each run's
    colour marks its mean over classes, and the legend gives it. The figure grows with the
    number of classes so that 50 names stay readable.
    """
    import matplotlib.pyplot as plt  # plotting only when drawing, as in metrics

    import ast_lab.plotting  # noqa: F401  (applies the project's figure style)

    if not runs:
        raise ValueError("no runs to plot")
    names, results = list(runs), list(runs.values())
    class_names = list(results[0].class_names)
    for name, r in zip(names[1:], results[1:]):
        if list(r.class_names) != class_names:
            raise ValueError(f"{name} has different class names from {names[0]}")
    acc = np.array([per_class_accuracy(r) for r in results])  # (runs, C)
    score = np.nan_to_num(acc).mean(axis=0)  # a class without clips sorts as 0
    order = sorted(range(len(class_names)), key=lambda i: (-score[i], class_names[i]))
    k, n = len(runs), len(class_names)
    fig, ax = plt.subplots(figsize=(7, (0.12 + 0.06 * k) * n + 1.8), layout="constrained")
    rows, height = np.arange(n), 0.8 / k
    for j, (name, values) in enumerate(zip(names, acc)):
        mean = float(np.nanmean(values))
        bars = ax.barh(rows - 0.4 + height * (j + 0.5), values[order], height=height,
                       label=f"{name} (mean {mean:.3f})")
        ax.axvline(mean, color=bars.patches[0].get_facecolor(), ls="--", lw=1)
    ax.set_yticks(rows, [class_names[i] for i in order], fontsize=7)
    ax.set(ylim=(n - 0.5, -0.5), xlim=(0, 1))  # best class at the top
    ax.xaxis.grid(True, lw=0.4, alpha=0.5)
    ax.set_axisbelow(True)
    ax.tick_params(axis="x", labeltop=n > 20, top=n > 20, labelsize=8)
    ax.set_xlabel("accuracy (share of the class's clips, all test folds)")
    ax.set_title(title or f"Accuracy per class ({n} classes; dashed: mean over classes)")
    fig.legend(loc="outside lower center", ncol=min(k, 3), fontsize=8, frameon=False)
    return fig
