"""Evaluating a model on clips: logits in eval mode, class probabilities, loss and accuracy."""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import TrainConfig
from ..crops import clip_logits
from ..data import ClipTensors
from ..metrics import Predictions
from ..precision import autocast

EVAL_BATCH = 256  # clips per forward pass when predicting (no gradients: larger is faster)


@torch.no_grad()
def predict_logits(
    model: nn.Module, clips: ClipTensors, cfg: Optional[TrainConfig] = None
) -> Tensor:
    """``(n, C)`` float32 logits for ``clips``, in order, on the CPU, with the model in eval mode.

    ``cfg``, the run's training settings, decides the precision (``TrainConfig.precision``)
    and, for a model trained on crops (``crop_frames``), that each clip is scored by its
    ``test_crops`` evenly spaced crops: the logits are then the log of their mean class
    probabilities (``crops.mean_crop_log_probs``). None: float32 (bf16 on CUDA), whole clips.
    """
    cfg = cfg or TrainConfig()
    model.eval()
    chunks = []
    for specs, _ in clips.batches(EVAL_BATCH):
        with autocast(specs.device, cfg.precision):
            logits = clip_logits(model, specs, cfg.crop_frames, cfg.test_crops)
        chunks.append(logits.float().cpu())
    return torch.cat(chunks)


def predict(
    model: nn.Module, clips: ClipTensors, cfg: Optional[TrainConfig] = None
) -> Predictions:
    """The model's class probabilities for ``clips`` (already normalised, on its device);
    ``cfg`` as for ``predict_logits``."""
    probabilities = predict_logits(model, clips, cfg).softmax(dim=1)  # (n, C)
    return Predictions(
        indices=clips.indices.copy(),
        targets=clips.targets.cpu().numpy(),
        predicted=probabilities.argmax(dim=1).numpy(),
        probabilities=probabilities.numpy(),
    )


def score(logits: Optional[Tensor], targets: np.ndarray) -> dict[str, float]:
    """Plain cross-entropy (nats/example, no smoothing) and accuracy of ``(n, C)`` logits;
    both NaN when there are no clips (a run without a validation split: ``logits`` None)."""
    if logits is None or len(targets) == 0:
        return {"loss": float("nan"), "acc": float("nan")}
    t = torch.as_tensor(targets)
    return {
        "loss": F.cross_entropy(logits, t).item(),
        "acc": (logits.argmax(1) == t).float().mean().item(),
    }
