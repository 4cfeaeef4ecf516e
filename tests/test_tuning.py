"""Tuning on validation folds: the held-out fold is never loaded, each variant is logged, and
``ast-lab tune`` / ``ast-lab train --recipe`` run what the recipes name."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from data_helpers import write_esc50_layout

from ast_lab.cli import main
from ast_lab.metrics import Results
from ast_lab.progress import EpochProgress, epoch_summary
from ast_lab.recipes import get_recipe, load_recipe_data
from ast_lab.tuning import parse_setting, tune, variant

pytest_plugins = ["data_fixtures"]
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see tests/conftest.py


@pytest.fixture(scope="module")
def noise_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 classes x 5 folds x 2 noise clips of 0.3 s in ESC-50's layout (don't modify)."""
    root = tmp_path_factory.mktemp("noise") / "noise"
    return write_esc50_layout(root, n_classes=4, clips_per_class_per_fold=2, seconds=0.3,
                              noise=True)


def test_settings_are_parsed_as_literals():
    assert parse_setting("train.mixup_alpha=0.3") == ("train.mixup_alpha", 0.3)
    assert parse_setting("model.channels=(8, 16)") == ("model.channels", (8, 16))
    assert parse_setting("train.schedule=step") == ("train.schedule", "step")
    with pytest.raises(ValueError, match="<part>.<field>=<value>"):
        parse_setting("mixup")


def test_without_fold_drops_every_clip_of_that_fold(noise_set: Path, home: Path):
    data = load_recipe_data(get_recipe("cnn"), "folder", str(noise_set), progress=False)
    dev = data.without_fold(3)
    assert len(dev) == len(data) - 8 and 3 not in dev.fold_ids
    kept = np.flatnonzero(data.folds != 3)
    np.testing.assert_array_equal(dev.features, np.asarray(data.features)[kept])
    assert dev.class_names == data.class_names and dev.name == "noise-without-fold3"
    with pytest.raises(ValueError, match="unknown fold 9"):
        data.without_fold(9)


def test_tune_scores_validation_folds_and_never_the_held_out_one(noise_set, home, tmp_path):
    settings = {"train.epochs": 1, "train.mixup_alpha": 0.2}
    data = load_recipe_data(variant("cnn", settings), "folder", str(noise_set), progress=False)
    log = tmp_path / "tuning" / "noise.md"
    score = tune("cnn", data, held_out=1, val_folds=[2, 4], settings=settings,
                 runs_dir=tmp_path / "runs", log=log, progress=False)
    assert list(score.accuracy) == [2, 4] and 0 <= score.mean <= 1
    run = next((tmp_path / "runs" / "noise-without-fold1").glob("cnn-*"))
    results = Results.load(run)
    assert results.fold_ids == [2, 4]
    tested = np.concatenate([f.predictions.indices for f in results.folds])
    assert len(tested) == 16  # the two validation folds of the 32 clips left
    saved = json.loads((run / "cnn-fold2" / "fold_result.json").read_text())["run_config"]
    assert saved["data"]["n_clips"] == 32  # fold 1's 8 clips were never loaded
    lines = log.read_text().splitlines()
    assert lines[-1].startswith("| 20") and "train.mixup_alpha=0.2" in lines[-1]
    assert "| 1 | 2,4 |" in lines[-1]


def test_tune_refuses_data_with_other_features(noise_set, home, tmp_path):
    data = load_recipe_data(get_recipe("cnn"), "folder", str(noise_set), progress=False)
    with pytest.raises(ValueError, match="not the ones"):
        tune("cnn", data, held_out=1, settings={"fbank.n_mels": 32}, runs_dir=tmp_path,
             progress=False)


def test_tune_command_logs_a_row(noise_set, home, tmp_path, capsys):
    log = tmp_path / "log.md"
    args = ["tune", "--recipe", "cnn", "--data", "folder", "--root", str(noise_set),
            "--held-out", "5", "--val-folds", "1", "--set", "train.epochs=1",
            "--runs", str(tmp_path / "runs"), "--log", str(log), "--no-progress"]
    assert main(args) == 0
    assert "validation accuracy" in capsys.readouterr().out
    assert "| 5 | 1 |" in log.read_text()


def test_train_recipe_writes_the_run_folder_and_trains_the_teacher_beside_it(
    noise_set, home, tmp_path, capsys
):
    out = tmp_path / "runs" / "noise" / "ast-distilled"
    args = ["train", "--recipe", "ast-distilled", "--data", "folder", "--root", str(noise_set),
            "--folds", "2", "--epochs", "1", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "training the teacher first" in printed and "| AST |" in printed
    assert Results.load(out).configs["train"]["distillation"] == "hard"
    assert Results.load(out.parent / "cnn").fold_ids == [2]
    assert Results.load(out).class_targets == [0, 1, 2, 3]
    # one line per epoch off a terminal, nothing measured left out as nan
    assert main(args[:-1] + ["--resume"]) == 0
    with pytest.raises(SystemExit):
        main(["train", "--recipe", "cnn", "--model", "cnn"])
    assert main(["train", "--recipe", "cnn", "--data", "folder", "--root", str(noise_set),
                 "--n-mels", "32"]) == 1
    assert "fixes its own settings; drop --n-mels" in capsys.readouterr().err


def test_epoch_lines_off_a_terminal_show_only_what_was_measured(capsys):
    with EpochProgress("cnn fold 2", 3, enabled=True, terminal=False) as progress:
        progress.update(0, {"train_loss": 1.2345, "train_acc": 0.5, "val_acc": float("nan"),
                            "lr": 1e-3}, 2.5)
        progress.update(1, {"train_loss": 1.0, "train_acc": 0.6, "val_acc": 0.55, "lr": 5e-4},
                        2.0)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "cnn fold 2 epoch 1/3: loss 1.234, train acc 0.500, lr 1.0e-03, 2.5 s",
        "cnn fold 2 epoch 2/3: loss 1.000, train acc 0.600, val acc 0.550, lr 5.0e-04, 2.0 s",
    ]
    assert "val acc" not in epoch_summary({"val_acc": float("nan")})


def test_cli_training_log_has_no_bar_frames(noise_set, home, tmp_path, capfd):
    args = ["train", "--model", "cnn", "--data", "folder", "--root", str(noise_set),
            "--n-mels", "32", "--folds", "3", "--epochs", "2", "--out", str(tmp_path / "r")]
    assert main(args) == 0
    captured = capfd.readouterr()
    assert "\r" not in captured.out + captured.err  # captured output is not a terminal
    epochs = [line for line in captured.out.splitlines() if " epoch " in line]
    assert [line.split(":")[0] for line in epochs] == ["cnn fold 3 epoch 1/2",
                                                       "cnn fold 3 epoch 2/2"]
    assert "nan" not in captured.out
