"""ClipTensors: a split on the training device, batched by indexing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ast_lab.config import DataConfig, FbankConfig
from ast_lab.data import clip_tensors, load_dataset

pytest_plugins = ["data_fixtures"]


@pytest.fixture(scope="module")
def data(synthetic_small):
    return load_dataset(DataConfig(root=str(synthetic_small), clip_seconds=0.5),
                        FbankConfig(n_mels=16), progress=False)


def test_clips_are_normalised_copies_of_the_chosen_cached_features(data):
    indices = np.array([7, 3, 50])
    targets = np.arange(len(data))[::-1].copy()  # any per-clip labels, e.g. shuffled ones
    clips = clip_tensors(data, indices, targets, (-30.0, 12.0), torch.device("cpu"))
    assert clips.specs.shape == (3, 1, data.n_mels, data.n_frames)
    expected = (torch.from_numpy(np.asarray(data.features[indices])) + 30.0) / 12.0
    torch.testing.assert_close(clips.specs[:, 0], expected)
    assert clips.targets.tolist() == targets[indices].tolist()
    np.testing.assert_array_equal(clips.indices, indices)


def test_evaluation_batches_cover_every_clip_once_in_order(data):
    indices = np.arange(0, 23)
    clips = clip_tensors(data, indices, data.targets, (0.0, 1.0), torch.device("cpu"))
    batches = list(clips.batches(10))
    assert [len(t) for _, t in batches] == [10, 10, 3]
    torch.testing.assert_close(torch.cat([s for s, _ in batches]), clips.specs)


def test_training_batches_are_seeded_shuffles_without_a_ragged_tail(data):
    ids = np.arange(len(data))  # label each clip with its own index, to see the order
    clips = clip_tensors(data, np.arange(23), ids, (0.0, 1.0), torch.device("cpu"))
    first = [t for _, t in clips.batches(5, torch.Generator().manual_seed(1))]
    again = [t for _, t in clips.batches(5, torch.Generator().manual_seed(1))]
    other = [t for _, t in clips.batches(5, torch.Generator().manual_seed(2))]
    assert [len(t) for t in first] == [5, 5, 5, 5] and clips.num_batches(5, drop_last=True) == 4
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    order = torch.cat(first)
    assert len(set(order.tolist())) == 20 and set(order.tolist()) <= set(range(23))
    assert not torch.equal(order, torch.arange(20))  # shuffled, not in order
    assert not torch.equal(order, torch.cat(other))  # and the seed decides how
    assert clips.num_batches(50, drop_last=True) == 1  # fewer clips than a batch: one batch
