"""A fold's training state: the kept weights, early stopping, checkpoints and resuming."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from torch import Tensor, nn

from ..checkpoint import load_checkpoint, restore_rng_states, rng_states, save_checkpoint
from ..config import TrainConfig
from .fold_setup import FoldSetup
from .saved_runs import BEST, LAST

HISTORY_KEYS = ("train_loss", "train_acc", "val_loss", "val_acc", "lr")


@dataclass
class FoldState:
    """The mutable state of one fold's training: everything ``last.pt`` must hold."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    augment_rng: np.random.Generator  # drives mixup, SpecAugment and time shift
    shuffle_generator: torch.Generator  # drives the order of training clips
    history: dict[str, list[float]]
    best_epoch: int = -1  # 0-based epoch of the kept weights; -1 before the first epoch
    best_state: Optional[dict[str, Tensor]] = None  # CPU copy of the kept weights
    seconds: float = 0.0

    @property
    def epochs_run(self) -> int:
        return len(self.history["val_acc"])

    def finished(self, cfg: TrainConfig) -> bool:
        """All epochs run, or (early stopping) ``patience`` epochs since the best validation
        accuracy."""
        if self.epochs_run >= cfg.epochs:
            return True
        patient = cfg.selection == "best_val" and self.best_epoch >= 0
        return patient and self.epochs_run - 1 - self.best_epoch >= cfg.patience

    def record(self, stats: dict[str, float], selection: str) -> bool:
        """Append one epoch's numbers and decide whether to keep this epoch's weights: always
        for ``selection="last"``; for ``"best_val"`` if validation accuracy improved (strictly,
        so ties keep the earlier epoch). Returns whether they were kept."""
        for key in HISTORY_KEYS:
            self.history[key].append(stats[key])
        val_acc = self.history["val_acc"]
        keep = (
            selection == "last" or self.best_epoch < 0 or val_acc[-1] > val_acc[self.best_epoch]
        )
        if keep:
            self.best_epoch = self.epochs_run - 1
            weights = self.model.state_dict()
            self.best_state = {k: v.detach().cpu().clone() for k, v in weights.items()}
        return keep

    def save(self, directory: Path, setup: FoldSetup, improved: bool) -> None:
        """Write ``best.pt`` (if the kept weights changed) then ``last.pt``, each atomically."""
        epoch = self.epochs_run - 1
        if improved:
            save_checkpoint(
                {"run_config": setup.run_config, "epoch": epoch, "model": self.best_state,
                 "val_acc": self.history["val_acc"][epoch], "norm_mean": setup.mean,
                 "norm_std": setup.std},
                directory / BEST,
            )
        save_checkpoint(
            {"run_config": setup.run_config, "epoch": epoch, "model": self.model.state_dict(),
             "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
             "history": self.history, "best_epoch": self.best_epoch,
             "best_state": self.best_state, "seconds": self.seconds,
             "rng": rng_states(self.augment_rng, self.shuffle_generator)},
            directory / LAST,
        )

    def restore(self, directory: Path) -> None:
        """Continue from ``last.pt``, exactly where it was written (``train_fold`` has checked
        that it was written with this fold's settings). It holds the kept weights too, so a
        crash between writing ``best.pt`` and ``last.pt`` cannot mix two epochs."""
        last = load_checkpoint(directory / LAST)
        self.model.load_state_dict(last["model"])
        self.optimizer.load_state_dict(last["optimizer"])
        self.scheduler.load_state_dict(last["scheduler"])
        restore_rng_states(last["rng"], self.augment_rng, self.shuffle_generator)
        self.history, self.seconds = last["history"], last["seconds"]
        self.best_epoch, self.best_state = last["best_epoch"], last["best_state"]
