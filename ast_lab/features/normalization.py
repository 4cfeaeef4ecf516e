"""Normalisation of log-mel spectrograms ``(..., n_mels, frames)``: per clip, per dataset, and as
a pretrained checkpoint expects it.

* ``normalize`` applies ``FbankConfig.normalize``: "none", "per_sample" (each clip's own mean
  and std) or "dataset" (the training folds' mean and std, from ``dataset_stats``).
* ``checkpoint_normalize`` is the AST authors' and Hugging Face's ``ASTFeatureExtractor``'s
  ``(x - mean) / (2 * std)`` with a checkpoint's own statistics (AudioSet: -4.27 and 4.57);
  ``ast_lab.models.pretrained.inputs`` describes the rest of a checkpoint's input pipeline.
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np
import torch

from ast_lab.config import FbankConfig

Tensor = torch.Tensor

PER_SAMPLE_STD_FLOOR = 1e-5  # a silent clip has std 0; divide by at least this instead
CHECKPOINT_STD_SCALE = 2.0  # the AST code divides by twice the std: most inputs in [-1, 1]


def normalize(spec: Tensor, cfg: FbankConfig) -> Tensor:
    """Normalise log-mel spectrograms ``(..., n_mels, frames)`` as ``cfg.normalize`` says.

    "none": unchanged. "per_sample": (x - mean) / std over each spectrogram's own values (std
    floored at 1e-5 so silence stays finite). "dataset": (x - dataset_mean) / dataset_std with
    the scalars stored in the config, computed by ``dataset_stats`` on the training folds only.
    (The AST code divides by 2 * std instead, ``checkpoint_normalize``: a different scale, not
    a different idea.)
    """
    if cfg.normalize == "none":
        return spec
    if cfg.normalize == "per_sample":
        std, mean = torch.std_mean(spec, dim=(-2, -1), keepdim=True, correction=0)
        return (spec - mean) / std.clamp(min=PER_SAMPLE_STD_FLOOR)
    if cfg.normalize == "dataset":
        if cfg.dataset_mean is None or cfg.dataset_std is None:
            raise ValueError(
                "normalize='dataset' needs FbankConfig.dataset_mean and dataset_std; "
                "compute them with features.dataset_stats on the training folds"
            )
        if not cfg.dataset_std > 0:
            raise ValueError(f"dataset_std must be positive, got {cfg.dataset_std}")
        return (spec - cfg.dataset_mean) / cfg.dataset_std
    raise ValueError(f"unknown normalize {cfg.normalize!r}; use 'none', 'per_sample' or 'dataset'")


def checkpoint_normalize(spec: Tensor, mean: float, std: float) -> Tensor:
    """A pretrained AST's input scaling: ``(x - mean) / (2 * std)``, same shape as ``spec``.

    ``mean`` and ``std`` are the checkpoint's (its training set's log-mel statistics, in the
    log units of ``spec``); its ``preprocessor_config.json`` or the authors' recipe gives them.
    """
    if not std > 0:
        raise ValueError(f"a checkpoint's std must be positive, got {std}")
    return (spec - mean) / (CHECKPOINT_STD_SCALE * std)


def dataset_stats(
    specs: np.ndarray | Tensor | Iterable[np.ndarray | Tensor],
) -> tuple[float, float]:
    """Scalar mean and (population) std over every value of ``specs``.

    ``specs`` is one ``(n, n_mels, frames)`` array/tensor or an iterable of them (e.g. batches
    from a DataLoader). Chunks are merged with Chan et al.'s pairwise update in float64, so the
    result does not drift with dataset size. Use training data only.
    """
    chunks = [specs] if isinstance(specs, (np.ndarray, Tensor)) else specs
    count, mean, sum_sq_dev = 0, 0.0, 0.0
    for chunk in chunks:
        values = torch.as_tensor(chunk).detach().to("cpu", torch.float64).flatten()
        if values.numel() == 0:
            continue
        if not torch.isfinite(values).all():
            raise ValueError("dataset_stats got NaN or Inf values")
        chunk_mean = values.mean().item()
        chunk_sum_sq_dev = (values - chunk_mean).square().sum().item()
        total = count + values.numel()
        delta = chunk_mean - mean
        mean += delta * values.numel() / total
        sum_sq_dev += chunk_sum_sq_dev + delta**2 * count * values.numel() / total
        count = total
    if count == 0:
        raise ValueError("dataset_stats got no values")
    return mean, math.sqrt(sum_sq_dev / count)
