"""Training-time augmentation of spectrogram batches: random crops (``ast_lab.crops``), time
shift, random gain, mixup, SpecAugment masks.

Each acts on a batch of spectrograms ``(batch, n_mels, frames)`` (or ``(batch, 1, n_mels,
frames)``, with the channel axis training batches carry) on whatever device it lives on.
Random draws come from a ``numpy.random.Generator``, so that a seeded generator gives the same
masks, shifts and mixing weights on CPU and GPU, and its state can be checkpointed.

The modules ``SpecAugment``, ``TimeShift`` and ``Mixup`` wrap the functions and are no-ops in
``eval()`` mode or when disabled (width 0 / alpha 0), so evaluation never sees augmented inputs.
Every function works on the whole batch at once (one gather or mask per batch, no per-clip
Python), so augmentation costs little next to the model, on CPU and GPU alike.

References: Park et al. 2019, "SpecAugment" (one frequency and one time mask per example, as
the AST recipe applies them); Zhang et al. 2018, "mixup" (Beta(alpha, alpha) weights, soft
labels).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .crops import RandomCrop
from .gain import RandomGain

if TYPE_CHECKING:
    from .config import TrainConfig


def _check_spec_batch(specs: Tensor) -> None:
    """Raise unless ``specs`` is ``(batch, n_mels, frames)`` or ``(batch, 1, n_mels, frames)``."""
    if specs.ndim == 3 or (specs.ndim == 4 and specs.shape[1] == 1):
        return
    raise ValueError(
        f"expected spectrograms (batch, n_mels, frames) or (batch, 1, n_mels, frames), "
        f"got shape {tuple(specs.shape)}"
    )


def random_band_mask(
    batch: int, size: int, max_width: int, rng: np.random.Generator, device: torch.device
) -> Tensor:
    """One random band per example along an axis of ``size`` bins, as a boolean mask.

    The band's width is drawn uniformly from ``{0, ..., min(max_width, size)}`` and its start
    uniformly from ``{0, ..., size - width}``, so it always lies inside the axis.

    Returns ``(batch, size)`` bool, True inside the band.
    """
    if max_width < 0:
        raise ValueError(f"mask width must be >= 0, got {max_width}")
    widths = rng.integers(0, min(max_width, size) + 1, size=batch)  # (B,)
    starts = rng.integers(0, size - widths + 1)  # (B,), each in [0, size - width]
    bins = torch.arange(size, device=device)  # (size,)
    starts_t = torch.as_tensor(starts, device=device)[:, None]  # (B, 1)
    ends_t = torch.as_tensor(starts + widths, device=device)[:, None]  # (B, 1)
    return (bins >= starts_t) & (bins < ends_t)  # (B, size)


def spec_augment(
    specs: Tensor,
    freq_mask: int,
    time_mask: int,
    *,
    fill: float = 0.0,
    rng: Optional[np.random.Generator] = None,
) -> Tensor:
    """Mask one random frequency band and one random time span in each spectrogram.

    Args:
        specs: ``(batch, n_mels, frames)`` or ``(batch, 1, n_mels, frames)``.
        freq_mask: maximum frequency-mask width in mel bins; 0 disables it.
        time_mask: maximum time-mask width in frames; 0 disables it.
        fill: value written into masked cells. After dataset normalisation the mean is 0,
            so the default 0 fills with the (normalised) mean, as the AST recipe does.
        rng: source of the widths and positions; a fresh unseeded one if None.

    Returns:
        A new tensor of the same shape; ``specs`` itself is left untouched.
    """
    _check_spec_batch(specs)
    rng = np.random.default_rng() if rng is None else rng
    batch, n_mels, frames = specs.shape[0], specs.shape[-2], specs.shape[-1]
    freq = random_band_mask(batch, n_mels, freq_mask, rng, specs.device)  # (B, n_mels)
    time = random_band_mask(batch, frames, time_mask, rng, specs.device)  # (B, frames)
    masked = freq[:, :, None] | time[:, None, :]  # (B, n_mels, frames)
    masked = masked.view(batch, *([1] * (specs.ndim - 3)), n_mels, frames)  # match specs
    return specs.masked_fill(masked, fill)


def time_shift(
    specs: Tensor, max_shift: int, *, rng: Optional[np.random.Generator] = None
) -> Tensor:
    """Roll each spectrogram along time by its own random number of frames.

    Each example's shift is drawn uniformly from ``{-max_shift, ..., max_shift}`` (clipped to
    less than the number of frames); frames pushed out at one end come back at the other, so
    nothing is lost and no fill value is needed. A sound event may start anywhere in a clip,
    so the label does not change: the model learns not to care *when* it happens.

    Args:
        specs: ``(batch, n_mels, frames)`` or ``(batch, 1, n_mels, frames)``.
        max_shift: largest shift in frames, >= 0.
        rng: source of the shifts; a fresh unseeded one if None.

    Returns:
        A new tensor of the same shape.
    """
    _check_spec_batch(specs)
    if max_shift < 0:
        raise ValueError(f"time shift must be >= 0, got {max_shift}")
    rng = np.random.default_rng() if rng is None else rng
    batch, frames = specs.shape[0], specs.shape[-1]
    limit = min(max_shift, frames - 1)
    shifts = torch.as_tensor(rng.integers(-limit, limit + 1, size=batch), device=specs.device)
    source = (torch.arange(frames, device=specs.device) - shifts[:, None]) % frames  # (B, frames)
    source = source.view(batch, *([1] * (specs.ndim - 2)), frames).expand_as(specs)
    return specs.gather(-1, source)  # out[..., t] = specs[..., (t - shift) mod frames]


def mixup(
    specs: Tensor,
    targets: Tensor,
    alpha: float,
    num_classes: int,
    *,
    rng: Optional[np.random.Generator] = None,
) -> tuple[Tensor, Tensor]:
    """Mix each example with a random partner of the batch; return inputs and soft labels.

    For example ``i`` with partner ``j = perm[i]`` and weight ``lam_i ~ Beta(alpha, alpha)``:
    ``x_i' = lam_i x_i + (1 - lam_i) x_j`` and ``y_i' = lam_i onehot(y_i) + (1 - lam_i)
    onehot(y_j)``. Each example draws its own weight.

    Args:
        specs: ``(batch, n_mels, frames)`` or ``(batch, 1, n_mels, frames)``.
        targets: ``(batch,)`` integer class labels.
        alpha: Beta concentration, > 0 (0 is "disabled" and belongs to the ``Mixup`` module).
        num_classes: width of the soft-label vectors.
        rng: source of the weights and partners; a fresh unseeded one if None.

    Returns:
        ``(mixed specs, same shape as specs; soft targets (batch, num_classes) float,
        each row summing to 1)``.
    """
    _check_spec_batch(specs)
    if alpha <= 0:
        raise ValueError(f"mixup alpha must be > 0, got {alpha}")
    rng = np.random.default_rng() if rng is None else rng
    batch = specs.shape[0]
    lam = rng.beta(alpha, alpha, size=batch)  # (B,)
    perm = torch.as_tensor(rng.permutation(batch), device=specs.device)  # (B,)
    lam_t = torch.as_tensor(lam, dtype=specs.dtype, device=specs.device)  # (B,)
    lam_x = lam_t.view(batch, *([1] * (specs.ndim - 1)))  # broadcast over spectrogram axes
    mixed = lam_x * specs + (1 - lam_x) * specs[perm]
    onehot = F.one_hot(targets, num_classes).to(specs.dtype)  # (B, C)
    soft = lam_t[:, None] * onehot + (1 - lam_t[:, None]) * onehot[perm]  # (B, C)
    return mixed, soft


class SpecAugment(nn.Module):
    """``spec_augment`` in training mode; identity in eval mode or with both widths 0."""

    def __init__(
        self,
        freq_mask: int,
        time_mask: int,
        *,
        fill: float = 0.0,
        rng: Optional[np.random.Generator] = None,
    ) -> None:
        super().__init__()
        self.freq_mask, self.time_mask, self.fill = freq_mask, time_mask, fill
        self.rng = np.random.default_rng() if rng is None else rng

    @property
    def enabled(self) -> bool:
        """Whether any mask can be drawn."""
        return self.freq_mask > 0 or self.time_mask > 0

    def forward(self, specs: Tensor) -> Tensor:
        """``(batch, [1,] n_mels, frames)`` -> same shape, masked while training."""
        if not (self.training and self.enabled):
            return specs
        return spec_augment(specs, self.freq_mask, self.time_mask, fill=self.fill, rng=self.rng)

    def extra_repr(self) -> str:
        return f"freq_mask={self.freq_mask}, time_mask={self.time_mask}, fill={self.fill}"


class TimeShift(nn.Module):
    """``time_shift`` in training mode; identity in eval mode or with ``max_shift`` 0."""

    def __init__(self, max_shift: int, *, rng: Optional[np.random.Generator] = None) -> None:
        super().__init__()
        if max_shift < 0:
            raise ValueError(f"time shift must be >= 0 (0 disables), got {max_shift}")
        self.max_shift = max_shift
        self.rng = np.random.default_rng() if rng is None else rng

    def forward(self, specs: Tensor) -> Tensor:
        """``(batch, [1,] n_mels, frames)`` -> same shape, shifted while training."""
        if not (self.training and self.max_shift > 0):
            return specs
        return time_shift(specs, self.max_shift, rng=self.rng)

    def extra_repr(self) -> str:
        return f"max_shift={self.max_shift}"


class Mixup(nn.Module):
    """``mixup`` in training mode; otherwise inputs unchanged and one-hot targets.

    Always returning soft targets ``(batch, num_classes)`` lets one loss serve both cases.
    """

    def __init__(
        self, alpha: float, num_classes: int, *, rng: Optional[np.random.Generator] = None
    ) -> None:
        super().__init__()
        if alpha < 0:
            raise ValueError(f"mixup alpha must be >= 0 (0 disables), got {alpha}")
        self.alpha, self.num_classes = alpha, num_classes
        self.rng = np.random.default_rng() if rng is None else rng

    @property
    def enabled(self) -> bool:
        """Whether examples are mixed."""
        return self.alpha > 0

    def forward(self, specs: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        """``(specs, targets (batch,))`` -> ``(specs, soft targets (batch, num_classes))``."""
        if not (self.training and self.enabled):
            return specs, F.one_hot(targets, self.num_classes).to(specs.dtype)
        return mixup(specs, targets, self.alpha, self.num_classes, rng=self.rng)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, num_classes={self.num_classes}"


class Augment(nn.Module):
    """A training batch's augmentations, in order: random crop, time shift, random gain,
    mixup, SpecAugment (masks go last, on the mixed spectrograms, as in the AST recipe).
    Identity in eval mode.

    ``forward(specs, targets)`` -> ``(specs, soft targets (batch, num_classes))``; all three
    draw from one NumPy generator, whose state a checkpoint can save.
    """

    def __init__(
        self,
        *,
        num_classes: int,
        time_shift: int = 0,
        mixup_alpha: float = 0.0,
        freq_mask: int = 0,
        time_mask: int = 0,
        crop_frames: int = 0,
        gain: float = 0.0,
        fill: float = 0.0,
        rng: Optional[np.random.Generator] = None,
    ) -> None:
        super().__init__()
        rng = np.random.default_rng() if rng is None else rng
        self.crop = RandomCrop(crop_frames, rng=rng)
        self.shift = TimeShift(time_shift, rng=rng)
        self.gain = RandomGain(gain, rng=rng)
        self.mix = Mixup(mixup_alpha, num_classes, rng=rng)
        self.mask = SpecAugment(freq_mask, time_mask, fill=fill, rng=rng)

    @classmethod
    def from_config(
        cls, cfg: "TrainConfig", num_classes: int, *, fill: float = 0.0, gain: float = 0.0,
        rng: Optional[np.random.Generator] = None,
    ) -> "Augment":
        """The augmentations a ``TrainConfig`` asks for (its crop_frames, time_shift,
        mixup_alpha, freq_mask and time_mask); ``gain``: its gain_db in feature units
        (``gain_offset``)."""
        return cls(num_classes=num_classes, time_shift=cfg.time_shift,
                   mixup_alpha=cfg.mixup_alpha, freq_mask=cfg.freq_mask,
                   time_mask=cfg.time_mask, crop_frames=cfg.crop_frames, gain=gain,
                   fill=fill, rng=rng)

    def forward(self, specs: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        """``(specs (batch, [1,] n_mels, frames), targets (batch,))`` -> augmented specs, soft
        targets ``(batch, num_classes)``."""
        specs, soft = self.mix(self.gain(self.shift(self.crop(specs))), targets)
        return self.mask(specs), soft
