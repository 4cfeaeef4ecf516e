"""One training epoch: bf16 autocast, the objective of one augmented batch, one pass."""

from __future__ import annotations

from typing import Optional

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

from ..augment import Augment
from ..config import TrainConfig
from ..data import ClipTensors
from ..distill import Teacher, distilled_objective
from ..precision import autocast
from ..progress import batch_bar
from .distributed import World, shard


def batch_loss(
    model: nn.Module,
    specs: Tensor,
    soft: Tensor,
    cfg: TrainConfig,
    teacher: Optional[Teacher],
) -> tuple[Tensor, Tensor]:
    """The training objective of one augmented batch and the logits it was computed from.

    ``specs``: ``(B, 1, n_mels, frames)``; ``soft``: ``(B, C)`` targets (one-hot or mixed).
    Without a teacher: cross-entropy with label smoothing. With one: DeiT's objective on the
    AST's two heads (``distill.distilled_objective``). Returns ``(loss, logits (B, C))``, the
    logits being the model's output (for a distilled AST, the mean of its two heads).
    """
    with autocast(specs.device, cfg.precision):
        if teacher is None:
            logits = model(specs)  # (B, C)
        else:
            heads = model.forward_heads(specs)  # ((B, C), (B, C))
            teacher_logits = teacher(specs)  # (B, C)
            logits = (heads[0] + heads[1]) / 2
    if teacher is None:
        loss = F.cross_entropy(logits.float(), soft, label_smoothing=cfg.label_smoothing)
    else:
        loss = distilled_objective(
            heads, soft, teacher_logits, cfg.distillation,
            temperature=cfg.distill_temperature, label_smoothing=cfg.label_smoothing,
        )
    return loss, logits


def train_epoch(
    model: nn.Module,
    clips: ClipTensors,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    augment: Augment,
    cfg: TrainConfig,
    generator: torch.Generator,
    progress: bool,
    teacher: Optional[Teacher] = None,
    world: World = World(),
) -> dict[str, float]:
    """One shuffled pass over ``clips``; returns the mean loss (nats/example), accuracy, last lr.

    Accuracy is against each example's dominant label (its own unless mixup weighted the
    partner more). Running sums stay on the device, so a step never waits for the GPU.
    Data-parallel (``world`` of several ranks, ``model`` a ``DataParallelModel``): every rank
    draws the same global batches of ``cfg.batch_size`` and trains on its shard of each; the
    returned loss and accuracy are over the whole epoch, all ranks together.
    """
    model.train()
    augment.train()
    device = clips.specs.device
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    seen, lr = 0, float("nan")
    n_batches = clips.num_batches(cfg.batch_size, drop_last=True)
    batches = clips.batches(cfg.batch_size, generator)
    for specs, targets in batch_bar(batches, n_batches, progress and world.is_main):
        if world.distributed:
            specs, targets = shard(specs, world), shard(targets, world)  # (B / size, ...)
        specs, soft = augment(specs, targets)  # (B, 1, M, T), (B, C)
        loss, logits = batch_loss(model, specs, soft, cfg, teacher)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        lr = optimizer.param_groups[0]["lr"]
        optimizer.step()
        scheduler.step()
        loss_sum += loss.detach() * len(targets)
        correct += (logits.argmax(1) == soft.argmax(1)).sum()
        seen += len(targets)
    if world.distributed:
        totals = torch.stack([loss_sum.double(), correct.double(),
                              torch.tensor(float(seen), device=device, dtype=torch.float64)])
        dist.all_reduce(totals)  # sums over the ranks
        loss_sum, correct, seen = totals[0], totals[1], int(totals[2].item())
    return {"train_loss": loss_sum.item() / seen, "train_acc": correct.item() / seen, "lr": lr}
