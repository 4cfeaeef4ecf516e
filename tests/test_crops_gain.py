"""Random crops and multi-crop testing (ast_lab.crops), random gain (ast_lab.gain), and the
training loop's use of them and of bf16 on the CPU."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from ast_lab.augment import Augment
from ast_lab.config import TrainConfig
from ast_lab.crops import RandomCrop, crop_offsets, mean_crop_log_probs, random_crop
from ast_lab.gain import RandomGain, gain_offset, random_gain
from ast_lab.precision import autocast, uses_bf16
from ast_lab.training.evaluation import predict_logits

N_MELS, FRAMES = 8, 40


def _ramps(batch: int = 16) -> torch.Tensor:
    """``(batch, 1, N_MELS, FRAMES)`` where each cell holds its frame index plus 1000 * clip."""
    frames = torch.arange(FRAMES, dtype=torch.float32)
    clips = 1000 * torch.arange(batch, dtype=torch.float32)
    return (frames + clips[:, None]).view(batch, 1, 1, FRAMES).expand(batch, 1, N_MELS, FRAMES)


def test_random_crops_are_contiguous_windows_of_each_clip_with_varied_offsets():
    specs = _ramps(64)
    crops = random_crop(specs, 10, rng=np.random.default_rng(0))
    assert crops.shape == (64, 1, N_MELS, 10)
    starts = crops[:, 0, 0, 0] - 1000 * torch.arange(64)  # each clip's own offset
    assert torch.equal(crops - crops[..., :1], torch.arange(10.0).expand_as(crops))
    assert starts.min() >= 0 and starts.max() <= FRAMES - 10
    assert len(set(starts.tolist())) > 10  # offsets differ between clips
    assert torch.equal(crops[:, :, 3], crops[:, :, 0])  # every band cut alike


def test_crop_draws_repeat_with_the_seed_and_widths_that_do_not_fit_are_refused():
    specs = _ramps(8)
    a = random_crop(specs, 12, rng=np.random.default_rng(3))
    b = random_crop(specs, 12, rng=np.random.default_rng(3))
    assert torch.equal(a, b)
    assert torch.equal(random_crop(specs, FRAMES, rng=np.random.default_rng(0)), specs)
    with pytest.raises(ValueError, match="41 frames does not fit clips of 40"):
        random_crop(specs, FRAMES + 1)


def test_test_crops_are_evenly_spaced_and_cover_the_clip():
    assert crop_offsets(501, 301, 5) == [0, 50, 100, 150, 200]
    assert crop_offsets(501, 301, 1) == [100]  # a single crop is the centred one
    assert crop_offsets(10, 10, 3) == [0, 0, 0]
    with pytest.raises(ValueError, match="at least one crop"):
        crop_offsets(10, 5, 0)


def test_mean_crop_log_probs_average_the_crops_probabilities():
    specs = torch.randn(3, 1, N_MELS, FRAMES)
    head = torch.nn.Linear(N_MELS * 10, 5)
    forward = lambda x: head(x.flatten(1))  # noqa: E731  (B, 1, M, 10) -> (B, 5)
    out = mean_crop_log_probs(forward, specs, 10, 4)
    expected = sum(forward(specs[..., o:o + 10]).softmax(1) for o in (0, 10, 20, 30)) / 4
    assert torch.allclose(out.softmax(1), expected, atol=1e-6)
    assert torch.allclose(out.exp().sum(1), torch.ones(3), atol=1e-5)


def test_random_crop_module_is_identity_in_eval_mode():
    crop = RandomCrop(10, rng=np.random.default_rng(0))
    specs = _ramps(4)
    assert crop(specs).shape[-1] == 10
    assert crop.eval()(specs) is specs
    with pytest.raises(ValueError, match=">= 0"):
        RandomCrop(-1)


def test_random_gain_adds_one_bounded_constant_per_clip():
    specs = torch.rand(200, 1, N_MELS, FRAMES)
    out = random_gain(specs, 0.5, rng=np.random.default_rng(0))
    offsets = (out - specs).flatten(1)
    assert torch.allclose(offsets, offsets[:, :1].expand_as(offsets), atol=1e-6)  # constant
    assert offsets.abs().max() <= 0.5 and offsets[:, 0].std() > 0.2  # spread over the range
    module = RandomGain(0.5).eval()
    assert module(specs) is specs


def test_gain_offsets_follow_the_log_of_the_features():
    assert gain_offset(6.0, "db", 2.0) == 3.0  # 6 dB on dB features with std 2
    assert math.isclose(gain_offset(10.0, "ln", 1.0), math.log(10))  # 10 dB = x10 power
    assert gain_offset(0.0, "none", 1.0) == 0.0
    with pytest.raises(ValueError, match="log features"):
        gain_offset(6.0, "none", 1.0)


def test_augment_crops_first_and_draws_everything_from_one_generator():
    specs, targets = _ramps(8), torch.arange(8) % 3
    make = lambda: Augment(num_classes=3, crop_frames=16, gain=0.3, time_shift=2,  # noqa: E731
                           rng=np.random.default_rng(5))
    a, soft = make()(specs, targets)
    b, _ = make()(specs, targets)
    assert a.shape == (8, 1, N_MELS, 16) and torch.equal(a, b)
    assert torch.equal(soft.argmax(1), targets)


def test_bf16_autocast_follows_precision_and_device():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert not uses_bf16(cpu) and uses_bf16(cuda)  # "auto"
    assert uses_bf16(cpu, "bf16") and not uses_bf16(cuda, "float32")
    with pytest.raises(ValueError, match="precision must be one of"):
        uses_bf16(cpu, "fp16")
    layer = torch.nn.Linear(4, 4)
    with autocast(cpu, "bf16"):
        assert layer(torch.randn(2, 4)).dtype == torch.bfloat16
    with autocast(cpu, "auto"):
        assert layer(torch.randn(2, 4)).dtype == torch.float32


def test_predict_logits_scores_crops_when_the_model_was_trained_on_them(tiny_clips):
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(N_MELS * 10, 3))
    cfg = TrainConfig(crop_frames=10, test_crops=3)
    with pytest.raises(RuntimeError):  # the model takes 10 frames, the clips have 40
        predict_logits(model, tiny_clips, dataclasses.replace(cfg, crop_frames=0))
    logits = predict_logits(model, tiny_clips, cfg)
    specs = tiny_clips.specs
    expected = sum(model(specs[..., o:o + 10]).softmax(1) for o in (0, 15, 30)) / 3
    assert torch.allclose(logits.softmax(1), expected, atol=1e-5)


@pytest.fixture
def tiny_clips():
    from ast_lab.data import ClipTensors

    torch.manual_seed(0)
    return ClipTensors(specs=torch.randn(5, 1, N_MELS, FRAMES),
                       targets=torch.zeros(5, dtype=torch.long), indices=np.arange(5))
