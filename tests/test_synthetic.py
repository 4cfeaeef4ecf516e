"""The synthetic sound set: layout, determinism, reuse, and classes that only shape tells apart."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from sklearn.linear_model import LogisticRegression

from ast_lab.config import FbankConfig
from ast_lab.data import SYNTHETIC_CLASSES, load_metadata, make_synthetic_dataset, synthesize
from ast_lab.features import fbank

pytest_plugins = ["data_fixtures"]
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see tests/conftest.py

SR = 16_000


def audio_bytes(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "audio").iterdir())}


def read_set(root: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Waveforms ``(n_clips, samples)``, targets and folds of a synthetic set."""
    meta = load_metadata(root)
    waves = np.stack([sf.read(meta.audio_path(i), dtype="float32")[0] for i in range(len(meta))])
    return waves, meta.targets, meta.folds


@pytest.fixture(scope="module")
def medium_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, ...]:
    """240 clips of 0.5 s: 4 per class and fold."""
    root = tmp_path_factory.mktemp("syn") / "medium"
    make_synthetic_dataset(root, n_per_class_per_fold=4, seconds=0.5)
    return read_set(root)


def test_layout_is_esc50s(synthetic_small: Path) -> None:
    assert len(SYNTHETIC_CLASSES) == 12
    meta = load_metadata(synthetic_small)
    with open(synthetic_small / "meta" / "esc50.csv", newline="") as f:
        header = next(csv.reader(f))
    assert header == ["filename", "fold", "target", "category", "esc10", "src_file", "take"]
    counts = np.zeros((12, 5), dtype=int)
    np.add.at(counts, (meta.targets, meta.folds - 1), 1)
    assert (counts == 2).all()  # balanced over classes and folds
    info = sf.info(str(meta.audio_path(0)))
    assert (info.samplerate, info.frames, info.channels, info.subtype) == (SR, SR // 2, 1, "PCM_16")
    name = meta.filenames[1]  # {fold}-{src_file}-{take}-{target}.wav
    fold, src_file, take, target = name.removesuffix(".wav").split("-")
    assert (int(fold), src_file, int(target)) == (meta.folds[1], meta.src_files[1], meta.targets[1])
    assert take == "B" and meta.filenames[0].split("-")[2] == "A"
    assert meta.src_files[0] == meta.src_files[1]  # two takes of one source


def test_same_seed_gives_identical_bytes(synthetic_small: Path, tmp_path: Path) -> None:
    again = make_synthetic_dataset(tmp_path / "again", n_per_class_per_fold=2, seconds=0.5)
    assert audio_bytes(again) == audio_bytes(synthetic_small)
    csv_bytes = (again / "meta" / "esc50.csv").read_bytes()
    assert csv_bytes == (synthetic_small / "meta" / "esc50.csv").read_bytes()
    other = make_synthetic_dataset(tmp_path / "other", n_per_class_per_fold=2, seconds=0.5, seed=1)
    assert set(audio_bytes(other).values()).isdisjoint(audio_bytes(synthetic_small).values())


def test_complete_set_is_reused_and_changed_settings_regenerate(tmp_path: Path) -> None:
    root = make_synthetic_dataset(tmp_path / "s", n_per_class_per_fold=1, seconds=0.3)
    csv_path = root / "meta" / "esc50.csv"
    stamp = csv_path.stat().st_mtime_ns
    make_synthetic_dataset(root, n_per_class_per_fold=1, seconds=0.3)
    assert csv_path.stat().st_mtime_ns == stamp  # reused, not rewritten
    make_synthetic_dataset(root, n_per_class_per_fold=1, seconds=0.2)
    assert json.loads((root / "synthetic.json").read_text())["seconds"] == 0.2
    assert sf.info(str(next((root / "audio").iterdir()))).frames == int(0.2 * SR)
    assert [p.name for p in tmp_path.iterdir()] == ["s"]  # no staging folders left


def test_incomplete_set_is_regenerated(tmp_path: Path) -> None:
    root = make_synthetic_dataset(tmp_path / "s", n_per_class_per_fold=1, seconds=0.3)
    victim = next((root / "audio").iterdir())
    victim.unlink()
    make_synthetic_dataset(root, n_per_class_per_fold=1, seconds=0.3)
    assert victim.is_file() and len(load_metadata(root)) == 60


def test_foreign_folder_is_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(ValueError, match="holds no synthetic set"):
        make_synthetic_dataset(tmp_path / "mine")
    assert os.listdir(tmp_path / "mine") == ["thesis.tex"]


@pytest.mark.parametrize("class_name", SYNTHETIC_CLASSES)
def test_synthesize_one_example(class_name: str) -> None:
    wave = synthesize(class_name, np.random.default_rng(0), 1.0, SR)
    assert wave.dtype == np.float32 and wave.shape == (SR,)
    peak_db = 20 * np.log10(np.abs(wave).max())
    assert -30.001 <= peak_db <= -2.999
    again = synthesize(class_name, np.random.default_rng(0), 1.0, SR)
    assert np.array_equal(wave, again)


def test_unknown_class() -> None:
    with pytest.raises(ValueError, match="unknown synthetic class"):
        synthesize("dubstep", np.random.default_rng(0), 1.0, SR)


def global_statistics(waves: np.ndarray) -> dict[str, np.ndarray]:
    """Per-clip RMS, peak, spectral centroid (Hz), zero-crossing rate and the time (s) spent
    within 20 dB of the clip's loudest 25 ms frame."""
    power = np.abs(np.fft.rfft(waves, axis=1)) ** 2
    freqs = np.fft.rfftfreq(waves.shape[1], 1 / SR)
    frames = waves[:, : waves.shape[1] // 400 * 400].reshape(len(waves), -1, 400)
    frame_db = 10 * np.log10((frames**2).mean(axis=2) + 1e-12)
    return {
        "rms": np.sqrt((waves**2).mean(axis=1)),
        "peak": np.abs(waves).max(axis=1),
        "centroid": (power * freqs).sum(axis=1) / power.sum(axis=1),
        "zcr": (np.diff(np.signbit(waves), axis=1)).mean(axis=1),
        "loud_seconds": (frame_db > frame_db.max(axis=1, keepdims=True) - 20).sum(axis=1) * 0.025,
    }


def cross_validated(predict, features: np.ndarray, targets: np.ndarray, folds: np.ndarray) -> float:
    """Mean accuracy over the 5 folds of ``predict(train_x, train_y, test_x)``."""
    scores = []
    for fold in range(1, 6):
        train, test = folds != fold, folds == fold
        predicted = predict(features[train], targets[train], features[test])
        scores.append(np.mean(predicted == targets[test]))
    return float(np.mean(scores))


def nearest_class_mean(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray) -> np.ndarray:
    means = np.stack([train_x[train_y == c].mean(axis=0) for c in range(12)])  # (classes, dims)
    return np.abs(test_x[:, None] - means[None]).sum(axis=2).argmin(axis=1)


def random_conv_features(waves: np.ndarray) -> np.ndarray:
    """A shape-aware but untrained model: 64 random 5x5 filters over the log-mel spectrogram,
    ReLU, then the max and mean over the whole plane (so onset and pitch don't matter)."""
    spec = fbank(waves, FbankConfig(n_mels=48))[:, None]  # (clips, 1, 48, frames)
    spec = (spec - spec.mean()) / spec.std()
    kernels = torch.randn(64, 1, 5, 5, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        maps = torch.nn.functional.conv2d(spec, kernels, padding=2)  # (clips, 64, 48, frames)
        maps = torch.relu(maps - maps.mean(dim=(0, 2, 3), keepdim=True))
        pooled = torch.cat([maps.amax(dim=(2, 3)), maps.mean(dim=(2, 3))], dim=1).numpy()
    return (pooled - pooled.mean(axis=0)) / pooled.std(axis=0)


def logistic_regression(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray) -> np.ndarray:
    return LogisticRegression(max_iter=2000).fit(train_x, train_y).predict(test_x)


def test_no_global_statistic_separates_the_classes_but_shape_does(medium_set) -> None:
    waves, targets, folds = medium_set
    single = {
        name: cross_validated(nearest_class_mean, np.log(values + 1e-9)[:, None], targets, folds)
        for name, values in global_statistics(waves).items()
    }
    assert max(single.values()) < 0.35, single  # chance is 1/12 = 0.08
    shape = cross_validated(logistic_regression, random_conv_features(waves), targets, folds)
    assert shape > 0.8, shape
    assert shape > max(single.values()) + 0.45
