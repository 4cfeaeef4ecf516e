"""The optimiser and its learning rate: AdamW (or the AST code's Adam), then a warm-up and a
cosine or step decay."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..config import TrainConfig

SCHEDULES = ("cosine", "step")
OPTIMIZERS = ("adamw", "adam")


def lr_factor(step: int, steps_per_epoch: int, cfg: TrainConfig) -> float:
    """Multiplier on ``cfg.lr`` for optimizer step ``step`` (0-based).

    Linear warm-up over the first ``warmup_epochs``, then either a cosine decay to 0 over the
    remaining steps of ``epochs`` (changes every step), or the AST recipe's step decay: ×
    ``step_decay_gamma`` per epoch from 0-based epoch ``step_decay_start`` on (changes once
    per epoch; with the defaults the 6th epoch is the first at 0.85, as in the AST code).
    """
    warmup = cfg.warmup_epochs * steps_per_epoch
    if step < warmup:
        return (step + 1) / warmup
    if cfg.schedule == "cosine":
        progress = (step - warmup) / max(1, cfg.epochs * steps_per_epoch - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
    if cfg.schedule == "step":
        epoch = step // steps_per_epoch
        return cfg.step_decay_gamma ** max(0, epoch - cfg.step_decay_start + 1)
    raise ValueError(f"unknown schedule {cfg.schedule!r}; choose one of {SCHEDULES}")


FUSED_DEVICES = ("cpu", "cuda")  # where PyTorch has fused AdamW and Adam kernels


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """``cfg.optimizer`` with ``cfg.betas`` over the trainable tensors.

    "adamw": weight decay decoupled from the gradient and on matrices and kernels only, not on
    biases and norm scales (tensors with fewer than 2 dimensions), as minGPT and timm do.
    "adam": the AST code's ``torch.optim.Adam``: weight decay an L2 term added to the gradient
    of every tensor.

    Fused (one kernel updates every tensor) where PyTorch has that kernel: the same update as
    the loop over tensors, to float rounding; the demo's micro-AST step on 2 CPU cores went
    from 37 to 33 ms (medians of 8 interleaved rounds).
    """
    if cfg.optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {cfg.optimizer!r}; choose one of {OPTIMIZERS}")
    params = [p for p in model.parameters() if p.requires_grad]
    fused = all(p.device.type in FUSED_DEVICES and p.is_floating_point() for p in params)
    options = dict(lr=cfg.lr, betas=tuple(cfg.betas), fused=fused or None)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, weight_decay=cfg.weight_decay, **options)
    groups = [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": cfg.weight_decay},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, **options)
