"""Training and k-fold cross-validation (notebook 04_fold_training).

Like minGPT's ``trainer.py``, nothing here knows what the model is: it is built from its
config (``ASTConfig`` -> AST, ``CNNConfig`` -> CNN) and only ever called on a batch of
spectrograms. One fold, in order:

1. split: the test fold is held out; a stratified validation share, grouped by recording, is
   carved out of the other folds (``data.fold_split``);
2. normalise with the mean/std of the *training* clips only (``data.train_stats``), or with
   the fixed statistics a checkpoint was trained with (``TrainConfig.norm_stats``);
3. start from random weights or a pretrained checkpoint (``--init``: ``pretrained_init``);
   train with AdamW (or the AST code's Adam), a warm-up then cosine (per step) or step-decay
   (per epoch) schedule, label smoothing, gradient clipping, time shift, mixup and SpecAugment, optionally with a
   teacher's predictions on the AST's [DIST] token (``ast_lab.distill``); after each epoch
   score the validation split, keep the best weights, stop when it has not improved for
   ``patience`` epochs (or, with ``selection="last"``, run the whole schedule and keep the
   last weights), and checkpoint everything atomically;
4. evaluate the test fold once, with the kept weights.

The fast path: each split's features are normalised once and held on the training device
(``data.clip_tensors``), a batch is one indexing operation, augmentation acts on whole batches
on that device, and on CUDA the forward pass runs under bf16 autocast with the fused attention
kernel. The same code runs on the CPU, just slower.

``cross_validate`` repeats this for every fold and returns ``metrics.Results``. Under
``torchrun`` it shares the folds out among the processes, or trains each fold on all of them
with ``DistributedDataParallel`` (``distributed``).

One module per concept, each using only those above it:

    distributed       torchrun: rank, device, fold shares, DDP, gathering results
    optimizer         AdamW or Adam, and the learning-rate schedule (``lr_factor``)
    data_identity     what data a run trained on: a fingerprint of its clips and audio
    configs           model kind, config fitted to the data, device, ``check_train_config``
    epoch             bf16 autocast, one batch's objective, one training epoch
    evaluation        logits, ``Predictions``, loss and accuracy of a model on clips
    saved_runs        a run's folder: ``fold_dir``, ``load_best_model``, ``evaluate_run``
    run_lock          one run at a time in a folder: ``run.lock``, stale locks taken over
    run_folder        a folder belongs to one run: its lock, the same settings in every fold
    teacher           distillation: ``check_distillation``, ``load_teacher``
    pretrained_init   a fold's start from a checkpoint: the config checked, the weights loaded
    fold_setup        a fold before training: split, labels, normalisation, run settings
    fold_state        a fold's training state: kept weights, early stopping, resuming
    fold              ``train_fold``: one fold, trained, checkpointed and tested
    cross_validation  ``cross_validate``: every fold, aggregated
"""

from .configs import (
    ModelConfig,
    check_train_config,
    config_from_dict,
    fit_to_data,
    model_kind,
    resolve_device,
)
from .cross_validation import cross_validate
from .distributed import PARALLEL_MODES, World, current_world, join_world, main_first
from .epoch import batch_loss
from .fold import EpochEnd, train_fold
from .fold_setup import training_targets
from .optimizer import lr_factor, make_optimizer
from .saved_runs import BEST, FOLD_RESULT, evaluate_run, fold_dir, load_best_model
from .teacher import check_distillation

__all__ = [
    "BEST",
    "EpochEnd",
    "FOLD_RESULT",
    "ModelConfig",
    "PARALLEL_MODES",
    "World",
    "batch_loss",
    "check_distillation",
    "check_train_config",
    "config_from_dict",
    "cross_validate",
    "current_world",
    "evaluate_run",
    "fit_to_data",
    "fold_dir",
    "join_world",
    "load_best_model",
    "lr_factor",
    "main_first",
    "make_optimizer",
    "model_kind",
    "resolve_device",
    "train_fold",
    "training_targets",
]
