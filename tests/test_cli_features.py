"""`ast-lab features`: builds the cache, says where it went and its shape; clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from data_helpers import clone_dataset, write_csv

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
def test_kaldi_preset_and_seconds(
    synthetic_small: Path, tmp_path: Path, home: Path, capsys
) -> None:
    root = clone_dataset(synthetic_small, tmp_path / "syn")
    args = ["--data", "folder", "--root", str(root), "--fbank", "kaldi", "--seconds", "0.3"]
    status, out, _ = run_features(capsys, *args)
    assert status == 0
    assert "syn: 120 clips x 128 mels x 512 frames" in out  # padded to 512, as AST does
    assert "padded or cropped to 0.3 s (0 clips are 0.3 s long to within 10 ms; 0 shorter" in out
    assert "120 longer ones cropped" in out


def test_summary_says_what_was_done_to_odd_files(tmp_path: Path, home: Path, capsys) -> None:
    """A folder as messy as the real ESC-50 copy: two rates, stereo files, a clip 8 ms over
    the common length (not an outlier), one shorter and one longer."""
    root = tmp_path / "messy"
    (root / "audio").mkdir(parents=True)
    (root / "meta").mkdir()
    clips = [(0.5, 44_100, 1), (0.5, 48_000, 2), (0.508, 44_100, 1), (0.3, 44_100, 1),
             (0.7, 48_000, 1), (0.5, 44_100, 2)]  # (seconds, rate, channels)
    rows = [["filename", "fold", "target", "category"]]
    rng = np.random.default_rng(0)
    for i, (seconds, rate, channels) in enumerate(clips):
        filename = f"{i % 2 + 1}-{i}-A-{i % 2}.wav"
        wave = 0.1 * rng.standard_normal((int(round(seconds * rate)), channels))
        sf.write(root / "audio" / filename, wave.astype(np.float32), rate, subtype="PCM_16")
        rows.append([filename, str(i % 2 + 1), str(i % 2), ["dog", "rain"][i % 2]])
    write_csv(root, rows)
    status, out, _ = run_features(capsys, "--data", "folder", "--root", str(root), "--n-mels", "16")
    assert status == 0
    assert ("clips padded or cropped to 0.5 s (4 clips are 0.5 s long to within 10 ms; 1 shorter "
            "ones are zero-padded at the end and 1 longer ones cropped to their first 0.5 s; "
            "shortest 0.30 s (2-3-A-1.wav), longest 0.70 s (1-4-A-0.wav)); "
            "4 clips at 44100 Hz and 2 clips at 48000 Hz, resampled to 16000 Hz; "
            "2 stereo clips averaged to mono; 2 classes") in out


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
