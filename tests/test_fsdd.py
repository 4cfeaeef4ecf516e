"""The real spoken-digit recordings in ../shared/fsdd (read-only): layout, splits, cache.

``fsdd_dir`` (tests/conftest.py) skips these tests where the recordings are absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ast_lab.config import FbankConfig
from ast_lab.data import fold_split, load_metadata, load_or_build_features
from ast_lab.data.clips import clip_durations, dataset_clip_seconds

pytest_plugins = ["data_fixtures"]

pytestmark = [pytest.mark.fsdd, pytest.mark.usefixtures("one_torch_thread")]

DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def test_fsdd_metadata(fsdd_dir: Path) -> None:
    meta = load_metadata(fsdd_dir)
    assert len(meta) == 3000 and meta.class_names == DIGITS
    assert np.bincount(meta.folds).tolist() == [0, 600, 600, 600, 600, 600]
    assert len(set(meta.src_files)) == 6  # speakers


@pytest.mark.parametrize("test_fold", [1, 2, 3, 4, 5])
def test_fsdd_split_keeps_speakers_apart(fsdd_dir: Path, test_fold: int) -> None:
    meta = load_metadata(fsdd_dir)
    split = fold_split(meta, test_fold)
    assert len(split.test) == 600 and len(split.train) + len(split.val) == 2400
    train_speakers = {meta.src_files[i] for i in split.train}
    val_speakers = {meta.src_files[i] for i in split.val}
    assert val_speakers and not train_speakers & val_speakers


def test_fsdd_fold_cache_lands_under_home(fsdd_dir: Path, home: Path) -> None:
    meta = load_metadata(fsdd_dir)
    seconds = dataset_clip_seconds(clip_durations(meta))
    # no length is shared by half the digits: the longest but the two outliers (2.20 s and
    # 2.28 s, over 3 times the 90th percentile, 0.60 s): 1.313 s
    assert seconds == 1.4
    before = sorted(str(p) for p in fsdd_dir.rglob("*"))
    features, cache_dir = load_or_build_features(
        meta.subset(meta.folds == 1), FbankConfig(), seconds, name="fsdd", progress=False
    )
    assert features.shape == (600, 128, 141)
    assert cache_dir.is_relative_to(home / "cache") and cache_dir.parent.name.startswith("fsdd-")
    assert sorted(str(p) for p in fsdd_dir.rglob("*")) == before  # nothing written to the dataset
    assert np.isfinite(features[:10]).all()
