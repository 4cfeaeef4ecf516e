"""load_dataset -> FeatureSet; FeatureDataset / AudioDataset; train_stats."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from data_helpers import ESC10_CATEGORIES, clone_dataset
from torch.utils.data import DataLoader

from ast_lab.config import DataConfig, FbankConfig
from ast_lab.data import (
    ast_lab_home,
    SYNTHETIC_CLASSES,
    AudioDataset,
    FeatureDataset,
    FeatureSet,
    fold_split,
    load_dataset,
    train_stats,
)
from ast_lab.data.sources import dataset_name, default_clip_seconds

pytest_plugins = ["data_fixtures"]
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see tests/conftest.py

CFG = FbankConfig(n_mels=32)


@pytest.fixture(scope="module")
def feature_set(synthetic_small: Path, tmp_path_factory: pytest.TempPathFactory) -> FeatureSet:
    root = clone_dataset(synthetic_small, tmp_path_factory.mktemp("fs") / "syn")
    (root / "synthetic.json").write_bytes((synthetic_small / "synthetic.json").read_bytes())
    return load_dataset(DataConfig(root=str(root), clip_seconds=0.5, synthetic_per_class_per_fold=2), CFG, progress=False)


def test_feature_set_of_the_synthetic_set(feature_set: FeatureSet) -> None:
    assert len(feature_set) == 120 and feature_set.name == "synthetic"
    assert feature_set.clip_seconds == 0.5  # the generated length
    assert (feature_set.n_mels, feature_set.n_frames) == (32, 51)
    assert feature_set.features.shape == (120, 32, 51)
    assert isinstance(feature_set.features, np.memmap)
    assert feature_set.num_classes == 12 and feature_set.class_names == list(SYNTHETIC_CLASSES)
    assert feature_set.fold_ids == (1, 2, 3, 4, 5)
    assert np.array_equal(feature_set.targets, feature_set.metadata.targets)
    assert np.array_equal(feature_set.folds, feature_set.metadata.folds)
    assert feature_set.cache_dir.parent.parent == ast_lab_home() / "cache"  # never in the dataset


def test_given_synthetic_set_is_used_as_it_is(feature_set: FeatureSet) -> None:
    params = json.loads((feature_set.metadata.root / "synthetic.json").read_text())
    assert params["n_per_class_per_fold"] == 2  # not regenerated with the defaults (8)


def test_esc50_standin_through_load_dataset(esc50_standin: Path, tmp_path: Path) -> None:
    root = clone_dataset(esc50_standin, tmp_path / "ESC-50-master", share_audio=True)
    cfg = DataConfig(source="esc50", root=str(root), clip_seconds=0.05, esc10=True)
    esc10 = load_dataset(cfg, CFG, progress=False)  # validated as ESC-50, then cut to ESC-10
    assert esc10.name == "esc10" and esc10.features.shape == (400, 32, 6)
    assert esc10.class_names == ESC10_CATEGORIES and esc10.metadata.expected_rate == 44_100
    assert dataset_name(DataConfig(source="esc50"), root) == "esc50"
    assert default_clip_seconds("esc50", esc10.metadata) == 5.0


def test_missing_sources_say_what_to_do(tmp_path: Path, home: Path) -> None:
    with pytest.raises(ValueError, match="--download"):
        load_dataset(DataConfig(source="esc50"), CFG, progress=False)
    with pytest.raises(ValueError, match="needs DataConfig.root"):
        load_dataset(DataConfig(source="folder"), CFG, progress=False)
    with pytest.raises(ValueError, match="unknown data source"):
        load_dataset(DataConfig(source="mp3s"), CFG, progress=False)  # type: ignore[arg-type]


def test_items_are_channel_first_spectrograms(feature_set: FeatureSet) -> None:
    dataset = FeatureDataset(feature_set, None, [4, 9], normalize="none")
    x, y = dataset[1]
    assert len(dataset) == 2 and x.shape == (1, 32, 51) and x.dtype == torch.float32
    assert isinstance(y, int) and y == feature_set.targets[9]
    assert np.array_equal(x[0].numpy(), feature_set.features[9])


def test_train_stats_use_only_the_given_clips(feature_set: FeatureSet) -> None:
    split = fold_split(feature_set.metadata, 1)
    mean, std = train_stats(feature_set, split.train)
    chosen = np.asarray(feature_set.features[split.train], dtype=np.float64)
    assert mean == pytest.approx(chosen.mean(), abs=1e-6)
    assert std == pytest.approx(chosen.std(), abs=1e-6)
    everything = np.asarray(feature_set.features, dtype=np.float64)
    assert mean != pytest.approx(everything.mean(), abs=1e-3)  # the other clips are left out
    with pytest.raises(ValueError, match="at least one clip"):
        train_stats(feature_set, [])


def test_dataset_normalisation(feature_set: FeatureSet) -> None:
    split = fold_split(feature_set.metadata, 1)
    mean, std = train_stats(feature_set, split.train)
    train = FeatureDataset(feature_set, None, split.train, mean=mean, std=std)
    values = torch.cat([train[i][0].flatten() for i in range(len(train))])
    assert abs(values.mean().item()) < 1e-4 and abs(values.std(correction=0).item() - 1) < 1e-4
    with pytest.raises(ValueError, match="train_stats"):
        FeatureDataset(feature_set, None, split.train)  # "dataset" needs mean and std


def test_per_sample_normalisation_and_plain_arrays(feature_set: FeatureSet) -> None:
    array = np.array(feature_set.features)  # in memory, not a memory map
    dataset = FeatureDataset(array, feature_set.targets, normalize="per_sample")
    x, y = dataset[17]
    assert abs(x.mean().item()) < 1e-4 and abs(x.std(correction=0).item() - 1) < 1e-3
    assert y == feature_set.targets[17] and len(dataset) == 120
    with pytest.raises(ValueError, match="targets are required"):
        FeatureDataset(array)
    with pytest.raises(ValueError, match="n_clips"):
        FeatureDataset(array, feature_set.targets[:5], normalize="none")


def test_memory_mapped_dataset_pickles_as_a_file_name(feature_set: FeatureSet) -> None:
    dataset = FeatureDataset(feature_set, None, normalize="none")
    payload = pickle.dumps(dataset)
    assert len(payload) < feature_set.features.nbytes / 50  # the features are not copied
    clone = pickle.loads(payload)
    assert torch.equal(clone[3][0], dataset[3][0])


def test_dataloader_with_two_workers(feature_set: FeatureSet) -> None:
    split = fold_split(feature_set.metadata, 2)
    mean, std = train_stats(feature_set, split.train)
    dataset = FeatureDataset(feature_set, None, split.train, mean=mean, std=std)
    single = list(DataLoader(dataset, batch_size=16))
    parallel = list(DataLoader(dataset, batch_size=16, num_workers=2))
    assert len(parallel) == len(single) == -(-len(split.train) // 16)
    for (x1, y1), (x2, y2) in zip(single, parallel):
        assert x2.shape[1:] == (1, 32, 51) and torch.equal(x1, x2) and torch.equal(y1, y2)


def test_audio_dataset_matches_the_cache_and_applies_the_transform(feature_set: FeatureSet) -> None:
    meta, seconds = feature_set.metadata, feature_set.clip_seconds
    cached = FeatureDataset(feature_set, None, [0, 50], normalize="none")
    audio = AudioDataset(meta, CFG, seconds, [0, 50])
    for i in range(2):
        torch.testing.assert_close(audio[i][0], cached[i][0], rtol=0, atol=1e-4)
        assert audio[i][1] == cached[i][1]
    quieter = AudioDataset(meta, CFG, seconds, [0], transform=lambda wave: 0.5 * wave)
    shift = quieter[0][0] - audio[0][0]  # -6.02 dB everywhere (top_db is relative to the max)
    torch.testing.assert_close(shift, torch.full_like(shift, 20 * np.log10(0.5)), rtol=0, atol=1e-3)
