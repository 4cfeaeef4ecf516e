"""`ast-lab demo | train | evaluate`: thin callers of cross_validate, checked end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ast_lab.cli import main, parse_folds
from ast_lab.demo import demo_settings

pytest_plugins = ["data_fixtures"]
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see tests/conftest.py

TABLE_ROW = re.compile(r"^\| (CNN|AST) \| (\d\.\d{3}) ± (\d\.\d{3}|n/a) \|", re.MULTILINE)


def test_quick_demo_prints_and_saves_the_table_of_both_models(home: Path, tmp_path: Path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    rows = dict((model, float(acc)) for model, acc, _ in TABLE_ROW.findall(printed))
    assert set(rows) == {"CNN", "AST"}
    assert (out / "results.md").read_text().strip() in printed
    for kind in ("cnn", "ast"):
        saved = json.loads((out / kind / "results.json").read_text())
        assert [f["test_fold"] for f in saved["folds"]] == list(demo_settings(quick=True).folds)
        assert round(saved["summary"]["accuracy"]["mean"], 3) == rows[kind.upper()]
    assert (out / "examples.png").stat().st_size > 0

    # evaluate re-tests the saved best checkpoints and must reproduce the same numbers
    assert main(["evaluate", "--run", str(out / "ast")]) == 0
    again = dict((m, float(a)) for m, a, _ in TABLE_ROW.findall(capsys.readouterr().out))
    assert again == {"AST": rows["AST"]}


@pytest.mark.parametrize("argv, quick_env, folder", [
    (["demo"], "0", "runs/demo"), (["demo", "--quick"], "0", "runs/demo-quick"),
    (["demo"], "1", "runs/demo-quick"),
])
def test_quick_and_full_demos_never_share_a_default_folder(argv, quick_env, folder, tmp_path,
                                                           monkeypatch):
    """A quick demo's run has other settings, and a folder belongs to one run's settings."""
    seen = {}

    def fake_run_demo(out, settings, resume=False):
        seen.update(out=out, quick=settings == demo_settings(quick=True))
        raise ValueError("stop here")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AST_LAB_QUICK", quick_env)
    monkeypatch.setattr("ast_lab.cli_commands.run_demo", fake_run_demo)
    assert main(argv) == 1
    assert seen["out"] == Path(folder) and seen["quick"] == ("quick" in folder)


def test_train_with_debug_traces_shapes_and_plots_first_clips(synthetic_small, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--model", "cnn", "--data", "folder", "--root", str(synthetic_small),
            "--n-mels", "32", "--folds", "2", "--epochs", "1", "--out", str(out), "--debug"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "stages.0" in printed and "head" in printed  # the shape trace
    assert (out / "debug" / "first_clips.png").is_file()
    assert TABLE_ROW.search(printed).group(1) == "CNN"
    assert (out / "cnn-fold2" / "best.pt").is_file() and not (out / "cnn-fold1").exists()


def test_evaluate_says_when_a_folder_is_not_a_run(tmp_path, capsys):
    assert main(["evaluate", "--run", str(tmp_path)]) == 1
    assert "holds no results.json" in capsys.readouterr().err


def test_folds_are_parsed_or_refused():
    assert parse_folds("1, 3,5") == [1, 3, 5]
    with pytest.raises(Exception, match="comma-separated integers"):
        parse_folds("1,x")
