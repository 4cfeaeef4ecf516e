"""fold_split: test fold untouched, stratified validation share, no recording on both sides."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ast_lab.data import Metadata, fold_split, load_metadata

pytest_plugins = ["data_fixtures"]

N_CLASSES, CLIPS_PER_CLASS_PER_FOLD = 10, 24


@pytest.fixture(scope="module")
def table() -> Metadata:
    """In-memory metadata (no audio needed): 10 classes x 5 folds x 24 clips, recordings of
    1-4 takes, each recording within one fold as in ESC-50."""
    rng = np.random.default_rng(1)
    folds, targets, sources = [], [], []
    for target in range(N_CLASSES):
        for fold in range(1, 6):
            ends = np.cumsum(rng.integers(1, 5, size=CLIPS_PER_CLASS_PER_FOLD))  # 1-4 takes each
            recording = np.searchsorted(ends, np.arange(CLIPS_PER_CLASS_PER_FOLD), side="right")
            folds += [fold] * CLIPS_PER_CLASS_PER_FOLD
            targets += [target] * CLIPS_PER_CLASS_PER_FOLD
            sources += [f"{target}-{fold}-{r}" for r in recording]
    n = len(folds)
    return Metadata(
        root=Path("/nowhere"),
        filenames=[f"{i}.wav" for i in range(n)],
        folds=np.asarray(folds),
        targets=np.asarray(targets),
        categories=[f"class{t}" for t in targets],
        src_files=sources,
        esc10=np.zeros(n, dtype=bool),
        class_names=[f"class{t}" for t in range(N_CLASSES)],
        class_targets=list(range(N_CLASSES)),
        csv_lines=np.arange(2, n + 2),
    )


@pytest.mark.parametrize("test_fold", [1, 3, 5])
def test_split_partitions_the_clips(table: Metadata, test_fold: int) -> None:
    split = fold_split(table, test_fold)
    parts = [split.train, split.val, split.test]
    assert sum(len(p) for p in parts) == len(table)
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(len(table)))  # a partition
    assert np.array_equal(split.test, np.flatnonzero(table.folds == test_fold))  # the whole fold
    assert not np.isin(table.folds[np.concatenate([split.train, split.val])], [test_fold]).any()
    assert split.test_fold == test_fold
    for part in parts:
        assert part.dtype == np.int64 and np.all(np.diff(part) > 0)


@pytest.mark.parametrize("test_fold", [1, 2, 4])
def test_no_recording_on_both_sides(table: Metadata, test_fold: int) -> None:
    split = fold_split(table, test_fold, seed=7)
    train_sources = {table.src_files[i] for i in split.train}
    val_sources = {table.src_files[i] for i in split.val}
    assert val_sources and not train_sources & val_sources


@pytest.mark.parametrize("val_fraction", [0.2, 0.25])
def test_validation_is_stratified(table: Metadata, val_fraction: float) -> None:
    split = fold_split(table, 2, val_fraction=val_fraction)
    pool = np.concatenate([split.train, split.val])
    val_counts = np.bincount(table.targets[split.val], minlength=N_CLASSES)
    share = val_counts / np.bincount(table.targets[pool])
    assert np.all(np.abs(share - val_fraction) < 0.06), share
    assert abs(len(split.val) / len(pool) - val_fraction) < 0.02


def test_deterministic_in_the_seed(table: Metadata) -> None:
    first, again, other = (fold_split(table, 1, seed=seed) for seed in (3, 3, 4))
    assert np.array_equal(first.val, again.val) and np.array_equal(first.train, again.train)
    assert not np.array_equal(first.val, other.val)
    assert np.array_equal(first.test, other.test)


def test_zero_val_fraction_and_bad_arguments(table: Metadata) -> None:
    split = fold_split(table, 1, val_fraction=0)
    assert len(split.val) == 0 and len(split.train) == 4 * N_CLASSES * CLIPS_PER_CLASS_PER_FOLD
    with pytest.raises(ValueError, match="test fold 6"):
        fold_split(table, 6)
    with pytest.raises(ValueError, match="val_fraction"):
        fold_split(table, 1, val_fraction=0.7)


def test_split_of_the_synthetic_set(synthetic_small: Path) -> None:
    meta = load_metadata(synthetic_small)
    split = fold_split(meta, 5)
    assert len(split.test) == 24 and len(split.train) + len(split.val) == 96
    assert not {meta.src_files[i] for i in split.train} & {meta.src_files[i] for i in split.val}
    assert abs(len(split.val) / 96 - 0.2) < 0.05  # takes come in pairs: 18 or 20 of 96
