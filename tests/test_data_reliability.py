"""The data side of issue 23: odd inputs and a hostile environment give a clear message or the
right result, and nothing is lost: clip lengths, CSV encodings, one fold or one class, killed
builds, unwritable caches. Every dataset here is small and generated."""

from __future__ import annotations

import codecs
import errno
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from data_helpers import clone_dataset, edit_csv, read_csv, write_csv

import ast_lab.data.budget as budget
import ast_lab.data.cache as cache
import ast_lab.data.sources as sources
from ast_lab.cli import main
from ast_lab.config import DataConfig, FbankConfig
from ast_lab.data import fold_split, load_dataset, load_metadata, load_or_build_features
from ast_lab.data.cache import feature_cache_dir
from ast_lab.data.clips import dataset_clip_seconds, length_warning, read_headers

pytest_plugins = ["data_fixtures"]
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see tests/conftest.py

CFG = FbankConfig(n_mels=16)  # small, for speed
RATE = 8_000  # Hz of the generated clips


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes: "nothing was lost or changed" is equality."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def cached_files(home: Path) -> list[Path]:
    return [p for p in (home / "cache").rglob("*") if p.is_file()]


def write_folder_dataset(root: Path, seconds: list[float]) -> Path:
    """A folder dataset in ESC-50's layout: clip ``i`` lasts ``seconds[i]`` (noise at 8 kHz),
    2 classes alternating, folds 1 and 2 in pairs; the longest clip is named ``long.wav``."""
    (root / "audio").mkdir(parents=True)
    (root / "meta").mkdir()
    rng = np.random.default_rng(0)
    longest = int(np.argmax(seconds))
    rows = [["filename", "fold", "target", "category"]]
    for i, length in enumerate(seconds):
        name = "long.wav" if i == longest else f"clip{i:02d}.wav"
        wave = 0.1 * rng.standard_normal(int(round(length * RATE)))
        sf.write(root / "audio" / name, wave.astype(np.float32), RATE, subtype="PCM_16")
        rows.append([name, str(i // 2 % 2 + 1), str(i % 2), ["dog", "rain"][i % 2]])
    write_csv(root, rows)
    return root


# ---------------------------------------------------------------- 1. clip length


def test_one_long_clip_never_decides_the_clip_length(tmp_path: Path, home: Path) -> None:
    lengths = [0.30 + 0.01 * i for i in range(19)] + [60.0]  # no shared length; one minute-long
    root = write_folder_dataset(tmp_path / "ds", lengths)
    before = snapshot(root)
    with pytest.warns(UserWarning) as caught:
        data = load_dataset(DataConfig(source="folder", root=str(root)), CFG, progress=False)
    assert data.clip_seconds == 0.5  # the longest ordinary clip, 0.48 s, rounded up
    assert data.features.shape[0] == 20  # every clip is there, the long one cropped
    message = str(caught[0].message)
    assert message == (
        f"{root / 'meta' / 'esc50.csv'}: clip lengths disagree widely: 1 of 20 clips are over 3 "
        "times longer or shorter than the median (0.40 s): long.wav (60.00 s); all clips are "
        "padded or cropped to 0.5 s (set the length with --seconds / DataConfig.clip_seconds)")
    assert snapshot(root) == before  # nothing written into the dataset


def test_features_command_warns_and_builds_at_the_ordinary_length(
    tmp_path: Path, home: Path, capsys: pytest.CaptureFixture
) -> None:
    root = write_folder_dataset(tmp_path / "ds", [0.30 + 0.01 * i for i in range(19)] + [60.0])
    with pytest.warns(UserWarning, match=r"1 of 20 clips .*: long\.wav \(60\.00 s\); all clips "
                                         r"are padded or cropped to 0\.5 s"):
        status = main(["features", "--data", "folder", "--root", str(root), "--n-mels", "16"])
    out = capsys.readouterr().out
    assert status == 0 and "ds: 20 clips x 16 mels x 51 frames" in out
    assert "longest 60.00 s (long.wav)" in out  # the summary says what became of it


def test_clip_length_rule_resists_outliers() -> None:
    assert dataset_clip_seconds(np.array([5.0] * 59 + [600.0])) == 5.0  # a shared length
    spread = np.r_[np.linspace(1.0, 3.0, 59), 600.0]  # free lengths and a 10-minute file
    assert dataset_clip_seconds(spread) == 3.0
    two_kinds = np.r_[np.linspace(0.9, 1.1, 51), np.linspace(4.6, 4.95, 49)]
    assert dataset_clip_seconds(two_kinds) == 5.0  # the long half is not cropped
    assert dataset_clip_seconds(np.array([0.4, 0.61, 0.52, 2.283])) == 2.3  # 1 in 4 is no outlier


def test_length_warning_names_a_few_clips_and_counts_the_rest(tmp_path: Path) -> None:
    lengths = [1.0] * 12 + [0.1, 0.2, 4.0, 9.0, 0.05]
    root = write_folder_dataset(tmp_path / "ds", lengths)
    headers = read_headers(load_metadata(root))
    warning = length_warning(headers, 1.0, "ds.csv")
    assert warning.startswith("ds.csv: clip lengths disagree widely: 5 of 17 clips are over 3 "
                              "times longer or shorter than the median (1.00 s): ")
    assert "clip16.wav (0.05 s), clip12.wav (0.10 s), long.wav (9.00 s) and 2 more;" in warning
    assert length_warning(read_headers(load_metadata(write_folder_dataset(
        tmp_path / "even", [0.5, 0.6, 0.7, 0.8]))), 0.8, "even.csv") is None


def test_a_cache_too_big_for_the_disk_is_refused_before_any_decoding(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_folder_dataset(tmp_path / "ds", [0.4] * 8)
    before = snapshot(root)
    monkeypatch.setattr(cache, "load_clip", pytest.fail)  # nothing may be decoded
    monkeypatch.setattr(budget, "free_disk", lambda folder: 2**20)  # 1 MiB free
    cfg = DataConfig(source="folder", root=str(root), clip_seconds=600.0)
    with pytest.raises(ValueError) as err:
        load_dataset(cfg, CFG, progress=False)
    cache_dir = feature_cache_dir(load_metadata(root), CFG, 600.0, "ds")
    assert str(err.value) == (
        "the feature cache of 8 clips x 16 mels x 60001 frames (clips padded or cropped to "
        f"600 s) needs 29 MiB, but only 1 MiB is free on the disk of {cache_dir}: shorten the "
        "clips with --seconds (DataConfig.clip_seconds) or use fewer mel bands (--n-mels), or "
        "set AST_LAB_HOME to a folder on a larger disk")
    assert snapshot(root) == before and not (home / "cache").exists()


def test_a_cache_too_big_for_memory_is_refused(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_folder_dataset(tmp_path / "ds", [0.4] * 8)
    monkeypatch.setattr(cache, "load_clip", pytest.fail)
    monkeypatch.setattr(budget, "available_memory", lambda: 2**20)
    with pytest.raises(ValueError, match=r"needs 29 MiB, but only 1 MiB of memory is available "
                                         r"to train on it \(cache folder .*\): shorten the clips "
                                         r"with --seconds"):
        load_or_build_features(load_metadata(root), CFG, 600.0, name="ds", progress=False)
    assert not (home / "cache").exists()


def test_long_clips_are_built_a_few_at_a_time() -> None:
    assert budget.clips_per_batch(FbankConfig(), 5.0, 64) == 64  # ESC-50's clips: unchanged
    assert budget.clips_per_batch(FbankConfig(), 600.0, 64) == 2  # 10 minutes: 2 per batch
    assert budget.clips_per_batch(FbankConfig(), 7200.0, 64) == 1  # never none


# ---------------------------------------------------------------- 2. CSV encodings


def cafe_csv(root: Path) -> str:
    """The text of ``root``'s CSV with a non-ASCII character in three categories ("café")."""
    rows = read_csv(root)
    column = rows[0].index("category")
    for row in rows[1:]:
        row[column] = row[column].replace("tone", "café")
    return "\r\n".join(",".join(row) for row in rows) + "\r\n"


@pytest.mark.parametrize("encoding, bom", [
    ("utf-8-sig", b""),  # Excel's "CSV UTF-8"
    ("utf-16", b""),  # Excel's "Unicode Text": UTF-16 with a BOM
    ("utf-16-be", codecs.BOM_UTF16_BE),
])
def test_excel_csv_encodings_are_read(
    synthetic_small: Path, tmp_path: Path, encoding: str, bom: bytes
) -> None:
    root = clone_dataset(synthetic_small, tmp_path / "d", share_audio=True)
    csv_path, text = root / "meta" / "esc50.csv", cafe_csv(root)
    csv_path.write_bytes(text.encode("utf-8"))
    expected = load_metadata(root)
    csv_path.write_bytes(bom + text.encode(encoding))
    meta = load_metadata(root)
    assert "am_café" in meta.class_names and meta.class_names == expected.class_names
    assert meta.filenames == expected.filenames
    assert meta.targets.tolist() == expected.targets.tolist()
    assert meta.csv_lines.tolist() == expected.csv_lines.tolist()


def test_a_latin1_csv_is_refused_naming_the_line_byte_and_fix(
    synthetic_small: Path, tmp_path: Path
) -> None:
    root = clone_dataset(synthetic_small, tmp_path / "d", share_audio=True)
    csv_path = root / "meta" / "esc50.csv"
    csv_path.write_bytes(cafe_csv(root).encode("latin-1"))
    before = csv_path.read_bytes()
    offset = before.index(b"\xe9")
    line = before[:offset].count(b"\n") + 1
    with pytest.raises(ValueError) as err:
        load_metadata(root)
    assert str(err.value) == (
        f"{csv_path}, line {line}: byte 0xe9 (at byte {offset}) is not UTF-8, so the file is in "
        "another encoding (Latin-1 or Windows-1252?); save it as UTF-8 (in Excel: Save As > "
        '"CSV UTF-8")')
    assert csv_path.read_bytes() == before


def test_utf16_without_a_bom_is_named(synthetic_small: Path, tmp_path: Path) -> None:
    root = clone_dataset(synthetic_small, tmp_path / "d", share_audio=True)
    csv_path = root / "meta" / "esc50.csv"
    csv_path.write_bytes(csv_path.read_text().encode("utf-16-le"))
    with pytest.raises(ValueError, match=r"esc50\.csv, line 1: NUL bytes, as in UTF-16 without "
                                         r"a byte-order mark; save it as UTF-8"):
        load_metadata(root)


# ---------------------------------------------------------------- 3. one fold, one class


def set_column(column: str, value: str):
    def edit(rows: list[list[str]]) -> list[list[str]]:
        index = rows[0].index(column)
        return [rows[0]] + [row[:index] + [value] + row[index + 1:] for row in rows[1:]]
    return edit


def test_a_single_fold_is_named(synthetic_small: Path, tmp_path: Path, home: Path, capsys) -> None:
    root = clone_dataset(synthetic_small, tmp_path / "d", share_audio=True)
    edit_csv(root, set_column("fold", "3"))
    before = snapshot(root / "meta")
    message = (f"{root / 'meta' / 'esc50.csv'}: all 120 clips are in fold 3 (column fold); "
               "k-fold cross-validation needs at least 2 folds: number the folds 1..k")
    with pytest.raises(ValueError) as err:
        load_metadata(root)
    assert str(err.value) == message
    assert main(["features", "--data", "folder", "--root", str(root)]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1  # one line, from every command
    assert snapshot(root / "meta") == before and not (home / "cache").exists()


def test_a_split_without_training_folds_is_named(synthetic_small: Path) -> None:
    meta = load_metadata(synthetic_small)
    with pytest.raises(ValueError, match=r"esc50\.csv: no clips left to train on when fold 2 is "
                                         r"the test fold, .* needs at least 2 folds"):
        fold_split(meta.subset(meta.folds == 2), test_fold=2)


def test_a_single_class_is_named(synthetic_small: Path, tmp_path: Path, home: Path) -> None:
    root = clone_dataset(synthetic_small, tmp_path / "d", share_audio=True)
    edit_csv(root, lambda rows: set_column("category", "bird")(set_column("target", "4")(rows)))
    with pytest.raises(ValueError) as err:
        load_dataset(DataConfig(source="folder", root=str(root)), CFG, progress=False)
    assert str(err.value) == (
        f"{root / 'meta' / 'esc50.csv'}: all 120 clips are of class 'bird' (columns target and "
        "category); a classifier needs at least 2 classes")
    assert not (home / "cache").exists()


def test_esc10_subset_of_one_class_is_named(esc50_standin: Path, tmp_path: Path) -> None:
    root = clone_dataset(esc50_standin, tmp_path / "d", share_audio=True)
    dog = lambda rows: [rows[0]] + [  # noqa: E731
        row[:4] + [str(row[3] == "dog")] + row[5:] for row in rows[1:]]
    edit_csv(root, dog)
    with pytest.raises(ValueError, match=r"all 40 esc10=True clips are of class 'dog'"):
        load_metadata(root).esc10_only()


# ---------------------------------------------------------------- 4. killed builds


def dead_pid() -> int:
    """The process id of a child that has exited (so no process has it, barring reuse)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_killed_builds_temporaries_are_removed_by_the_next(tmp_path: Path, home: Path) -> None:
    root = write_folder_dataset(tmp_path / "ds", [0.3] * 8)
    meta = load_metadata(root)
    cache_dir = feature_cache_dir(meta, CFG, 0.3, "ds")
    cache_dir.mkdir(parents=True)
    stale = [cache_dir / f".features.{dead_pid()}-k1ll3d.npy",  # killed mid-build
             cache_dir / ".features.a8x_2kq9.npy",  # left by an earlier version (no pid)
             cache_dir / f".manifest.{dead_pid()}-k1ll3d.json"]
    live = cache_dir / f".features.{os.getpid()}-busy.npy"  # a build still running
    for path in stale + [live]:
        path.write_bytes(b"\0" * 30_000)
    features, built_in = load_or_build_features(meta, CFG, 0.3, name="ds", progress=False)
    assert built_in == cache_dir and features.shape == (8, 16, 31)
    assert not any(path.exists() for path in stale)
    assert live.exists()  # another build's work is never deleted
    live.unlink()
    leftover = cache_dir / f".features.{dead_pid()}-again.npy"  # killed beside a valid cache
    leftover.write_bytes(b"\0" * 30_000)
    reused, _ = load_or_build_features(meta, CFG, 0.3, name="ds", progress=False)
    assert np.array_equal(reused, features) and not leftover.exists()
    assert sorted(p.name for p in cache_dir.iterdir()) == ["features.npy", "manifest.json"]


# ---------------------------------------------------------------- 5. unwritable cache


def refuse_writes(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """Make creating the cache fail as a read-only AST_LAB_HOME does (root ignores chmod)."""
    def refused(self: Path, *args, **kwargs) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(self))
    monkeypatch.setattr(Path, "mkdir", refused)


def test_a_read_only_home_gives_one_line_naming_the_folder(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_folder_dataset(tmp_path / "ds", [0.3] * 8)
    before = snapshot(root)
    meta = load_metadata(root)
    refuse_writes(monkeypatch, home)
    with pytest.raises(ValueError) as err:
        load_or_build_features(meta, CFG, 0.3, name="ds", progress=False)
    folder = feature_cache_dir(meta, CFG, 0.3, "ds").parent
    assert str(err.value) == (
        f"cannot write the feature cache into {folder} (Permission denied): set AST_LAB_HOME to "
        "a writable folder (the cache goes to $AST_LAB_HOME/cache)")
    assert snapshot(root) == before


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="permission bits do not stop root (the test above simulates them)")
def test_a_chmod_read_only_home_keeps_its_cache_usable(tmp_path: Path, home: Path) -> None:
    root = write_folder_dataset(tmp_path / "ds", [0.3] * 8)
    meta = load_metadata(root)
    features, cache_dir = load_or_build_features(meta, CFG, 0.3, name="ds", progress=False)
    folders = [home, *(p for p in home.rglob("*") if p.is_dir())]
    for folder in folders:
        folder.chmod(0o555)
    try:
        reused, _ = load_or_build_features(meta, CFG, 0.3, name="ds", progress=False)
        assert np.array_equal(reused, features)  # a valid cache only needs reading
        with pytest.raises(ValueError, match=r"cannot write the feature cache into .*: set "
                                             r"AST_LAB_HOME to a writable folder"):
            load_or_build_features(meta, CFG, 0.2, name="ds", progress=False)
    finally:
        for folder in folders:
            folder.chmod(0o755)


def test_a_read_only_home_cannot_hold_the_synthetic_set(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(root: Path, **kwargs) -> Path:
        raise PermissionError(errno.EROFS, "Read-only file system", str(root.parent / ".synth"))
    monkeypatch.setattr(sources, "make_synthetic_dataset", refused)
    with pytest.raises(ValueError) as err:
        load_dataset(DataConfig(), CFG, progress=False)
    assert str(err.value) == (
        f"cannot write the synthetic set into {home} (Read-only file system): pass a writable "
        "--root (DataConfig.root) or set AST_LAB_HOME to a writable folder")
