"""The feature cache: computed once, reused, rebuilt when stale or damaged, never poisoned."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from data_helpers import clone_dataset

import ast_lab.data.cache as cache
from ast_lab.config import FbankConfig
from ast_lab.data import (
    Metadata,
    load_clip,
    load_metadata,
    load_or_build_features,
    make_synthetic_dataset,
)
from ast_lab.data.sources import default_clip_seconds
from ast_lab.features import fbank

pytest_plugins = ["data_fixtures"]
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see tests/conftest.py

CFG = FbankConfig(n_mels=32)  # small, for speed
SECONDS = 0.25
FRAMES = 26  # 0.25 s at 16 kHz, hop 160, centred frames
N_CLIPS = 60


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 classes x 5 folds x 1 clip of 0.25 s (don't modify)."""
    root = tmp_path_factory.mktemp("syn") / "tiny"
    return make_synthetic_dataset(root, n_per_class_per_fold=1, seconds=SECONDS)


@pytest.fixture
def dataset(tiny_set: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny synthetic set."""
    return clone_dataset(tiny_set, tmp_path / "syn")


def build(root: Path, cfg: FbankConfig = CFG, seconds: float = SECONDS):
    return build_for(load_metadata(root), cfg, seconds)


def build_for(meta: Metadata, cfg: FbankConfig = CFG, seconds: float = SECONDS):
    return load_or_build_features(meta, cfg, seconds, name="syn", progress=False)


def forbid_computing(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args, **kwargs):
        raise AssertionError("features were recomputed")

    monkeypatch.setattr(cache, "fbank", fail)


def count_computing(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []

    def counted(waves, cfg, **kwargs):
        calls.append(len(waves))
        return fbank(waves, cfg, **kwargs)

    monkeypatch.setattr(cache, "fbank", counted)
    return calls


def test_build_then_reuse(dataset: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = sorted(p.relative_to(dataset) for p in dataset.rglob("*"))
    features, cache_dir = build(dataset)
    assert cache_dir.parent.parent == home / "cache"  # a writable dataset is not written either
    assert sorted(p.relative_to(dataset) for p in dataset.rglob("*")) == before
    assert cache_dir.name.startswith(f"{CFG.raw_hash()}-0.25s-")
    assert sorted(p.name for p in cache_dir.iterdir()) == ["features.npy", "manifest.json"]
    assert isinstance(features, np.memmap) and not features.flags.writeable
    assert features.shape == (N_CLIPS, 32, FRAMES) and features.dtype == np.float32
    meta = load_metadata(dataset)
    direct = fbank(load_clip(meta, 7, CFG.sample_rate, SECONDS), CFG)
    torch.testing.assert_close(torch.from_numpy(np.array(features[7])), direct, rtol=0, atol=1e-4)
    manifest = json.loads((cache_dir / "manifest.json").read_text())
    assert manifest["shape"] == [N_CLIPS, 32, FRAMES] and manifest["clip_seconds"] == SECONDS
    assert manifest["fbank"]["n_mels"] == 32 and manifest["n_clips"] == N_CLIPS

    forbid_computing(monkeypatch)
    again, again_dir = build(dataset)
    assert again_dir == cache_dir and np.array_equal(again, features)


def test_normalisation_settings_share_the_raw_cache(dataset: Path, monkeypatch) -> None:
    features, cache_dir = build(dataset)
    forbid_computing(monkeypatch)
    normalising = FbankConfig(n_mels=32, normalize="dataset", dataset_mean=-40.0, dataset_std=10.0)
    same, same_dir = build(dataset, normalising)
    assert same_dir == cache_dir and np.array_equal(same, features)  # stored un-normalised


def test_every_setting_has_its_own_cache(dataset: Path) -> None:
    _, base = build(dataset)
    _, mels = build(dataset, FbankConfig(n_mels=24))
    shorter, seconds = build(dataset, seconds=0.2)
    meta = load_metadata(dataset)
    subset, subset_dir = build_for(meta.subset(meta.folds == 2))
    assert len({base, mels, seconds, subset_dir}) == 4
    assert shorter.shape == (N_CLIPS, 32, 21) and subset.shape == (12, 32, FRAMES)


def test_changed_audio_makes_the_cache_stale(dataset: Path, monkeypatch) -> None:
    features, cache_dir = build(dataset)
    meta = load_metadata(dataset)
    path = meta.audio_path(3)
    wave, rate = sf.read(path, dtype="float32")
    sf.write(path, wave[::-1], rate, subtype="PCM_16")  # same size, other content
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    calls = count_computing(monkeypatch)
    rebuilt, rebuilt_dir = build(dataset)
    assert rebuilt_dir == cache_dir and sum(calls) == N_CLIPS
    assert not np.array_equal(rebuilt[3], features[3]) and np.array_equal(rebuilt[4], features[4])


@pytest.mark.parametrize(
    "damage", ["truncated_features", "missing_manifest", "garbled_manifest", "missing_features"]
)
def test_damaged_cache_is_rebuilt(dataset: Path, monkeypatch, damage: str) -> None:
    features, cache_dir = build(dataset)
    expected = np.array(features)
    del features
    npy, manifest = cache_dir / "features.npy", cache_dir / "manifest.json"
    if damage == "truncated_features":
        os.truncate(npy, npy.stat().st_size // 2)
    elif damage == "missing_manifest":
        manifest.unlink()
    elif damage == "garbled_manifest":
        manifest.write_text('{"format": 1, "shape": [1')
    else:
        npy.unlink()
    calls = count_computing(monkeypatch)
    rebuilt, _ = build(dataset)
    assert sum(calls) == N_CLIPS and np.array_equal(rebuilt, expected)


def test_interrupted_build_leaves_nothing(
    dataset: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(waves, cfg, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cache, "fbank", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(dataset)
    assert not any(p.is_file() for p in (home / "cache").rglob("*"))


def break_file(path: Path, how: str) -> None:
    if how == "empty":
        path.write_bytes(b"")
    elif how == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        path.write_bytes(b"this is not audio at all" * 40)


@pytest.mark.parametrize("how", ["empty", "truncated", "garbage"])
def test_bad_audio_is_named_and_never_cached(dataset: Path, how: str) -> None:
    _, cache_dir = build(dataset)  # a valid cache exists before the file goes bad
    meta = load_metadata(dataset)
    break_file(meta.audio_path(30), how)
    with pytest.raises(ValueError) as err:
        build(dataset)
    message = str(err.value)
    assert message.startswith(f"{meta.csv_path}, line 32 ({meta.filenames[30]}): ")
    assert str(meta.audio_path(30)) in message
    assert not cache_dir.exists() or not any(cache_dir.iterdir())  # the stale cache is gone too


def test_esc50_rejects_other_rates_and_stereo(
    esc50_standin: Path, tmp_path: Path, home: Path
) -> None:
    root = clone_dataset(esc50_standin, tmp_path / "esc")
    meta = load_metadata(root, esc50=True).subset(np.arange(6))
    silence = np.zeros(2205, dtype=np.float32)
    sf.write(meta.audio_path(2), silence, 22_050, subtype="PCM_16")
    sf.write(meta.audio_path(4), np.stack([silence, silence], axis=1), 44_100, subtype="PCM_16")
    with pytest.raises(ValueError) as err:
        load_or_build_features(meta, CFG, 0.05, name="esc50", progress=False)
    assert str(err.value).startswith(f"{meta.csv_path}, line 4 ({meta.filenames[2]}): ")
    assert f"{meta.audio_path(2)} is sampled at 22050 Hz, expected 44100 Hz" in str(err.value)
    with pytest.raises(ValueError) as err:
        load_or_build_features(meta.subset([0, 4]), CFG, 0.05, name="esc50", progress=False)
    assert str(err.value).startswith(f"{meta.csv_path}, line 6 ({meta.filenames[4]}): ")
    assert "2 channels" in str(err.value)
    assert not any(home.rglob("*.npy"))


def test_folder_dataset_downmixes_and_resamples(dataset: Path) -> None:
    meta = load_metadata(dataset)
    mono, rate = sf.read(meta.audio_path(5), dtype="float32")
    sf.write(meta.audio_path(5), np.stack([mono, 0.5 * mono], axis=1), rate, subtype="PCM_16")
    sf.write(meta.audio_path(6), mono[::2], 8_000, subtype="PCM_16")  # another rate, same length
    sf.write(meta.audio_path(7), np.zeros(2480, dtype=np.float32), 8_000, subtype="PCM_16")  # 0.31s
    features, _ = build(dataset)
    downmixed = fbank(load_clip(meta, 5, CFG.sample_rate, SECONDS), CFG)
    assert abs(load_clip(meta, 5, CFG.sample_rate, SECONDS) - 0.75 * mono).max() < 1e-3
    cached = torch.from_numpy(np.array(features[5]))
    torch.testing.assert_close(cached, downmixed, rtol=0, atol=1e-4)
    assert default_clip_seconds("folder", meta) == 0.25  # most clips' length; 0.31 s is cropped


def test_read_only_dataset_caches_under_home(dataset: Path, home: Path) -> None:
    before = sorted(p.relative_to(dataset) for p in dataset.rglob("*"))
    os.chmod(dataset, 0o555)  # r-x for everyone: read-only by its permission bits
    try:
        features, cache_dir = build(dataset)
        assert cache_dir.parent.parent == home / "cache"
        assert cache_dir.parent.name.startswith("syn-")
        after = sorted(p.relative_to(dataset) for p in dataset.rglob("*"))
        assert after == before  # nothing written into the dataset
        assert features.shape == (N_CLIPS, 32, FRAMES)
    finally:
        os.chmod(dataset, 0o755)


def test_folder_file_with_unreadable_rate_is_named(dataset: Path) -> None:
    meta = load_metadata(dataset)
    path = meta.audio_path(8)
    data = bytearray(path.read_bytes())
    rate_at = data.index(b"fmt ") + 12  # chunk id, size, format tag, channels, then the rate
    data[rate_at : rate_at + 4] = (0).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    where = f"{meta.csv_path}, line 10 ({meta.filenames[8]}): "
    with pytest.raises(ValueError, match="header") as err:  # the folder's default clip length
        default_clip_seconds("folder", meta)
    assert str(err.value).startswith(where) and str(path) in str(err.value)
    with pytest.raises(ValueError) as err:
        build(dataset)
    assert str(err.value).startswith(where) and str(path) in str(err.value)


def test_features_are_computed_on_the_feature_device(dataset: Path, monkeypatch) -> None:
    devices = []

    def recorded(waves, cfg, *, device=None):
        devices.append(device)
        return fbank(waves, cfg, device=device)

    monkeypatch.setattr(cache, "fbank", recorded)
    build(dataset)
    expected = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    assert devices and all(d == expected for d in devices)
