"""Fold splits: one fold is the test set; a validation set is carved out of the others.

ESC-50 is evaluated by 5-fold cross-validation over its official folds. Early stopping needs a
validation set that is neither the test fold nor training data, so each split holds out a
stratified share of the training folds, keeping every recording (``src_file``) on one side:
clips cut from one recording sound alike, and a recording split between training and
validation would make the validation score optimistic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from .metadata import Metadata


@dataclass(frozen=True, eq=False)
class Split:
    """Clip indices (into the metadata) of one cross-validation split, int64 arrays, ascending."""

    train: np.ndarray  # (n_train,)
    val: np.ndarray  # (n_val,) stratified, no src_file shared with train; empty if val_fraction=0
    test: np.ndarray  # (n_test,) exactly the clips of test_fold
    test_fold: int


def fold_split(
    metadata: Metadata, test_fold: int, *, val_fraction: float = 0.2, seed: int = 0
) -> Split:
    """Split ``metadata`` into train / validation / test for one test fold.

    The validation set is one part of a ``StratifiedGroupKFold`` over the non-test clips with
    ``round(1 / val_fraction)`` parts, grouped by ``src_file`` and stratified by target, so its
    share of each class is close to ``1 / round(1 / val_fraction)`` (0.2 for the default; with
    few recordings per class, whole recordings make the share coarser). Deterministic in
    ``seed``. ``val_fraction=0`` gives an empty validation set.
    """
    if test_fold not in metadata.fold_ids:
        raise ValueError(f"test fold {test_fold} is not one of the folds {metadata.fold_ids}")
    is_test = metadata.folds == test_fold
    test, rest = np.flatnonzero(is_test), np.flatnonzero(~is_test)
    if len(rest) == 0:
        raise ValueError(
            f"{metadata.csv_path}: no clips left to train on when fold {test_fold} is the test "
            "fold, as these clips hold no other fold (column fold); k-fold cross-validation "
            "needs at least 2 folds"
        )
    val = rest[_validation_positions(metadata, rest, val_fraction, seed)]
    train = np.setdiff1d(rest, val)
    return Split(train=train, val=np.sort(val), test=test, test_fold=test_fold)


def _validation_positions(
    metadata: Metadata, rest: np.ndarray, val_fraction: float, seed: int
) -> np.ndarray:
    """Positions within ``rest`` (indices of the training folds) that form the validation set."""
    if val_fraction == 0:
        return np.zeros(0, dtype=np.int64)
    if not 0 < val_fraction <= 0.5:
        raise ValueError(f"val_fraction must be 0 or in (0, 0.5], got {val_fraction}")
    n_parts = round(1 / val_fraction)
    groups = [metadata.src_files[i] for i in rest]
    if len(set(groups)) < n_parts:
        raise ValueError(
            f"{metadata.csv_path}: cannot hold out 1/{n_parts} of the training folds by "
            f"recording: they hold only {len(set(groups))} distinct src_file values"
        )
    splitter = StratifiedGroupKFold(n_splits=n_parts, shuffle=True, random_state=seed)
    _, val_positions = next(splitter.split(rest, metadata.targets[rest], groups))
    return val_positions
