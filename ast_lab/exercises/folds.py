"""Graders for notebook 04 (``04_fold_training``): a fold split that leaks no recording from
training into validation, and macro F1 from a confusion matrix.

A right split is not unique (which recordings validate is a choice), so it is graded by the
properties ``ast_lab.data.splits.fold_split`` guarantees, with ``fold_split`` itself as the
reference for the test set and the validation share. Macro F1 is compared with
``ast_lab.metrics.fold_metrics``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ast_lab.data.metadata import Metadata
from ast_lab.data.splits import fold_split
from ast_lab.exercises.grading import (Case, Check, Feedback, Mistake, as_array, close, grade,
                                       grade_properties)
from ast_lab.metrics import fold_metrics

# ---------------------------------------------------------------------------- the split

def _clips(n_classes: int, sources_per_class: int, takes: int, n_folds: int, seed: int) -> Case:
    """A dataset in ESC-50's shape: every recording cut into ``takes`` clips, all in one fold."""
    rng = np.random.default_rng(seed)
    n_sources = n_classes * sources_per_class
    source_target = np.repeat(np.arange(n_classes), sources_per_class)  # (n_sources,)
    source_fold = rng.permutation(np.resize(np.arange(1, n_folds + 1), n_sources))  # (n_sources,)
    per_source = rng.integers(1, takes + 1, size=n_sources)  # clips cut from each recording
    source = np.repeat(np.arange(n_sources), per_source)  # (n_clips,)
    order = rng.permutation(source.size)  # clips are listed in no particular order
    source = source[order]
    label = (f"{source.size} clips of {n_sources} recordings, {n_classes} classes, "
             f"{n_folds} folds, test fold 2")
    return Case(label, (source_fold[source], source_target[source],
                        np.array([f"rec{s:03d}" for s in source]), 2, 0.2))


SPLIT_CASES = [_clips(4, 15, 3, 5, seed=0), _clips(6, 20, 4, 5, seed=1)]


def _metadata(folds: np.ndarray, targets: np.ndarray, sources: np.ndarray) -> Metadata:
    """The arrays of a case as the package's ``Metadata``, for ``fold_split``."""
    n = len(folds)
    classes = sorted(set(int(t) for t in targets))
    return Metadata(root=Path("."), filenames=[f"{i}.wav" for i in range(n)],
                    folds=np.asarray(folds, dtype=np.int64), targets=np.asarray(targets, np.int64),
                    categories=[f"class{t}" for t in targets], src_files=list(sources),
                    esc10=np.zeros(n, dtype=bool), class_names=[f"class{c}" for c in classes],
                    class_targets=classes, csv_lines=np.arange(2, n + 2))


def reference_split(folds: np.ndarray, targets: np.ndarray, sources: np.ndarray, test_fold: int,
                    val_fraction: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``fold_split`` on these arrays: ``(train, val, test)`` clip indices."""
    split = fold_split(_metadata(folds, targets, sources), test_fold, val_fraction=val_fraction)
    return split.train, split.val, split.test


def _parts(got) -> tuple[set, set, set]:
    train, val, test = got
    return tuple(set(int(i) for i in np.asarray(part).ravel()) for part in (train, val, test))


def _three_parts(case: Case, got) -> Optional[str]:
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        return f"expected a tuple (train, val, test) of index arrays, got {type(got).__name__}"
    return None


def _exact_test_fold(case: Case, got) -> Optional[str]:
    folds, _, _, test_fold, _ = case.args
    expected = set(np.flatnonzero(folds == test_fold).tolist())
    test = _parts(got)[2]
    if test != expected:
        return (f"the test set holds {len(test)} clips, the test fold {len(expected)} "
                f"({len(test - expected)} from other folds, {len(expected - test)} missing)")
    return None


def _disjoint_and_complete(case: Case, got) -> Optional[str]:
    train, val, test = _parts(got)
    n = len(case.args[0])
    shared = (train & test) | (val & test) | (train & val)
    if shared:
        return f"{len(shared)} clips are in two parts at once, e.g. clip {min(shared)}"
    if train | val | test != set(range(n)):
        return f"the three parts hold {len(train | val | test)} of the {n} clips"
    return None


def _no_shared_source(case: Case, got) -> Optional[str]:
    sources = case.args[2]
    train, val, _ = _parts(got)
    leaked = sorted({sources[i] for i in train} & {sources[i] for i in val})
    if leaked:
        return (f"{len(leaked)} recordings have clips in both training and validation, "
                f"e.g. {leaked[0]!r}")
    return None


def _validation_share(case: Case, got) -> Optional[str]:
    expected = len(reference_split(*case.args)[1])
    train, val, _ = _parts(got)
    if not 0.5 * expected <= len(val) <= 1.5 * expected:
        return (f"validation holds {len(val)} of {len(train) + len(val)} training-fold clips; "
                f"fold_split holds out {expected} (val_fraction {case.args[4]})")
    return None


def _every_class_validated(case: Case, got) -> Optional[str]:
    targets = case.args[1]
    missing = sorted(set(targets.tolist()) - {int(targets[i]) for i in _parts(got)[1]})
    if missing:
        return f"class {missing[0]} has no clip in validation"
    return None


SPLIT_CHECKS = [
    Check("return (train, val, test), each an array of clip indices.", _three_parts),
    Check("the test set is exactly the clips of the test fold, np.flatnonzero(folds == test_fold): "
          "never train or stop on them.", _exact_test_fold),
    Check("train, validation and test must be disjoint and together hold every clip once.",
          _disjoint_and_complete),
    Check("a recording is leaking from training into validation: split recordings, not clips. "
          "Choose validation *sources* (np.unique(sources)) and take all of their clips.",
          _no_shared_source),
    Check("hold out about val_fraction of the training folds' recordings.", _validation_share),
    Check("stratify: hold out a share of every class's recordings, not of all recordings at once.",
          _every_class_validated),
]


def check_fold_split(
    split_by_source: Callable[[np.ndarray, np.ndarray, np.ndarray, int, float],
                              tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> Feedback:
    """Grade ``split_by_source(folds, targets, sources, test_fold, val_fraction) -> (train, val,
    test)`` by the guarantees of ``fold_split``."""
    return grade_properties("fold split without leaks", split_by_source, SPLIT_CASES, SPLIT_CHECKS)


# ---------------------------------------------------------------------------- macro F1

def _labels(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``(targets, predicted)`` pairs a confusion matrix (rows true) counts."""
    true, predicted = np.indices(confusion.shape)
    counts = confusion.ravel()
    return np.repeat(true.ravel(), counts), np.repeat(predicted.ravel(), counts)


def reference_macro_f1(confusion: np.ndarray) -> float:
    """``fold_metrics(...).f1`` of the predictions ``confusion (C, C)`` counts."""
    return fold_metrics(*_labels(confusion), num_classes=confusion.shape[0]).f1


F1_CASES = [
    Case("3 balanced classes", (np.array([[8, 1, 1], [2, 7, 1], [0, 3, 7]]),)),
    Case("4 classes, class 3 never predicted", (np.array([[5, 0, 1, 0], [1, 6, 0, 0],
                                                         [0, 2, 4, 0], [2, 1, 1, 0]]),)),
    Case("3 classes, class 2 absent from the fold and never predicted",
         (np.array([[9, 1, 0], [4, 6, 0], [0, 0, 0]]),)),
    Case("a perfect 2-class fold", (np.array([[5, 0], [0, 3]]),)),
]


def _per_class(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall and F1 (0 where undefined)."""
    hits = np.diag(confusion).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.nan_to_num(hits / confusion.sum(0))
        recall = np.nan_to_num(hits / confusion.sum(1))
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    return precision, recall, f1


def _f1_of_means(confusion: np.ndarray) -> float:
    precision, recall, _ = _per_class(confusion)
    p, r = precision.mean(), recall.mean()
    return 2 * p * r / (p + r)


def _mean_over_present(confusion: np.ndarray) -> float:
    """Macro F1 over the classes that have clips or predictions only (sklearn's default)."""
    present = (confusion.sum(0) + confusion.sum(1)) > 0
    return float(_per_class(confusion)[2][present].mean())


def _size_weighted(confusion: np.ndarray) -> float:
    """F1 averaged with each class weighted by its clips (sklearn's average="weighted")."""
    return float(np.average(_per_class(confusion)[2], weights=confusion.sum(1)))


F1_MISTAKES = [
    Mistake("a class never predicted (or never present) divides 0 by 0: count its precision, "
            "recall and F1 as 0, as fold_metrics does (sklearn's zero_division=0).",
            lambda case, expected, got: not np.isfinite(as_array(got)).all()),
    Mistake("that is accuracy (micro F1): macro F1 is the mean over classes of each class's F1.",
            lambda case, expected, got: close(np.trace(case.args[0]) / case.args[0].sum(), got)),
    Mistake("you took the F1 of the averaged precision and recall: compute F1 per class first, "
            "then average.", lambda case, expected, got: close(_f1_of_means(case.args[0]), got)),
    Mistake("you averaged only the classes present in the fold (sklearn's f1_score does that "
            "unless given labels=): here, as in fold_metrics, every one of the C classes counts, "
            "and a class with no clips and no predictions has F1 0.",
            lambda case, expected, got: close(_mean_over_present(case.args[0]), got)),
    Mistake("you weighted classes by their size (weighted F1): macro F1 gives every class the "
            "same weight.", lambda case, expected, got: close(_size_weighted(case.args[0]), got)),
]


def check_macro_f1(macro_f1: Callable[[np.ndarray], float]) -> Feedback:
    """Grade ``macro_f1(confusion (C, C), rows true, columns predicted) -> float`` against
    ``fold_metrics(...).f1``: the plain mean over all C classes of each class's F1, where a
    0/0 counts as 0, so a class absent from the fold and never predicted counts with F1 0."""
    return grade("macro F1", macro_f1, reference_macro_f1, F1_CASES, F1_MISTAKES,
                 fallback_hint="per class: precision = diagonal / column sum, recall = diagonal "
                               "/ row sum, F1 = 2PR / (P + R), 0 where it is 0/0; then the "
                               "plain mean over all C classes.")
