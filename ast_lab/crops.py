"""Crops along time: a random one per clip to train on, several evenly spaced ones to test with.

A 5-s clip holds its sound event somewhere, often more than once. Training on random crops
shorter than the clip (EnvNet: 1.5 s of 5 s; here e.g. 3 s) shows the model a different
window of every clip in every epoch, an augmentation that also makes each step cheaper in
proportion to the frames dropped. At test time the model sees every part of the clip through
``test_crops`` evenly spaced crops, and their class probabilities are averaged (EnvNet and
ACDNet average 10).

Both act on batches ``(batch, [1,] n_mels, frames)``; random offsets come from a NumPy
generator, as the other augmentations' draws (``ast_lab.augment``), so that a checkpoint
restores them exactly.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import torch
from torch import Tensor, nn


def _check_width(frames: int, total: int) -> None:
    if not 1 <= frames <= total:
        raise ValueError(f"a crop of {frames} frames does not fit clips of {total} frames")


def random_crop(specs: Tensor, frames: int, *, rng: Optional[np.random.Generator] = None) -> Tensor:
    """Each spectrogram's own random window of ``frames`` frames.

    Offsets are drawn uniformly from ``{0, ..., total - frames}``.

    Args:
        specs: ``(batch, n_mels, total)`` or ``(batch, 1, n_mels, total)``.
        frames: crop width in frames, 1 to ``total``.
        rng: source of the offsets; a fresh unseeded one if None.

    Returns:
        ``(batch, [1,] n_mels, frames)``, a new tensor.
    """
    total = specs.shape[-1]
    _check_width(frames, total)
    rng = np.random.default_rng() if rng is None else rng
    batch = specs.shape[0]
    offsets = torch.as_tensor(rng.integers(0, total - frames + 1, size=batch), device=specs.device)
    source = offsets[:, None] + torch.arange(frames, device=specs.device)  # (B, frames)
    source = source.view(batch, *([1] * (specs.ndim - 2)), frames)
    return specs.gather(-1, source.expand(*specs.shape[:-1], frames))


def crop_offsets(total: int, frames: int, n_crops: int) -> list[int]:
    """``n_crops`` evenly spaced start frames of ``frames``-wide crops of a ``total``-frame
    clip, the first at 0 and the last ending at the clip's end (one crop: the centred one)."""
    _check_width(frames, total)
    if n_crops < 1:
        raise ValueError(f"need at least one crop, got {n_crops}")
    if n_crops == 1:
        return [(total - frames) // 2]
    return [int(round(x)) for x in np.linspace(0, total - frames, n_crops)]


def mean_crop_log_probs(
    forward: Callable[[Tensor], Tensor], specs: Tensor, frames: int, n_crops: int
) -> Tensor:
    """The log of the class probabilities averaged over ``n_crops`` evenly spaced crops.

    Args:
        forward: the model, ``(B, 1, n_mels, frames) -> (B, C)`` logits.
        specs: ``(B, 1, n_mels, total)`` whole clips.
        frames, n_crops: crop width in frames and number of crops.

    Returns:
        ``(B, C)`` float32 log-probabilities; a softmax of them gives the averaged
        probabilities back, so they stand in for logits everywhere.
    """
    offsets = crop_offsets(specs.shape[-1], frames, n_crops)
    probs = sum(forward(specs[..., o : o + frames]).float().softmax(dim=1) for o in offsets)
    return (probs / len(offsets)).log()


def clip_logits(
    forward: Callable[[Tensor], Tensor], specs: Tensor, crop_frames: int, test_crops: int
) -> Tensor:
    """``(B, C)`` scores of whole clips ``(B, 1, n_mels, total)``: the model's logits, or for a
    model trained on crops (``crop_frames`` > 0) ``mean_crop_log_probs`` over ``test_crops``
    crops. Either way a softmax gives the clip's class probabilities."""
    if crop_frames:
        return mean_crop_log_probs(forward, specs, crop_frames, test_crops)
    return forward(specs)


class RandomCrop(nn.Module):
    """``random_crop`` in training mode; identity in eval mode or with ``frames`` 0."""

    def __init__(self, frames: int, *, rng: Optional[np.random.Generator] = None) -> None:
        super().__init__()
        if frames < 0:
            raise ValueError(f"crop width must be >= 0 (0 disables), got {frames}")
        self.frames = frames
        self.rng = np.random.default_rng() if rng is None else rng

    def forward(self, specs: Tensor) -> Tensor:
        """``(batch, [1,] n_mels, total)`` -> ``(batch, [1,] n_mels, frames)`` while training."""
        if not (self.training and self.frames > 0):
            return specs
        return random_crop(specs, self.frames, rng=self.rng)

    def extra_repr(self) -> str:
        return f"frames={self.frames}"
