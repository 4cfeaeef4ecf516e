"""How ``ast-lab`` fails: one line on stderr naming the file and the fix, status 1 (130 for
Ctrl-C), nothing written or lost; a bug keeps its traceback, and ``AST_LAB_DEBUG=1`` or
``train --debug`` keep every traceback."""

from __future__ import annotations

import dataclasses
import errno
import os
import shutil
import warnings
from argparse import Namespace
from pathlib import Path

import pytest
import torch
from data_helpers import write_esc50_layout

from ast_lab import cli, cli_commands
from ast_lab.cli import main
from ast_lab.errors import DEBUG_ENV, DEBUG_HINT, failure_message, run_command
from ast_lab.model_card import MODEL_DIR
from ast_lab.recipes import RECIPES, get_recipe, load_recipe_data, run_recipe

pytest_plugins = ["data_fixtures"]
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see tests/conftest.py

NO_CUDA = ("--device cuda: this machine has no CUDA GPU (torch.cuda.is_available() is False); "
           "use --device cpu or auto")


def one_error_line(capsys: pytest.CaptureFixture, command: str) -> str:
    """The message of the one error line ``command`` printed on stderr (hint stripped)."""
    err = capsys.readouterr().err
    prefix, suffix = f"ast-lab {command}: error: ", f" {DEBUG_HINT}\n"
    assert err.count("\n") == 1 and err.startswith(prefix) and err.endswith(suffix), err
    return err[len(prefix):-len(suffix)]


@pytest.fixture
def no_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine without CUDA, whatever this one has."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory: pytest.TempPathFactory):
    """Fold 1 of recipe cnn cut to 1 epoch, on a 3-class stand-in named esc50 (a dataset with
    a known licence): (run folder, the shortened recipe)."""
    tmp = tmp_path_factory.mktemp("cnn_run")
    root = write_esc50_layout(tmp / "esc50", n_classes=3, clips_per_class_per_fold=2,
                              seconds=1.0, noise=True)
    short = dataclasses.replace(get_recipe("cnn"), train=dataclasses.replace(
        get_recipe("cnn").train, epochs=1))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AST_LAB_HOME", str(tmp / "home"))
        data = load_recipe_data(short, "folder", str(root), progress=False)
        run_recipe(short, data, tmp / "run", folds=[1], progress=False)
    return tmp / "run", short


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder``: relative path -> (size, mtime in ns)."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------ --device


@pytest.mark.parametrize("command", [
    ["train", "--model", "cnn"], ["train", "--recipe", "ast-distilled"],
])
def test_device_cuda_without_cuda_is_refused_before_any_data_is_loaded(
        command, no_cuda, home, tmp_path, capsys):
    out = tmp_path / "run"
    args = command + ["--data", "folder", "--root", str(tmp_path / "absent"),
                      "--device", "cuda", "--out", str(out)]
    assert main(args) == 1
    assert one_error_line(capsys, "train") == NO_CUDA
    assert not out.exists() and not home.exists()  # no run folder, no cache, no dataset


def test_an_unknown_device_is_named(home, tmp_path, capsys):
    assert main(["train", "--model", "cnn", "--device", "tpu", "--out", str(tmp_path / "r")]) == 1
    assert one_error_line(capsys, "train") == (
        "--device tpu: not a device ast-lab runs on; use --device auto, cpu or cuda")
    assert not (tmp_path / "r").exists() and not home.exists()


def test_tune_refuses_a_cuda_device_setting_without_cuda(no_cuda, home, tmp_path, capsys):
    assert main(["tune", "--recipe", "cnn", "--set", "train.device=cuda",
                 "--runs", str(tmp_path / "runs")]) == 1
    assert one_error_line(capsys, "tune") == (
        "train.device cuda: this machine has no CUDA GPU (torch.cuda.is_available() is "
        "False); use train.device cpu or auto")
    assert not (tmp_path / "runs").exists() and not home.exists()


# ------------------------------------------------------------------ numbers and tune --set


@pytest.mark.parametrize("setting, message", [
    ("train.epochs=abc", "setting train.epochs='abc': train.epochs takes an integer (now 20)"),
    ("train.lr=fast", "setting train.lr='fast': train.lr takes a number (now 0.001)"),
    ("train.schedule=linear",
     "setting train.schedule='linear': train.schedule takes one of 'cosine', 'step' "
     "(now 'cosine')"),
    ("model.channels=(8,x)", "setting model.channels='(8,x)': model.channels takes a tuple of "
     "integers (now (16, 32, 64, 128))"),
    ("train.epochs=0", "settings train.epochs=0: TrainConfig: epochs must be >= 1, got 0"),
    ("train.lr=0", "settings train.lr=0: TrainConfig: lr must be > 0, got 0"),
    ("model.dropout=1.5", "settings model.dropout=1.5: CNNConfig: dropout must be in [0, 1), "
     "got 1.5"),
    ("trian.epochs=3", "setting trian.epochs=3: the part must be one of train, model, fbank "
     "(as in train.epochs=10)"),
    ("mixup", "a setting is <part>.<field>=<value>, got 'mixup'"),
])
def test_tune_checks_each_setting_before_loading_anything(setting, message, home, tmp_path,
                                                          capsys):
    runs, log = tmp_path / "runs", tmp_path / "log.md"
    assert main(["tune", "--recipe", "cnn", "--set", setting, "--runs", str(runs),
                 "--log", str(log)]) == 1
    assert one_error_line(capsys, "tune") == message
    assert not runs.exists() and not log.exists() and not home.exists()


def test_an_unknown_field_lists_the_fields_of_its_part(home, tmp_path, capsys):
    assert main(["tune", "--recipe", "ast", "--set", "model.channels=(8,)",
                 "--runs", str(tmp_path / "runs")]) == 1
    message = one_error_line(capsys, "tune")
    assert message.startswith("setting model.channels=(8,): model (ASTConfig) has no field "
                              "'channels'; its fields: ")
    assert "depth, drop_path_rate, drop_rate, embed_dim" in message


def test_teacher_settings_need_a_recipe_with_a_teacher(home, tmp_path, capsys):
    assert main(["tune", "--recipe", "cnn", "--teacher-set", "train.epochs=3",
                 "--runs", str(tmp_path / "runs")]) == 1
    assert one_error_line(capsys, "tune") == (
        "recipe cnn has no teacher to apply the teacher settings train.epochs=3 to")


def test_train_refuses_numbers_out_of_range_before_loading(home, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--model", "cnn", "--lr", "-0.1", "--out", str(out)]) == 1
    assert one_error_line(capsys, "train") == "TrainConfig: lr must be > 0, got -0.1"
    assert not out.exists() and not home.exists()


# ------------------------------------------------------------------ files and folders


def test_an_out_that_is_a_file_is_refused_and_kept(home, tmp_path, capsys):
    out = tmp_path / "notes.txt"
    out.write_text("mine")
    assert main(["train", "--model", "cnn", "--out", str(out)]) == 1
    assert one_error_line(capsys, "train") == (
        f"--out {out} is not a folder; choose another --out")
    assert main(["demo", "--out", str(out / "demo")]) == 1
    assert one_error_line(capsys, "demo") == (
        f"--out {out / 'demo'} is not a folder: {out} is a file; choose another --out")
    assert out.read_text() == "mine" and not home.exists()


def test_a_folder_it_may_not_write_names_the_folder_and_the_fix(home, monkeypatch, capsys):
    cache = home / "cache"

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(cache))

    monkeypatch.setattr(cli_commands, "load_dataset", refuse)
    assert main(["features"]) == 1
    assert one_error_line(capsys, "features") == (
        f"permission denied: {cache}; make it writable, choose another --out, or set "
        "AST_LAB_HOME to a writable folder")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
def test_a_read_only_home_is_one_line(home, capsys):
    home.mkdir(mode=0o500)
    try:
        assert main(["features"]) == 1
    finally:
        home.chmod(0o700)
    assert str(home) in one_error_line(capsys, "features")


@pytest.mark.parametrize("error, message", [
    (NotADirectoryError(errno.ENOTDIR, "Not a directory", "runs/x/cnn-fold1"),
     "runs/x/cnn-fold1: a file stands where a folder is needed; choose another --out or move "
     "that file away"),
    (IsADirectoryError(errno.EISDIR, "Is a directory", "log.md"),
     "log.md is a folder where a file is needed; name a file instead"),
    (FileExistsError(errno.EEXIST, "File exists", "runs/x"),
     "runs/x already exists and is not a folder; choose another --out"),
    (OSError(errno.ENOSPC, "No space left on device", "cache/f.npy"),
     "no space left on the device holding cache/f.npy; free some space, or choose another "
     "--out or AST_LAB_HOME on another disk"),
    (FileNotFoundError(errno.ENOENT, "No such file or directory", "clip.wav"),
     "clip.wav does not exist; check the path"),
    (OSError(errno.EIO, "Input/output error", "clip.wav"), "clip.wav: Input/output error"),
    (FileNotFoundError("model card not found: x.json"), "model card not found: x.json"),
])
def test_each_file_error_names_the_file_and_the_fix(error, message):
    assert failure_message(error) == message


def load_error(path: Path) -> Exception:
    """What ``torch.load`` raises for the file at ``path``."""
    try:
        torch.load(path, weights_only=True)
    except Exception as err:  # noqa: BLE001 - the error under test
        return err
    raise AssertionError(f"{path} loaded")


def test_a_file_torch_cannot_load_is_named_as_a_damaged_checkpoint(tmp_path):
    whole = tmp_path / "whole.pt"
    torch.save({"w": torch.zeros(100)}, whole)
    cut, empty = tmp_path / "cut.pt", tmp_path / "empty.pt"
    cut.write_bytes(whole.read_bytes()[:200])
    empty.write_bytes(b"")
    fix = "it is damaged or cut short; restore it, or remove it and make it again"
    assert failure_message(load_error(cut)) == (
        f"{cut} cannot be read as a checkpoint (PytorchStreamReader failed reading zip "
        f"archive: failed finding central directory): {fix}")
    assert failure_message(load_error(empty)) == (
        f"{empty} cannot be read as a checkpoint (EOFError): {fix}")
    assert failure_message(RuntimeError("a bug elsewhere")) is None


@pytest.mark.parametrize("command", [["evaluate", "--run"], ["predict", "clip.wav", "--run"]])
def test_a_truncated_best_checkpoint_is_named_and_left_in_place(command, cnn_run, tmp_path,
                                                                capsys):
    run = tmp_path / "run"
    shutil.copytree(cnn_run[0], run)
    best = run / "cnn-fold1" / "best.pt"
    damaged = best.read_bytes()[: best.stat().st_size // 2]
    best.write_bytes(damaged)
    assert main(command + [str(run)]) == 1
    assert str(best) in one_error_line(capsys, command[0])
    assert best.read_bytes() == damaged


# ------------------------------------------------------------------ export


def test_export_names_the_recipe_the_run_was_trained_with(cnn_run, tmp_path, monkeypatch,
                                                          capsys):
    run, short = cnn_run
    monkeypatch.setitem(RECIPES, "cnn", short)  # the recipe as it stood for this run
    out = tmp_path / "out"
    assert main(["export", "--run", str(run), "--fold", "1", "--recipe", "ast",
                 "--out", str(out)]) == 1
    assert one_error_line(capsys, "export") == (
        f"{run} was trained by recipe cnn, not ast: export it with --recipe cnn")
    assert not out.exists()


def test_export_says_how_a_run_differs_when_no_recipe_matches(cnn_run, tmp_path, capsys):
    run, _ = cnn_run
    assert main(["export", "--run", str(run), "--fold", "1", "--recipe", "cnn",
                 "--out", str(tmp_path / "out")]) == 1
    assert one_error_line(capsys, "export") == (
        f"{run} was not trained by recipe cnn as it stands, nor by another recipe: it differs "
        "in train.epochs (run 1, recipe 20); export a run of a recipe as named")
    assert not (tmp_path / "out").exists()


def test_export_writes_outside_the_package_unless_told(cnn_run, tmp_path, monkeypatch, capsys):
    run, short = cnn_run
    monkeypatch.setitem(RECIPES, "cnn", short)
    monkeypatch.chdir(tmp_path)
    shipped = snapshot(MODEL_DIR)
    assert main(["export", "--run", str(run), "--fold", "1", "--recipe", "cnn"]) == 0
    assert sorted(p.name for p in (tmp_path / "exported").iterdir()) == ["cnn.json", "cnn.pt"]
    assert "exported/cnn.json" in capsys.readouterr().out
    assert snapshot(MODEL_DIR) == shipped


# ------------------------------------------------------------------ interrupts, bugs, --debug


@pytest.mark.parametrize("command, module, kept", [
    (["features"], cli_commands, "a cache is only saved once complete: run the same command "
     "again"),
    (["train", "--model", "cnn"], cli, "finished folds and the last epoch of an unfinished one "
     "are kept in the run folder: run the same command with --resume to go on"),
])
def test_ctrl_c_says_what_was_kept_and_exits_130(command, module, kept, home, monkeypatch,
                                                 capsys):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "load_dataset", interrupt)
    assert main(command) == 130
    assert capsys.readouterr().err == f"ast-lab {command[0]}: interrupted; {kept}\n"


def test_a_bug_keeps_its_traceback(home, monkeypatch):
    def bug(*args, **kwargs):
        raise TypeError("a bug")

    monkeypatch.setattr(cli_commands, "load_dataset", bug)
    with pytest.raises(TypeError, match="a bug"):
        main(["features"])


def test_debug_keeps_the_traceback_of_a_handled_failure(home, tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="--device tpu"):
        main(["train", "--model", "cnn", "--device", "tpu", "--debug"])
    monkeypatch.setenv(DEBUG_ENV, "1")
    with pytest.raises(ValueError, match="train.epochs takes an integer"):
        main(["tune", "--recipe", "cnn", "--set", "train.epochs=abc"])


def test_warnings_print_as_one_line_while_a_command_runs():
    """Inside a command a warning prints as ``warning: <message>``, without Python's source
    file and line; outside, Python's own format is back."""
    before = warnings.formatwarning
    printed = {}

    def run(args):
        printed["text"] = warnings.formatwarning("clip lengths disagree\n  widely", UserWarning,
                                                 "/x/clips.py", 12)
        return 0

    assert run_command(Namespace(run=run, command="features")) == 0
    assert printed["text"] == "warning: clip lengths disagree widely\n"
    assert warnings.formatwarning is before
