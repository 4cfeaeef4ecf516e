"""ESC-10 two ways: ESC-50's ``esc10`` subset and a folder holding only those clips (as in
``../shared/esc10``) give the same clips, folds, classes and features; the real recordings,
when present, load as a 5-s, 10-class set with ESC-50's target numbers."""

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
from ast_lab.data.clips import clip_durations, dataset_clip_seconds, length_report

pytest_plugins = ["data_fixtures"]
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see tests/conftest.py

ESC10_TARGETS = [0, 1, 10, 11, 12, 20, 21, 38, 40, 41]
CFG = FbankConfig(n_mels=16)
SECONDS = 0.05  # the stand-in's clip length
SHARED_ESC10 = Path(__file__).resolve().parents[2] / "shared" / "esc10"


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
    report = length_report(np.array([5.0, 5.0, 3.6, 7.2, 4.99]), 5.0)
    assert report.startswith("2 clips are 5 s long; 2 shorter ones are zero-padded")
    assert "1 longer ones cropped" in report


def test_features_summary_states_clip_length_and_targets(
    noisy_esc50: Path, tmp_path: Path, home: Path, capsys: pytest.CaptureFixture
) -> None:
    root = esc10_folder(noisy_esc50, tmp_path / "esc10")
    assert main(["features", "--data", "folder", "--root", str(root), "--n-mels", "16"]) == 0
    out = capsys.readouterr().out
    assert "400 clips x 16 mels x 6 frames" in out
    assert "padded or cropped to 0.05 s (400 clips are 0.05 s long; 0 shorter" in out
    assert "0 dog, 1 rooster, 10 rain" in out and "41 chainsaw" in out
    assert str(home) in out


@pytest.mark.skipif(not (SHARED_ESC10 / "meta" / "esc50.csv").is_file(),
                    reason="../shared/esc10 (the real ESC-10 recordings) is not here")
def test_real_esc10_is_a_5_second_10_class_set() -> None:
    meta = load_metadata(SHARED_ESC10)
    assert (len(meta), meta.num_classes, meta.fold_ids) == (400, 10, (1, 2, 3, 4, 5))
    assert meta.class_names == ESC10_CATEGORIES and meta.class_targets == ESC10_TARGETS
    durations = clip_durations(meta)
    assert dataset_clip_seconds(durations) == 5.0
    assert int((np.round(durations * 100) != 500).sum()) == 20  # the README's odd clips
    assert np.bincount(meta.targets, minlength=10).tolist() == [40] * 10
