"""Tuning the demo on its validation splits: variants of its settings, scored and logged
without reading a test fold."""

from __future__ import annotations

from pathlib import Path

import pytest

from ast_lab.demo import demo_settings
from ast_lab.demo_tuning import tune_demo
from ast_lab.metrics import Results

pytest_plugins = ["data_fixtures"]
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see tests/conftest.py


def test_with_settings_replaces_fields_of_the_named_parts():
    base = demo_settings(quick=True)
    changed = base.with_settings({"ast_train.epochs": 7, "cnn.channels": [8, 16]})
    assert changed.ast_train.epochs == 7 and changed.cnn.channels == (8, 16)
    assert changed.cnn_train == base.cnn_train and base.ast_train.epochs != 7
    with pytest.raises(ValueError, match="part must be one of"):
        base.with_settings({"optimizer.lr": 0.1})
    with pytest.raises(ValueError, match="cnn_train has no field 'epoch'"):
        base.with_settings({"cnn_train.epoch": 3})


def test_a_variant_is_scored_on_validation_splits_and_logged(home: Path, tmp_path: Path):
    log = tmp_path / "tuning" / "demo.md"
    settings = {"cnn_train.epochs": 1, "cnn.channels": (8, 16)}
    score = tune_demo("cnn", demo_settings(quick=True), settings, folds=[2],
                      out_dir=tmp_path / "run", log=log, progress=False)
    fold = Results.load(tmp_path / "run").folds[0]
    assert fold.test_fold == 2 and fold.epochs_run == 1
    assert score.accuracy == {2: fold.history["val_acc"][fold.best_epoch]}
    assert score.epochs_run == {2: 1}
    text = log.read_text()
    assert "test folds' accuracy is never read" in text
    row = text.splitlines()[-1]
    assert "cnn_train.epochs=1, cnn.channels=(8, 16)" in row
    assert f"2: {score.accuracy[2]:.3f}" in row
    with pytest.raises(ValueError, match="model must be one of"):
        tune_demo("rnn", demo_settings(quick=True), {}, progress=False)
