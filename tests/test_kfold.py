"""benchmarks/kfold.py: a recipe's k-fold run, its teacher, the results folder and table row.

The commands are the ones users run, with one epoch and fewer folds and clips: on small folders
in the ESC-50 layout with noise clips, for the short recipes and for the ESC-50 recipes (5-s
clips, the paper's 128 x 512 features, the tiny AST).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from data_helpers import write_esc50_layout

from ast_lab.metrics import Results

pytestmark = pytest.mark.usefixtures("one_torch_thread")

@pytest.fixture(scope="module")
def kfold(import_benchmark):
    return import_benchmark("kfold")


def _rows(table: Path) -> list[list[str]]:
    lines = [line for line in table.read_text().splitlines() if line.startswith("| 20")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def test_distilled_recipe_trains_its_teacher_first_and_records_both(kfold, tmp_path, monkeypatch):
    monkeypatch.setenv("AST_LAB_HOME", str(tmp_path / "home"))
    root = write_esc50_layout(tmp_path / "digits", n_classes=4, clips_per_class_per_fold=2,
                              noise=True)
    args = ["--recipe", "ast-distilled", "--data", "folder", "--root", str(root), "--epochs", "1",
            "--folds", "1,2", "--out", str(tmp_path / "runs" / "digits" / "ast-distilled"),
            "--results", str(tmp_path / "results"), "--no-progress"]
    assert kfold.main(args) == 0
    rows = _rows(tmp_path / "results" / "digits.md")
    assert [(r[1], r[2], r[3]) for r in rows] == [("cnn", "CNN", "2"), ("ast-distilled", "AST", "2")]
    for name in ("cnn", "ast-distilled"):
        published = tmp_path / "results" / "digits" / name
        assert {p.name for p in published.iterdir()} >= {
            "results.json", "results.csv", "learning_curves.png", "confusion_matrix.png"}
        assert not list(published.glob("*.pt"))  # checkpoints stay in runs/
        results = Results.load(published)
        assert results.fold_ids == [1, 2] and results.configs["train"]["epochs"] == 1
    teacher = json.loads((tmp_path / "runs" / "digits" / "ast-distilled" / "ast-fold1" /
                          "fold_result.json").read_text())["run_config"]["teacher_run"]
    assert teacher == str((tmp_path / "runs" / "digits" / "cnn").resolve())
    # a second run reuses the finished teacher: one new row, for the student only
    assert kfold.main(args + ["--resume"]) == 0
    assert [r[1] for r in _rows(tmp_path / "results" / "digits.md")][2:] == ["ast-distilled"]


@pytest.mark.filterwarnings("ignore:Empty filters")  # the paper's FBANK has one; see notebook 01
def test_esc50_distilled_recipe_runs_end_to_end_on_a_stand_in(kfold, tmp_path, monkeypatch):
    # ESC-50's layout and names, 5 of its classes with one clip per class and fold, read as a
    # folder (--data esc50 insists on all 2,000 clips, and one CPU epoch of the tiny AST over
    # 1,600 clips of 128 x 512 takes minutes); recipe, features and input size are ESC-50's
    monkeypatch.setenv("AST_LAB_HOME", str(tmp_path / "home"))
    root = write_esc50_layout(tmp_path / "esc50", n_classes=5, clips_per_class_per_fold=1,
                              noise=True)
    args = ["--recipe", "esc50-gpu-ast-distilled", "--data", "folder", "--root", str(root),
            "--epochs", "1", "--folds", "1",
            "--out", str(tmp_path / "runs" / "esc50" / "esc50-gpu-ast-distilled"),
            "--results", str(tmp_path / "results"), "--no-progress"]
    assert kfold.main(args) == 0
    rows = _rows(tmp_path / "results" / "esc50.md")
    assert [r[1] for r in rows] == ["esc50-gpu-cnn", "esc50-gpu-ast-distilled"]
    results = Results.load(tmp_path / "results" / "esc50" / "esc50-gpu-ast-distilled")
    model = results.configs["model"]
    assert (model["n_mels"], model["n_frames"], model["embed_dim"]) == (128, 512, 192)


def test_bad_arguments_are_reported_not_raised(kfold, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("AST_LAB_HOME", str(tmp_path / "home"))
    assert kfold.main(["--recipe", "cnn", "--data", "folder"]) == 1
    assert "--root" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # a row records a recipe, not a bare model
        kfold.main(["--model", "cnn", "--data", "synthetic"])
    assert "--recipe" in capsys.readouterr().err
    assert kfold.main(["--recipe", "cnn", "--data", "folder", "--root", str(tmp_path)]) == 1
    assert "meta" in capsys.readouterr().err
    silent = write_esc50_layout(tmp_path / "silent", n_classes=2, clips_per_class_per_fold=1)
    assert kfold.main(["--recipe", "cnn", "--data", "folder", "--root", str(silent),
                       "--folds", "1", "--out", str(tmp_path / "runs" / "cnn"),
                       "--no-progress"]) == 1
    assert "silent" in capsys.readouterr().err
