"""A run folder belongs to one run, a saved run knows its data, damaged files are named.

On a 3-class folder dataset in ESC-50's layout (30 noise clips of 0.2 s) and a tiny CNN
trained for one epoch. Each test checks the message and that nothing was lost or mixed: the
files a refused run would have touched are byte for byte what they were.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from data_helpers import clone_dataset, write_esc50_layout

from ast_lab.classifier import Classifier
from ast_lab.cli import main
from ast_lab.config import ASTConfig, CNNConfig, DataConfig, FbankConfig, TrainConfig
from ast_lab.data import load_dataset
from ast_lab.metrics import Results
from ast_lab.training import cross_validate, evaluate_run, load_best_model
from ast_lab.training.run_lock import LOCK_FILE

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CNN = CNNConfig(channels=(4, 8), num_classes=999)
AST = ASTConfig.preset("micro", embed_dim=16, depth=1, num_heads=2, n_mels=1, n_frames=1)
ONE_EPOCH = TrainConfig(epochs=1, batch_size=8, lr=3e-3, warmup_epochs=0, device="cpu")
FBANK = FbankConfig(n_mels=16)
HOLDER = (  # a run holding a folder's lock until its stdin closes
    "import sys; from pathlib import Path; from ast_lab.training.run_lock import run_lock\n"
    "with run_lock(Path(sys.argv[1])):\n"
    "    print('locked', flush=True)\n"
    "    sys.stdin.read()\n"
)


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """The dataset, and a home for its feature cache, for the whole module (don't modify)."""
    base = tmp_path_factory.mktemp("run-folders")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AST_LAB_HOME", str(base / "home"))
        yield write_esc50_layout(base / "ds" / "base", n_classes=3, clips_per_class_per_fold=2,
                                 seconds=0.2, noise=True)


@pytest.fixture(scope="module")
def data(root):
    return load_dataset(DataConfig(source="folder", root=str(root)), FBANK, progress=False)


@pytest.fixture(scope="module")
def finished(data, tmp_path_factory) -> Path:
    """A finished 2-fold CNN run (copy it before changing it)."""
    out = tmp_path_factory.mktemp("finished") / "run"
    cross_validate(CNN, ONE_EPOCH, data, folds=[1, 2], out_dir=out, progress=False)
    return out


@pytest.fixture
def run(finished, tmp_path) -> Path:
    """This test's own copy of the finished run."""
    return Path(shutil.copytree(finished, tmp_path / "run"))


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` and its bytes: to show that nothing changed."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _swap_class_audio(root: Path, a: int, b: int) -> None:
    """Swap the audio of classes ``a`` and ``b`` file by file; the CSV stays as it was."""
    audio = root / "audio"
    for file_a, file_b in zip(sorted(audio.glob(f"*-{a}.wav")), sorted(audio.glob(f"*-{b}.wav"))):
        content_a, content_b = file_a.read_bytes(), file_b.read_bytes()
        file_a.write_bytes(content_b)
        file_b.write_bytes(content_a)


def _same_predictions(a: Results, b: Results) -> None:
    assert a.fold_ids == b.fold_ids
    for fa, fb in zip(a.folds, b.folds):
        np.testing.assert_allclose(fa.predictions.probabilities, fb.predictions.probabilities,
                                   atol=1e-6)


# ------------------------------------------------------------------ one writer at a time


def test_a_live_run_holding_the_folder_refuses_a_second_one(data, run):
    before = _snapshot(run)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(run)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ValueError) as refused:
            cross_validate(CNN, ONE_EPOCH, data, folds=[1, 2], out_dir=run, progress=False)
        message = str(refused.value)
        assert f"{run} is in use by another run (pid {holder.pid} on host" in message
        assert "wait until it ends or stop it, or train into another --out" in message
        after = _snapshot(run)
        assert after.pop(LOCK_FILE) and after == before  # the holder's lock, nothing else
    finally:
        holder.communicate("")  # the holder ends, and its lock with it
    assert not (run / LOCK_FILE).exists()
    again = cross_validate(CNN, ONE_EPOCH, data, folds=[1, 2], out_dir=run, progress=False)
    _same_predictions(again, Results.load(run))
    assert not (run / LOCK_FILE).exists()


def test_a_lock_left_by_a_dead_run_is_taken_over_with_a_note(data, run, capsys):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(dead.stdout)
    (run / LOCK_FILE).write_text(json.dumps(
        {"pid": pid, "host": socket.gethostname(), "started": "2024-01-01 00:00:00"}))
    cross_validate(CNN, ONE_EPOCH, data, folds=[1, 2], out_dir=run, resume=True, progress=False)
    err = capsys.readouterr().err
    assert f"note: taking over {run / LOCK_FILE}, left by a run that is no longer running" in err
    assert f"pid {pid} on host" in err
    assert not (run / LOCK_FILE).exists()


class Interrupt(Exception):
    """Raised from the callback to simulate a crash."""


def test_the_lock_is_released_when_a_run_fails(data, tmp_path):
    def crash(end):
        raise Interrupt

    with pytest.raises(Interrupt):
        cross_validate(CNN, ONE_EPOCH, data, folds=[1], out_dir=tmp_path / "run",
                       progress=False, callback=crash)
    assert not (tmp_path / "run" / LOCK_FILE).exists()
    resumed = cross_validate(CNN, ONE_EPOCH, data, folds=[1], out_dir=tmp_path / "run",
                             resume=True, progress=False)
    assert resumed.fold_ids == [1]


# ------------------------------------------------------------------ one run's settings


def test_resume_with_other_settings_is_refused_naming_them(data, run):
    before = _snapshot(run)
    faster = dataclasses.replace(ONE_EPOCH, lr=1e-2)
    with pytest.raises(ValueError, match=(
        rf"^cannot resume in {run}: cnn-fold1 was trained with other settings "
        r"\(train_config \(lr 0\.003 -> 0\.01\)\); resume with the settings it was made with, "
        r"or train into another --out$"
    )):
        cross_validate(CNN, faster, data, folds=[1, 2], out_dir=run, resume=True,
                       progress=False)
    with pytest.raises(ValueError, match=rf"^{run} holds another run: cnn-fold1 was trained "
                                         r"with other settings \(train_config \(lr"):
        cross_validate(CNN, faster, data, folds=[1, 2], out_dir=run, progress=False)
    assert _snapshot(run) == before


def test_another_model_in_the_folder_is_refused_so_results_describe_its_checkpoints(data, run):
    before = _snapshot(run)
    for resume in (True, False):
        with pytest.raises(ValueError, match=r"cnn-fold1 was trained with other settings "
                                             r"\(model 'cnn' -> 'ast', model_config"):
            cross_validate(AST, ONE_EPOCH, data, folds=[1, 2], out_dir=run, resume=resume,
                           progress=False)
    assert _snapshot(run) == before
    saved = Results.load(run)
    assert saved.model == "cnn" and saved.fold_ids == [1, 2]
    assert sorted(p.name for p in run.glob("*-fold*")) == ["cnn-fold1", "cnn-fold2"]


def test_resume_on_changed_audio_is_refused_naming_the_classes(run, root, tmp_path, monkeypatch):
    monkeypatch.setenv("AST_LAB_HOME", str(tmp_path / "home"))
    swapped = clone_dataset(root, tmp_path / "other" / "base")  # same name, same CSV
    _swap_class_audio(swapped, 0, 1)
    other = load_dataset(DataConfig(source="folder", root=str(swapped)), FBANK, progress=False)
    before = _snapshot(run)
    with pytest.raises(ValueError, match=r"cannot resume in .*\(data \(fingerprint \(audio "
                                         r"\(dog, rooster\)\)\)\)"):
        cross_validate(CNN, ONE_EPOCH, other, folds=[1, 2], out_dir=run, resume=True,
                       progress=False)
    assert _snapshot(run) == before


def test_a_rerun_with_the_same_settings_keeps_the_folds_it_does_not_redo(data, run, capsys):
    before = _snapshot(run)
    again = cross_validate(CNN, ONE_EPOCH, data, folds=[2], out_dir=run, progress=False)
    assert "the results also cover fold(s) [1], finished earlier in" in capsys.readouterr().err
    assert again.fold_ids == [2, 1] and Results.load(run).fold_ids == [2, 1]
    fold1 = "cnn-fold1/fold_result.json"
    assert _snapshot(run)[fold1] == before[fold1]  # fold 1 untouched, fold 2 trained again
    _same_predictions(Results.load(run), again)


def test_repeated_folds_are_refused_naming_them(data, tmp_path):
    with pytest.raises(ValueError, match=r"^test fold\(s\) \[1\] asked for more than once in "
                                         r"\[1, 2, 1\]; each fold is tested once$"):
        cross_validate(CNN, ONE_EPOCH, data, folds=[1, 2, 1], out_dir=tmp_path / "run",
                       progress=False)
    assert not (tmp_path / "run").exists()


def test_out_pointing_at_a_file_is_refused(data, tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    with pytest.raises(ValueError, match=rf"^--out {target} is a file, not a folder"):
        cross_validate(CNN, ONE_EPOCH, data, folds=[1], out_dir=target, progress=False)
    assert target.read_text() == "keep me"


# ------------------------------------------------------------------ a run knows its data


def test_a_run_records_its_root_absolute_and_evaluates_there_from_anywhere(
    root, tmp_path, monkeypatch
):
    # trained with a relative root; evaluated from a folder whose ds/base has two classes'
    # audio swapped: the run still reads its own data, and refuses the other one when given it
    monkeypatch.setenv("AST_LAB_HOME", str(tmp_path / "home"))
    here, elsewhere = tmp_path.resolve() / "here", tmp_path.resolve() / "elsewhere"
    clone_dataset(root, here / "ds" / "base")
    swapped = clone_dataset(root, elsewhere / "ds" / "base")
    _swap_class_audio(swapped, 0, 1)
    monkeypatch.chdir(here)
    data = load_dataset(DataConfig(source="folder", root="ds/base"), FBANK, progress=False)
    out = tmp_path / "run"
    trained = cross_validate(CNN, ONE_EPOCH, data, folds=[1], out_dir=out, progress=False)
    assert trained.configs["data"]["root"] == str(here / "ds" / "base")

    monkeypatch.chdir(elsewhere)
    _same_predictions(evaluate_run(out), trained)
    other = load_dataset(DataConfig(source="folder", root="ds/base"), FBANK, progress=False)
    with pytest.raises(ValueError, match=(
        rf"^{re.escape(str(swapped))} does not hold the data {re.escape(str(out))} was trained "
        rf"on \(at {re.escape(str(here / 'ds' / 'base'))}\): "
        r"the audio of class\(es\) dog, rooster differs\. Evaluate it on the data it trained on, "
        r"or train a new run on this data$"
    )):
        evaluate_run(out, other)


def test_a_run_saved_without_a_fingerprint_is_evaluated_with_a_warning(data, run, capsys):
    saved = json.loads((run / "results.json").read_text())
    del saved["configs"]["data_fingerprint"]
    (run / "results.json").write_text(json.dumps(saved))
    _same_predictions(evaluate_run(run, data), Results.load(run))
    assert f"warning: {run} records no fingerprint of its data" in capsys.readouterr().err


# ------------------------------------------------------------------ damaged files


def _truncate(path: Path) -> bytes:
    """Cut ``path`` to half its size; returns what is left."""
    content = path.read_bytes()[: path.stat().st_size // 2]
    path.write_bytes(content)
    return content


def test_a_damaged_best_checkpoint_is_named_by_evaluate_and_predict(data, run, capsys):
    best = run / "cnn-fold2" / "best.pt"
    left = _truncate(best)
    damaged = rf"^{best} is damaged \(truncated or not a checkpoint\): retrain that fold"
    with pytest.raises(ValueError, match=damaged):
        evaluate_run(run, data)
    with pytest.raises(ValueError, match=damaged):
        load_best_model(run, 2)
    with pytest.raises(ValueError, match=damaged):
        Classifier.from_run(run)  # predict --run
    assert main(["evaluate", "--run", str(run)]) == 1
    assert f"{best} is damaged" in capsys.readouterr().err
    assert best.read_bytes() == left  # reported, not removed


def test_a_damaged_last_checkpoint_is_named_on_resume(data, run):
    (run / "cnn-fold2" / "fold_result.json").unlink()  # fold 2 as if interrupted
    last = run / "cnn-fold2" / "last.pt"
    left = _truncate(last)
    with pytest.raises(ValueError, match=rf"^{last} is damaged \(truncated or not a checkpoint\)"):
        cross_validate(CNN, ONE_EPOCH, data, folds=[1, 2], out_dir=run, resume=True,
                       progress=False)
    assert last.read_bytes() == left


@pytest.mark.parametrize("name", ["results.json", "cnn-fold1/fold_result.json"])
def test_a_half_written_json_file_is_named(data, run, name):
    path = run / name
    left = _truncate(path)
    with pytest.raises(ValueError, match=rf"^{path} is damaged \(truncated or not JSON: "):
        if name == "results.json":
            evaluate_run(run, data)
        else:
            cross_validate(CNN, ONE_EPOCH, data, folds=[1, 2], out_dir=run, resume=True,
                           progress=False)
    assert path.read_bytes() == left


def test_atomically_written_files_get_ordinary_permissions(tmp_path):
    """A file written through a temporary is readable by others as any new file is (the
    temporary's private mode is not kept)."""
    from ast_lab.atomic_files import current_umask, save_json

    save_json({"a": 1}, tmp_path / "x.json")
    assert (tmp_path / "x.json").stat().st_mode & 0o777 == 0o666 & ~current_umask()
