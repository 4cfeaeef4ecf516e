"""`ast-lab features`: builds the cache, says where it went and its shape; clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from data_helpers import clone_dataset

from ast_lab.cli import build_parser, main

pytest_plugins = ["data_fixtures"]
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see tests/conftest.py


def run_features(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    status = main(["features", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_folder_dataset(synthetic_small: Path, tmp_path: Path, home: Path, capsys) -> None:
    root = clone_dataset(synthetic_small, tmp_path / "digits")
    status, out, _ = run_features(capsys, "--data", "folder", "--root", str(root))
    assert status == 0
    assert "digits: 120 clips x 128 mels x 51 frames, float32" in out  # 0.5 s, every clip
    assert "padded or cropped to 0.5 s (120 clips are 0.5 s long" in out
    cache_dir = Path(re.search(r"cache: (.+)", out).group(1))
    assert cache_dir.parent.parent == home / "cache" and (cache_dir / "manifest.json").is_file()
    assert not (root / "cache").exists()
    status, again, _ = run_features(capsys, "--data", "folder", "--root", str(root))
    assert status == 0 and f"cache: {cache_dir}" in again  # reused


@pytest.mark.filterwarnings("ignore:Empty filters detected")  # Kaldi's recipe at 128 mels
def test_kaldi_preset_and_seconds(synthetic_small: Path, tmp_path: Path, capsys) -> None:
    root = clone_dataset(synthetic_small, tmp_path / "syn")
    args = ["--data", "folder", "--root", str(root), "--fbank", "kaldi", "--seconds", "0.3"]
    status, out, _ = run_features(capsys, *args)
    assert status == 0
    assert "syn: 120 clips x 128 mels x 512 frames" in out  # padded to 512, as AST does
    assert "padded or cropped to 0.3 s (0 clips are 0.3 s long; 0 shorter" in out
    assert "120 longer ones cropped" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data", "folder"], "needs DataConfig.root (--root)"),
        (["--data", "esc50", "--root", "/nonexistent/ESC-50-master"], "--download"),
    ],
)
def test_errors_are_one_line_messages(capsys, home: Path, args: list[str], message: str) -> None:
    status, out, err = run_features(capsys, *args)
    assert status == 1 and out == ""
    assert err.startswith("ast-lab features: error: ") and message in err


def test_subcommands_are_registered() -> None:
    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["features", "--data", "mp3"])  # argparse rejects unknown choices
    args = parser.parse_args(["features"])
    chosen = (args.data, args.root, args.fbank, args.seconds, args.download, args.esc10)
    assert chosen == ("synthetic", None, None, None, False, False)  # None: the "default" preset
