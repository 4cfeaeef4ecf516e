"""Training one fold: set up, train epoch by epoch with checkpoints, then test once."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch

from ..augment import Augment
from ..atomic_files import save_json
from ..checkpoint import seed_everything
from ..config import TrainConfig
from ..data import ClipTensors, FeatureSet
from ..gain import gain_offset
from ..metrics import FoldResult
from ..models import build_model
from ..progress import EpochProgress
from .configs import ModelConfig, check_train_config, resolve_device
from .distributed import PARALLEL_MODES, World, current_world, data_parallel, from_main, rank_device
from .epoch import train_epoch
from .evaluation import predict, predict_logits, score
from .fold_setup import FoldSetup, fold_clips, setup_fold
from .fold_state import HISTORY_KEYS, FoldState
from .optimizer import lr_factor, make_optimizer
from .pretrained_init import pretrained_model
from .run_folder import check_fold_settings, check_out_folder
from .saved_runs import FOLD_RESULT, LAST, fold_dir, read_fold_result
from .teacher import load_teacher

SPEC_FILL = 0.0  # SpecAugment fill: the mean of dataset-normalised features


@dataclass(frozen=True)
class EpochEnd:
    """What a per-epoch callback is told, after the epoch's checkpoint has been written."""

    model: str  # "ast" or "cnn"
    test_fold: int
    epoch: int  # 0-based index of the epoch just finished
    history: dict[str, list[float]]  # HISTORY_KEYS -> one value per epoch so far
    best_epoch: int  # 0-based index of the kept weights' epoch (best validation, or the last)


Callback = Callable[[EpochEnd], None]


def train_fold(
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    data: FeatureSet,
    test_fold: int,
    *,
    out_dir: Optional[str | Path] = None,
    resume: bool = False,
    progress: bool = True,
    callback: Optional[Callback] = None,
    shuffle_train_labels: bool = False,
    teacher_run: Optional[str | Path] = None,
    parallel: str = "folds",
    init: Optional[str | Path] = None,
) -> FoldResult:
    """Train on every fold but ``test_fold``, early-stop on validation (or run the whole
    schedule), test once.

    Args:
        model_cfg: ``ASTConfig`` or ``CNNConfig``; its ``num_classes`` (and the AST's input
            size) are overwritten from ``data``.
        train_cfg: optimisation settings.
        data: the feature set (un-normalised features and metadata).
        test_fold: the held-out fold, one of ``data.fold_ids``.
        out_dir: if given, ``out_dir/<model>-fold<k>/`` receives ``last.pt`` (after every
            epoch), ``best.pt`` (the kept weights so far) and ``fold_result.json`` (at the end).
        resume: continue from ``last.pt``, or return ``fold_result.json`` if the fold finished;
            the result equals an uninterrupted run's. Resumed or not, a fold folder already
            holding files of other settings is refused (``run_folder.check_fold_settings``).
        progress: report progress: bars on a terminal, one line per epoch elsewhere
        callback: called after every epoch (e.g. live curves); raising from it stops the run
            after that epoch's checkpoint, which ``resume=True`` continues from.
        shuffle_train_labels: the leakage control: permute the train/val labels (seeded).
        teacher_run: with ``train_cfg.distillation`` "hard" or "soft": a finished run on the
            same data whose model for ``test_fold`` teaches the AST's [DIST] head.
        parallel: under torchrun, "data" trains this fold on all ranks together (DDP: rank 0
            alone writes the files, every rank returns the same result); "folds" (the
            default, and the only mode of one process) trains it in this process alone.
            ``callback`` is called on every rank.
        init: a pretrained checkpoint the AST starts from instead of random weights (an
            ImageNet DeiT, the AST authors' or a Hugging Face folder; ``pretrained_init``),
            with a new head for the data's classes; recorded in the run's settings.

    The validation split follows ``data.data_cfg`` (its ``val_fraction`` and ``seed``).
    """
    check_train_config(train_cfg)
    if parallel not in PARALLEL_MODES:
        raise ValueError(f"parallel must be one of {PARALLEL_MODES}, got {parallel!r}")
    world = current_world() if parallel == "data" else World()  # the ranks training this fold
    teacher_path = None if teacher_run is None else Path(teacher_run)
    init_path = None if init is None else Path(init)
    setup = setup_fold(model_cfg, train_cfg, data, test_fold, shuffle_train_labels, teacher_path,
                       init_path)
    directory = fold_dir(out_dir, setup.kind, test_fold) if out_dir is not None else None
    if directory is not None:
        check_out_folder(Path(out_dir))
        check_fold_settings(directory, setup.run_config, resume)
    if directory is not None and (directory / FOLD_RESULT).exists():
        if resume:
            return FoldResult.from_dict(read_fold_result(directory)["result"])
        if world.is_main:  # a fresh run: never leave a stale result behind
            (directory / FOLD_RESULT).unlink(missing_ok=True)

    device = rank_device(resolve_device(train_cfg.device), current_world())
    seed_everything(train_cfg.seed)
    model = (build_model(setup.kind, setup.model_cfg) if init_path is None
             else pretrained_model(setup.model_cfg, init_path)).to(device)
    trainer = model  # what the batches go through
    if world.distributed:
        model, trainer = data_parallel(model, device)
    teacher = None
    if teacher_path is not None:
        teacher = load_teacher(teacher_path, test_fold, data, (setup.mean, setup.std)).to(device)
    clips = fold_clips(data, setup, device)
    optimizer = make_optimizer(model, train_cfg)
    steps_per_epoch = clips.train.num_batches(train_cfg.batch_size, drop_last=True)
    state = FoldState(
        model=model,
        optimizer=optimizer,
        scheduler=torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: lr_factor(step, steps_per_epoch, train_cfg)
        ),
        augment_rng=np.random.default_rng(train_cfg.seed),
        shuffle_generator=torch.Generator().manual_seed(train_cfg.seed),
        history={k: [] for k in HISTORY_KEYS},
    )
    gain = gain_offset(train_cfg.gain_db, data.fbank.log, setup.std)
    augment = Augment.from_config(train_cfg, data.num_classes, fill=SPEC_FILL, gain=gain,
                                  rng=state.augment_rng)
    if resume and directory is not None and (directory / LAST).exists():
        state.restore(directory)

    reporter = EpochProgress(f"{setup.kind} fold {test_fold}", train_cfg.epochs,
                             state.epochs_run, enabled=progress and world.is_main)
    with reporter:
        while not state.finished(train_cfg):
            started = time.perf_counter()
            stats = train_epoch(trainer, clips.train, optimizer, state.scheduler, augment,
                                train_cfg, state.shuffle_generator, progress, teacher, world)
            val = from_main(_validate(model, clips.val, setup, train_cfg) if world.is_main else None, world)
            kept = state.record({**stats, "val_loss": val["loss"], "val_acc": val["acc"]},
                                train_cfg.selection)
            state.seconds += time.perf_counter() - started
            if directory is not None and world.is_main:
                state.save(directory, setup, kept)
            reporter.update(state.epochs_run - 1, {**stats, "val_acc": val["acc"]},
                            time.perf_counter() - started)
            if callback is not None:
                history = {k: list(v) for k, v in state.history.items()}  # a copy to keep
                epoch = state.epochs_run - 1
                callback(EpochEnd(setup.kind, setup.test_fold, epoch, history, state.best_epoch))

    result = _test(state, setup, clips.test, data, train_cfg)
    if directory is not None and world.is_main:
        saved = {"run_config": setup.run_config, "result": result.to_dict()}
        save_json(saved, directory / FOLD_RESULT)
    return result


def _validate(
    model: torch.nn.Module, val: ClipTensors, setup: FoldSetup, cfg: TrainConfig
) -> dict[str, float]:
    """Validation loss and accuracy of ``model`` (NaN when no validation split is held out)."""
    logits = predict_logits(model, val, cfg) if len(val) else None
    return score(logits, setup.targets[setup.val])


def _test(
    state: FoldState, setup: FoldSetup, test: ClipTensors, data: FeatureSet, cfg: TrainConfig
) -> FoldResult:
    """Evaluate the test fold once, with the kept weights, and assemble the fold's result."""
    started = time.perf_counter()
    state.model.load_state_dict(state.best_state)
    predictions = predict(state.model, test, cfg)
    return FoldResult(
        model=setup.kind,
        test_fold=setup.test_fold,
        num_classes=data.num_classes,
        history=state.history,
        best_epoch=state.best_epoch,
        stopped_early=state.epochs_run < cfg.epochs,
        norm_mean=setup.mean,
        norm_std=setup.std,
        n_train=len(setup.train),
        n_val=len(setup.val),
        predictions=predictions,
        seconds=state.seconds + time.perf_counter() - started,
    )
