"""ESC-10 two ways: ESC-50's ``esc10`` subset and a folder holding only those clips give the
same clips, folds, classes and features; the real recordings, when present (the ``esc10``
rows of ``../shared/esc50``), load as a 5-s, 10-class set with ESC-50's target numbers, and
the features summary says what the loader does to the real ESC-50's odd files."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from data_helpers import ESC10_CATEGORIES, read_csv, write_csv, write_esc50_layout

from ast_lab.cli import main
from ast_lab.config import DataConfig, FbankConfig
from ast_lab.data import load_dataset, load_metadata
from ast_lab.data.clips import (
    channel_report, clip_durations, dataset_clip_seconds, length_report, loading_report,
    rate_report, read_headers,
)
from ast_lab.data.sources import dataset_name, default_clip_seconds, resolve_root

pytest_plugins = ["data_fixtures"]
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see tests/conftest.py

ESC10_TARGETS = [0, 1, 10, 11, 12, 20, 21, 38, 40, 41]
CFG = FbankConfig(n_mels=16)
SECONDS = 0.05  # the stand-in's clip length
SHARED_ESC50 = Path(__file__).resolve().parents[2] / "shared" / "esc50"  # ESC-10: esc10 rows
needs_shared_esc50 = pytest.mark.skipif(
    not (SHARED_ESC50 / "meta" / "esc50.csv").is_file(),
    reason="../shared/esc50 (the real ESC-50 recordings, ESC-10 among them) is not here")


@pytest.fixture(scope="module")
def noisy_esc50(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ESC-50's layout, 2,000 clips of 0.05 s, each its own noise (don't modify)."""
    return write_esc50_layout(tmp_path_factory.mktemp("esc50") / "ESC-50-master", noise=True)


def esc10_folder(esc50: Path, target: Path) -> Path:
    """The ESC-10 clips of ``esc50`` in a folder of their own, ESC-50's target numbers kept,
    listed in reverse order (class order must not depend on the CSV's)."""
    rows = read_csv(esc50)
    header, kept = rows[0], [r for r in rows[1:] if r[rows[0].index("esc10")] == "True"]
    (target / "audio").mkdir(parents=True)
    (target / "meta").mkdir()
    for row in kept:
        shutil.copy2(esc50 / "audio" / row[0], target / "audio" / row[0])
    write_csv(target, [header] + kept[::-1])
    return target


def test_esc50_esc10_equals_the_esc10_folder(noisy_esc50: Path, tmp_path: Path, home: Path) -> None:
    subset = load_dataset(DataConfig(source="esc50", root=str(noisy_esc50), esc10=True,
                                     clip_seconds=SECONDS), CFG, progress=False)
    folder = load_dataset(DataConfig(source="folder", root=str(esc10_folder(noisy_esc50,
                                     tmp_path / "esc10"))), CFG, progress=False)
    assert len(subset) == len(folder) == 400
    assert subset.class_names == folder.class_names == ESC10_CATEGORIES
    assert subset.metadata.class_targets == folder.metadata.class_targets == ESC10_TARGETS
    assert folder.clip_seconds == SECONDS  # the folder's own clip length
    order = {name: i for i, name in enumerate(folder.metadata.filenames)}
    match = np.array([order[name] for name in subset.metadata.filenames])
    assert np.array_equal(subset.folds, folder.folds[match])
    assert np.array_equal(subset.targets, folder.targets[match])
    np.testing.assert_array_equal(subset.features, folder.features[match])
    assert subset.name == folder.name == "esc10"
    assert subset.cache_dir != folder.cache_dir  # two roots, two caches, both under home
    assert subset.cache_dir.is_relative_to(home) and folder.cache_dir.is_relative_to(home)


@pytest.mark.parametrize("fmt, subtype", [("OGG", "VORBIS"), ("FLAC", "PCM_16"),
                                          ("MP3", "MPEG_LAYER_III")])
def test_folder_reads_compressed_formats(tmp_path: Path, home: Path, fmt: str, subtype: str) -> None:
    """ogg, flac and mp3 at 44.1 kHz stereo, 3 s against a 5-s majority: padded, resampled,
    downmixed; ESC-10's target numbers map to class indices."""
    root = tmp_path / "d"
    (root / "audio").mkdir(parents=True)
    (root / "meta").mkdir()
    rng = np.random.default_rng(0)
    rows = [["filename", "fold", "target", "category"]]
    ext = fmt.lower()
    for i, (target, name) in enumerate([(0, "dog"), (10, "rain"), (41, "chainsaw")] * 2):
        seconds = 3.0 if i == 0 else 5.0
        wave = 0.1 * rng.standard_normal((int(44_100 * seconds), 2)).astype(np.float32)
        filename = f"{i % 2 + 1}-{i}-A-{target}.{ext}"
        sf.write(root / "audio" / filename, wave, 44_100, format=fmt, subtype=subtype)
        rows.append([filename, str(i % 2 + 1), str(target), name])
    write_csv(root, rows)
    data = load_dataset(DataConfig(source="folder", root=str(root)), CFG, progress=False)
    assert data.clip_seconds == 5.0 and data.features.shape == (6, 16, 501)
    assert data.class_names == ["dog", "rain", "chainsaw"]
    assert data.metadata.class_targets == [0, 10, 41]
    assert data.targets.tolist() == [0, 1, 2, 0, 1, 2]
    assert np.isfinite(data.features).all()
    first = np.asarray(data.features[0])
    assert np.ptp(first[:, 310:]) == 0  # the last 2 s of the 3-s clip are padding
    assert np.ptp(first[:, :290]) > 0


def test_dataset_clip_length_rule() -> None:
    assert dataset_clip_seconds(np.array([5.0] * 38 + [3.64, 7.24])) == 5.0
    assert dataset_clip_seconds(np.array([0.4, 0.61, 0.52, 2.283])) == 2.3  # no shared length


def test_length_report_counts_clips_within_10_ms_as_full_length() -> None:
    durations = np.array([5.0, 5.004, 3.6, 7.2, 4.99, 5.01, 4.98, 5.02])
    names = [f"clip{i}.ogg" for i in range(len(durations))]
    report = length_report(durations, names, 5.0)
    assert report.startswith("4 clips are 5 s long to within 10 ms; 2 shorter ones are "
                             "zero-padded at the end and 2 longer ones cropped to their first 5 s")
    assert report.endswith("shortest 3.60 s (clip2.ogg), longest 7.20 s (clip3.ogg)")
    assert length_report(np.full(3, 0.05), names[:3], 0.05).endswith("every clip is 0.05 s")


def test_rate_and_channel_reports() -> None:
    assert rate_report(np.array([48_000, 44_100, 44_100]), 16_000) == (
        "2 clips at 44100 Hz and 1 clip at 48000 Hz, resampled to 16000 Hz")
    assert rate_report(np.array([16_000] * 4), 16_000) == (
        "all 4 clips at 16000 Hz, the feature rate (not resampled)")
    assert channel_report(np.array([1, 2, 1, 6, 2])) == (
        "2 stereo clips, 1 6-channel clip averaged to mono")
    assert channel_report(np.ones(3, dtype=np.int64)) == "all mono"


def test_features_summary_states_clip_length_and_targets(
    noisy_esc50: Path, tmp_path: Path, home: Path, capsys: pytest.CaptureFixture
) -> None:
    root = esc10_folder(noisy_esc50, tmp_path / "esc10")
    assert main(["features", "--data", "folder", "--root", str(root), "--n-mels", "16"]) == 0
    out = capsys.readouterr().out
    assert "400 clips x 16 mels x 6 frames" in out
    assert ("padded or cropped to 0.05 s (400 clips are 0.05 s long to within 10 ms; 0 shorter"
            in out)
    assert ("every clip is 0.05 s); all 400 clips at 44100 Hz, resampled to 16000 Hz; all mono"
            in out)
    assert "0 dog, 1 rooster, 10 rain" in out and "41 chainsaw" in out
    assert str(home) in out


@needs_shared_esc50
def test_real_esc10_is_a_5_second_10_class_set() -> None:
    cfg = DataConfig(source="folder", root=str(SHARED_ESC50), esc10=True)
    root = resolve_root(cfg)
    assert dataset_name(cfg, root) == "esc10"  # runs and caches are named after ESC-10
    meta = load_metadata(root).esc10_only()  # what load_dataset does with cfg.esc10
    assert (len(meta), meta.num_classes, meta.fold_ids) == (400, 10, (1, 2, 3, 4, 5))
    assert meta.class_names == ESC10_CATEGORIES and meta.class_targets == ESC10_TARGETS
    durations = clip_durations(meta)
    assert dataset_clip_seconds(durations) == default_clip_seconds("folder", meta) == 5.0
    assert int((np.round(durations * 100) != 500).sum()) == 20  # the README's odd clips
    assert np.bincount(meta.targets, minlength=10).tolist() == [40] * 10


@needs_shared_esc50
def test_real_esc50_report_names_its_odd_rates_channels_and_lengths() -> None:
    """The numbers of ``../shared/esc50/README.md``: 41 clips at 48 kHz, 91 stereo, 1,530
    within 10 ms of 5 s, 3.64 s to 7.24 s."""
    report = loading_report(read_headers(load_metadata(SHARED_ESC50)), 5.0, 16_000)
    assert "1959 clips at 44100 Hz and 41 clips at 48000 Hz, resampled to 16000 Hz" in report
    assert "91 stereo clips averaged to mono" in report
    assert "(1530 clips are 5 s long to within 10 ms; 9 shorter ones" in report
    assert "shortest 3.64 s (4-164661-B-12.ogg), longest 7.24 s (1-17808-B-12.ogg)" in report
