"""A short fine-tuning run of a model built elsewhere (notebook 05): the curves, nothing saved.

``ast-lab train`` and ``cross_validate`` build their model from a config and keep checkpoints,
early stopping and results; notebook 05 needs less and something else: to train a model it
already holds (converted from pretrained weights, or fresh for comparison) for a few epochs on
one split, and to see the losses. ``fine_tune`` is that loop, made of the package's own parts:
the fold's normalisation (``fold_norm``: the recipe's fixed statistics, else the split's own),
``train_epoch`` with the run's augmentations, the run's optimiser and schedule
(``make_optimizer``, ``lr_factor``), and plain cross-entropy on the validation clips after every
epoch (``predict_logits``, ``score``).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .augment import Augment
from .config import TrainConfig
from .data import FeatureSet, Split, clip_tensors
from .training import lr_factor, make_optimizer
from .training.epoch import train_epoch
from .training.evaluation import predict_logits, score
from .training.fold_setup import fold_norm


def fine_tune(model: nn.Module, data: FeatureSet, split: Split, cfg: TrainConfig,
              seed: int = 0) -> dict[str, list[float]]:
    """Train ``model`` in place for ``cfg.epochs`` on ``split.train`` (CPU); return per epoch
    ``train_loss`` (nats per clip, augmented batches), ``val_loss`` (nats) and ``val_acc`` on
    ``split.val``. The same ``seed`` gives two models the same batches and augmentations."""
    norm = fold_norm(data, split.train, cfg, split.test_fold)
    device = torch.device("cpu")
    train = clip_tensors(data, split.train, data.targets, norm, device)
    val = clip_tensors(data, split.val, data.targets, norm, device)
    steps = train.num_batches(cfg.batch_size, drop_last=True)
    optimizer = make_optimizer(model, cfg)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer,
                                                  lambda step: lr_factor(step, steps, cfg))
    augment = Augment.from_config(cfg, data.num_classes,
                                  rng=np.random.default_rng(seed))
    generator = torch.Generator().manual_seed(seed)
    history: dict[str, list[float]] = {"train_loss": [], "val_loss": [], "val_acc": []}
    for _ in range(cfg.epochs):
        stats = train_epoch(model, train, optimizer, scheduler, augment, cfg, generator,
                            progress=False)
        scores = score(predict_logits(model, val, cfg), val.targets.numpy())
        history["train_loss"].append(stats["train_loss"])
        history["val_loss"].append(scores["loss"])
        history["val_acc"].append(scores["acc"])
    return history
