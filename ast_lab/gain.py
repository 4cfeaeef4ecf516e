"""Random gain: every training clip made louder or quieter by its own random amount.

A recording's level says little about its class (a dog barks near or far), so training on
clips whose level moves by up to a few dB either way teaches the model to ignore it. On log
features a gain is a constant added to the whole spectrogram: ``gain_db`` dB on dB features,
``gain_db * ln(10) / 10`` on natural-log ones, divided by the normalisation's std once the
features are normalised (``gain_offset``).
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch
from torch import Tensor, nn


def random_gain(
    specs: Tensor, max_offset: float, *, rng: Optional[np.random.Generator] = None
) -> Tensor:
    """Add each spectrogram its own constant, drawn uniformly from ``[-max_offset,
    max_offset]``: on log features a gain (louder or quieter) of the whole clip.

    ``specs``: ``(batch, n_mels, frames)`` or ``(batch, 1, n_mels, frames)``; ``max_offset``
    in the features' units (``gain_offset`` converts dB). Returns a new tensor.
    """
    if not max_offset >= 0:
        raise ValueError(f"gain offset must be >= 0, got {max_offset}")
    rng = np.random.default_rng() if rng is None else rng
    offsets = rng.uniform(-max_offset, max_offset, size=specs.shape[0])
    offsets_t = torch.as_tensor(offsets, dtype=specs.dtype, device=specs.device)
    return specs + offsets_t.view(-1, *([1] * (specs.ndim - 1)))


def gain_offset(gain_db: float, log: str, std: float) -> float:
    """A gain of ``gain_db`` dB as an offset of normalised log features: dB features
    (``log="db"``) move by ``gain_db``, natural-log ones by ``gain_db * ln(10) / 10``, both
    divided by the normalisation's ``std``. Linear features (``"none"``) have no offset."""
    if gain_db == 0:
        return 0.0
    per_db = {"db": 1.0, "ln": float(np.log(10) / 10)}
    if log not in per_db:
        raise ValueError(f"random gain needs log features (log='db' or 'ln'), got log={log!r}")
    return gain_db * per_db[log] / std


class RandomGain(nn.Module):
    """``random_gain`` in training mode; identity in eval mode or with ``max_offset`` 0."""

    def __init__(self, max_offset: float, *, rng: Optional[np.random.Generator] = None) -> None:
        super().__init__()
        self.max_offset = max_offset
        self.rng = np.random.default_rng() if rng is None else rng

    def forward(self, specs: Tensor) -> Tensor:
        """``(batch, [1,] n_mels, frames)`` -> same shape, each clip offset while training."""
        if not (self.training and self.max_offset > 0):
            return specs
        return random_gain(specs, self.max_offset, rng=self.rng)
