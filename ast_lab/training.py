"""Training and k-fold cross-validation (notebook 04_fold_training).

Like minGPT's ``trainer.py``, nothing here knows what the model is: it is built from its
config (``ASTConfig`` -> AST, ``CNNConfig`` -> CNN) and only ever called on a batch of
spectrograms. One fold, in order:

1. split: the test fold is held out; a stratified validation share, grouped by recording, is
   carved out of the other folds (``data.fold_split``);
2. normalise with the mean/std of the *training* clips only (``data.train_stats``);
3. train with AdamW, a warm-up then cosine (per step) or step-decay (per epoch) schedule,
   label smoothing, gradient clipping, time shift, mixup and SpecAugment, optionally with a
   teacher's predictions on the AST's [DIST] token (``ast_lab.distill``); after each epoch
   score the validation split, keep the best weights, stop when it has not improved for
   ``patience`` epochs (or, with ``selection="last"``, run the whole schedule and keep the
   last weights), and checkpoint everything atomically;
4. evaluate the test fold once, with the kept weights.

The fast path: each split's features are normalised once and held on the training device
(``data.clip_tensors``), a batch is one indexing operation, augmentation acts on whole batches
on that device, and on CUDA the forward pass runs under bf16 autocast with the fused attention
kernel. The same code runs on the CPU, just slower.

``cross_validate`` repeats this for every fold and returns ``metrics.Results``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .augment import Augment
from .checkpoint import (
    load_checkpoint,
    restore_rng_states,
    rng_states,
    save_checkpoint,
    save_json,
    seed_everything,
)
from .config import ASTConfig, CNNConfig, DataConfig, FbankConfig, TrainConfig
from .data import ClipTensors, FeatureSet, clip_tensors, fold_split, load_dataset, train_stats
from .distill import DISTILLATIONS, Teacher, distilled_objective
from .metrics import FoldResult, Predictions, Results
from .models import MODELS, build_model
from .progress import EpochProgress, batch_bar

ModelConfig = Union[ASTConfig, CNNConfig]
HISTORY_KEYS = ("train_loss", "train_acc", "val_loss", "val_acc", "lr")
SCHEDULES = ("cosine", "step")
SELECTIONS = ("best_val", "last")
MINIMUMS = {  # TrainConfig field -> smallest value a run can use
    "epochs": 1, "batch_size": 2, "patience": 1, "warmup_epochs": 0, "mixup_alpha": 0,
    "freq_mask": 0, "time_mask": 0, "time_shift": 0,
}
EVAL_BATCH = 256  # clips per forward pass when predicting (no gradients: larger is faster)
FOLD_RESULT = "fold_result.json"
LAST, BEST = "last.pt", "best.pt"
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


# --------------------------------------------------------------------------- configuration


def model_kind(cfg: ModelConfig) -> str:
    """``"ast"`` or ``"cnn"``, from the config's type."""
    for name, (_, cfg_cls) in MODELS.items():
        if isinstance(cfg, cfg_cls):
            return name
    raise TypeError(f"no model is configured by a {type(cfg).__name__}")


def fit_to_data(cfg: ModelConfig, data: FeatureSet) -> ModelConfig:
    """The config with ``num_classes`` (and for the AST the input size) taken from the data."""
    if isinstance(cfg, ASTConfig):
        return dataclasses.replace(
            cfg, num_classes=data.num_classes, n_mels=data.n_mels, n_frames=data.n_frames
        )
    return dataclasses.replace(cfg, num_classes=data.num_classes)


def resolve_device(name: str) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; anything else as ``torch.device`` reads it."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def check_train_config(cfg: TrainConfig) -> None:
    """Raise ValueError, before any training, for settings a run cannot use."""
    problems = [
        f"{name} must be >= {low}, got {getattr(cfg, name)}"
        for name, low in MINIMUMS.items()
        if getattr(cfg, name) < low
    ]
    if cfg.schedule not in SCHEDULES:
        problems.append(f"unknown schedule {cfg.schedule!r}; choose one of {SCHEDULES}")
    if cfg.selection not in SELECTIONS:
        problems.append(f"unknown selection {cfg.selection!r}; choose one of {SELECTIONS}")
    if cfg.distillation not in DISTILLATIONS:
        problems.append(
            f"unknown distillation {cfg.distillation!r}; choose one of {DISTILLATIONS}"
        )
    if not cfg.distill_temperature > 0:
        problems.append(f"distill_temperature must be > 0, got {cfg.distill_temperature}")
    if not 0 <= cfg.label_smoothing < 1:
        problems.append(f"label_smoothing must be in [0, 1), got {cfg.label_smoothing}")
    if problems:
        raise ValueError("TrainConfig: " + "; ".join(problems))


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


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW; weight decay on matrices and kernels only, not on biases and norm scales
    (tensors with fewer than 2 dimensions), as minGPT and timm do."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": cfg.weight_decay},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=cfg.lr)


def training_targets(
    data: FeatureSet, train: np.ndarray, val: np.ndarray, shuffle: bool, seed: int
) -> np.ndarray:
    """``(n_clips,)`` labels to train and validate on: the true ones, or for the shuffled-label
    control the train+val labels permuted among themselves (test labels stay true)."""
    targets = np.array(data.targets, dtype=np.int64)
    if shuffle:
        seen = np.concatenate([train, val])
        targets[seen] = targets[np.random.default_rng(seed).permutation(seen)]
    return targets


# --------------------------------------------------------------------------- one epoch


def _autocast(device: torch.device):
    """bf16 mixed precision on CUDA (no loss scaling needed: bf16 has float32's range); a
    disabled context elsewhere."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


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
    with _autocast(specs.device):
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
) -> dict[str, float]:
    """One shuffled pass over ``clips``; returns the mean loss (nats/example), accuracy, last lr.

    Accuracy is against each example's dominant label (its own unless mixup weighted the
    partner more). Running sums stay on the device, so a step never waits for the GPU.
    """
    model.train()
    augment.train()
    device = clips.specs.device
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    seen, lr = 0, float("nan")
    n_batches = clips.num_batches(cfg.batch_size, drop_last=True)
    batches = clips.batches(cfg.batch_size, generator)
    for specs, targets in batch_bar(batches, n_batches, progress):
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
    return {"train_loss": loss_sum.item() / seen, "train_acc": correct.item() / seen, "lr": lr}


@torch.no_grad()
def predict_logits(model: nn.Module, clips: ClipTensors) -> Tensor:
    """``(n, C)`` float32 logits for ``clips``, in order, on the CPU, with the model in eval mode."""
    model.eval()
    chunks = []
    for specs, _ in clips.batches(EVAL_BATCH):
        with _autocast(specs.device):
            chunks.append(model(specs).float().cpu())
    return torch.cat(chunks)


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


# --------------------------------------------------------------------------- one fold


@dataclass
class _FoldSetup:
    """Everything about a fold that follows from the configs and the data, before training."""

    kind: str
    test_fold: int
    model_cfg: ModelConfig
    train: np.ndarray  # clip indices
    val: np.ndarray
    test: np.ndarray
    targets: np.ndarray  # (n_clips,) labels used for train/val (shuffled in the control)
    mean: float
    std: float
    run_config: dict[str, Any]  # what a checkpoint must match to be resumed


def _setup_fold(
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    data: FeatureSet,
    test_fold: int,
    shuffle_train_labels: bool,
    teacher_run: Optional[Path],
) -> _FoldSetup:
    if test_fold not in data.fold_ids:
        raise ValueError(
            f"unknown test fold {test_fold!r}; the data has folds {list(data.fold_ids)}"
        )
    data_cfg = data.data_cfg
    split = fold_split(
        data.metadata, test_fold, val_fraction=data_cfg.val_fraction, seed=data_cfg.seed
    )
    if len(split.val) == 0 and train_cfg.selection == "best_val":
        raise ValueError(
            "early stopping needs a validation split: set DataConfig.val_fraction > 0, or "
            "TrainConfig.selection='last' to test the last weights of a fixed schedule"
        )
    mean, std = train_stats(data, split.train)
    if not std > 0:
        raise ValueError(
            f"the training clips of test fold {test_fold} all have the same features "
            f"({mean:.3g} everywhere): is the audio of {data.metadata.root} silent?"
        )
    fitted = fit_to_data(model_cfg, data)
    kind = model_kind(fitted)
    check_distillation(fitted, train_cfg, teacher_run)
    run_config = json.loads(json.dumps({  # JSON-normalised (tuples -> lists) for comparison
        "model": kind,
        "model_config": dataclasses.asdict(fitted),
        "train_config": dataclasses.asdict(train_cfg),
        "shuffle_train_labels": shuffle_train_labels,
        "data": {"name": data.name, "n_clips": len(data), "class_names": list(data.class_names),
                 "fbank": dataclasses.asdict(data.fbank), "clip_seconds": data.clip_seconds,
                 "val_fraction": data_cfg.val_fraction, "split_seed": data_cfg.seed},
        "test_fold": test_fold,
        "teacher_run": None if teacher_run is None else str(teacher_run.resolve()),
    }))
    targets = training_targets(data, split.train, split.val, shuffle_train_labels, train_cfg.seed)
    return _FoldSetup(
        kind=kind,
        test_fold=int(test_fold),
        model_cfg=fitted,
        train=split.train,
        val=split.val,
        test=split.test,
        targets=targets,
        mean=float(mean),
        std=float(std),
        run_config=run_config,
    )


def predict(model: nn.Module, clips: ClipTensors) -> Predictions:
    """The model's class probabilities for ``clips`` (already normalised, on its device)."""
    probabilities = predict_logits(model, clips).softmax(dim=1)  # (n, C)
    return Predictions(
        indices=clips.indices.copy(),
        targets=clips.targets.cpu().numpy(),
        predicted=probabilities.argmax(dim=1).numpy(),
        probabilities=probabilities.numpy(),
    )


def check_distillation(
    model_cfg: ModelConfig, train_cfg: TrainConfig, teacher_run: Optional[Path]
) -> None:
    """Raise ValueError unless distillation settings, model and teacher run fit together."""
    wants = train_cfg.distillation != "none"
    if wants and teacher_run is None:
        raise ValueError(
            f"distillation={train_cfg.distillation!r} needs a teacher: pass teacher_run, the "
            "folder of a finished cross_validate run (e.g. the CNN's) on the same data"
        )
    if not wants and teacher_run is not None:
        raise ValueError("a teacher_run was given but TrainConfig.distillation is 'none'")
    if wants and getattr(model_cfg, "pooling", None) != "distilled":
        raise ValueError(
            "distillation trains the AST's [DIST] head: use ASTConfig(pooling='distilled')"
        )


def load_teacher(
    teacher_run: Path, test_fold: int, data: FeatureSet, student_norm: tuple[float, float]
) -> Teacher:
    """The teacher for one fold: the run's model trained with the same test fold held out.

    Raises ValueError if the teacher run saw other data (classes, features or clip length
    differ) or has no finished model for ``test_fold``. Its weights come from its ``best.pt``,
    which was chosen without looking at ``test_fold``, so nothing about the test fold reaches
    the student through the teacher.
    """
    if not (teacher_run / "results.json").is_file():
        raise ValueError(f"teacher run {teacher_run} has no results.json: train it first")
    saved = Results.load(teacher_run)
    if list(saved.class_names) != list(data.class_names):
        raise ValueError(f"teacher run {teacher_run} was trained on other classes")
    same_features = saved.configs["fbank"] == json.loads(json.dumps(dataclasses.asdict(data.fbank)))
    teacher_data = saved.configs["data"] or {}
    same_clips = teacher_data.get("clip_seconds") == data.data_cfg.clip_seconds
    if not (same_features and same_clips):
        raise ValueError(
            f"teacher run {teacher_run} used other features (FBANK settings or clip length) "
            "than this data; train the teacher on the same features"
        )
    if test_fold not in saved.fold_ids:
        raise ValueError(f"teacher run {teacher_run} has no model for test fold {test_fold}")
    model, teacher_norm = load_best_model(teacher_run, test_fold, saved)
    return Teacher(model, student_norm, teacher_norm)


def _check_resumable(saved: dict[str, Any], run_config: dict[str, Any], path: Path) -> None:
    """Raise unless a saved run was made with exactly this fold's configuration."""
    if saved != run_config:
        differing = sorted(k for k in run_config if saved.get(k) != run_config[k])
        raise ValueError(
            f"cannot resume from {path}: it was made with a different {', '.join(differing)}; "
            "use resume=False or another out_dir"
        )


@dataclass
class _Training:
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

    def save(self, directory: Path, setup: _FoldSetup, improved: bool) -> None:
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

    def restore(self, directory: Path, setup: _FoldSetup) -> None:
        """Continue from ``last.pt``, exactly where it was written. It holds the kept weights
        too, so a crash between writing ``best.pt`` and ``last.pt`` cannot mix two epochs."""
        last = load_checkpoint(directory / LAST)
        _check_resumable(last["run_config"], setup.run_config, directory / LAST)
        self.model.load_state_dict(last["model"])
        self.optimizer.load_state_dict(last["optimizer"])
        self.scheduler.load_state_dict(last["scheduler"])
        restore_rng_states(last["rng"], self.augment_rng, self.shuffle_generator)
        self.history, self.seconds = last["history"], last["seconds"]
        self.best_epoch, self.best_state = last["best_epoch"], last["best_state"]


def fold_dir(out_dir: str | Path, kind: str, test_fold: int) -> Path:
    """Where a fold's checkpoints and result live: ``out_dir/<model>-fold<k>``."""
    return Path(out_dir) / f"{kind}-fold{test_fold}"


@dataclass(eq=False)
class _FoldClips:
    """A fold's three splits, normalised, on the training device."""

    train: ClipTensors
    val: ClipTensors
    test: ClipTensors


def _fold_clips(data: FeatureSet, setup: _FoldSetup, device: torch.device) -> _FoldClips:
    norm = (setup.mean, setup.std)
    true_targets = np.asarray(data.targets, dtype=np.int64)
    return _FoldClips(
        train=clip_tensors(data, setup.train, setup.targets, norm, device),
        val=clip_tensors(data, setup.val, setup.targets, norm, device),
        test=clip_tensors(data, setup.test, true_targets, norm, device),
    )


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
            the result equals an uninterrupted run's. The saved configuration must match.
        progress: report progress: bars on a terminal, one line per epoch elsewhere
        callback: called after every epoch (e.g. live curves); raising from it stops the run
            after that epoch's checkpoint, which ``resume=True`` continues from.
        shuffle_train_labels: the leakage control: permute the train/val labels (seeded).
        teacher_run: with ``train_cfg.distillation`` "hard" or "soft": a finished run on the
            same data whose model for ``test_fold`` teaches the AST's [DIST] head.

    The validation split follows ``data.data_cfg`` (its ``val_fraction`` and ``seed``).
    """
    check_train_config(train_cfg)
    teacher_path = None if teacher_run is None else Path(teacher_run)
    setup = _setup_fold(model_cfg, train_cfg, data, test_fold, shuffle_train_labels, teacher_path)
    directory = fold_dir(out_dir, setup.kind, test_fold) if out_dir is not None else None
    if directory is not None and (directory / FOLD_RESULT).exists():
        if resume:
            saved = json.loads((directory / FOLD_RESULT).read_text())
            _check_resumable(saved["run_config"], setup.run_config, directory / FOLD_RESULT)
            return FoldResult.from_dict(saved["result"])
        (directory / FOLD_RESULT).unlink()  # a fresh run: never leave a stale result behind

    device = resolve_device(train_cfg.device)
    seed_everything(train_cfg.seed)
    model = build_model(setup.kind, setup.model_cfg).to(device)
    teacher = None
    if teacher_path is not None:
        teacher = load_teacher(teacher_path, test_fold, data, (setup.mean, setup.std)).to(device)
    clips = _fold_clips(data, setup, device)
    optimizer = make_optimizer(model, train_cfg)
    steps_per_epoch = clips.train.num_batches(train_cfg.batch_size, drop_last=True)
    state = _Training(
        model=model,
        optimizer=optimizer,
        scheduler=torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: lr_factor(step, steps_per_epoch, train_cfg)
        ),
        augment_rng=np.random.default_rng(train_cfg.seed),
        shuffle_generator=torch.Generator().manual_seed(train_cfg.seed),
        history={k: [] for k in HISTORY_KEYS},
    )
    augment = Augment.from_config(train_cfg, data.num_classes, fill=SPEC_FILL,
                                  rng=state.augment_rng)
    if resume and directory is not None and (directory / LAST).exists():
        state.restore(directory, setup)

    reporter = EpochProgress(f"{setup.kind} fold {test_fold}", train_cfg.epochs,
                             state.epochs_run, enabled=progress)
    with reporter:
        while not state.finished(train_cfg):
            started = time.perf_counter()
            stats = train_epoch(model, clips.train, optimizer, state.scheduler, augment,
                                train_cfg, state.shuffle_generator, progress, teacher)
            val_targets = setup.targets[setup.val]
            val_logits = predict_logits(model, clips.val) if len(clips.val) else None
            val = score(val_logits, val_targets)
            kept = state.record({**stats, "val_loss": val["loss"], "val_acc": val["acc"]},
                                train_cfg.selection)
            state.seconds += time.perf_counter() - started
            if directory is not None:
                state.save(directory, setup, kept)
            reporter.update(state.epochs_run - 1, {**stats, "val_acc": val["acc"]},
                            time.perf_counter() - started)
            if callback is not None:
                history = {k: list(v) for k, v in state.history.items()}  # a copy to keep
                epoch = state.epochs_run - 1
                callback(EpochEnd(setup.kind, setup.test_fold, epoch, history, state.best_epoch))

    result = _test(state, setup, clips.test, data, train_cfg)
    if directory is not None:
        saved = {"run_config": setup.run_config, "result": result.to_dict()}
        save_json(saved, directory / FOLD_RESULT)
    return result


def _test(
    state: _Training, setup: _FoldSetup, test: ClipTensors, data: FeatureSet, cfg: TrainConfig
) -> FoldResult:
    """Evaluate the test fold once, with the kept weights, and assemble the fold's result."""
    started = time.perf_counter()
    state.model.load_state_dict(state.best_state)
    predictions = predict(state.model, test)
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


# --------------------------------------------------------------------------- k folds


def run_configs(
    model_cfg: ModelConfig, train_cfg: TrainConfig, data: FeatureSet
) -> dict[str, dict[str, Any]]:
    """The configs a result depends on, as plain dicts: model (fitted to the data), train,
    and the feature set's fbank and data configs."""
    return {
        "model": dataclasses.asdict(fit_to_data(model_cfg, data)),
        "train": dataclasses.asdict(train_cfg),
        "fbank": dataclasses.asdict(data.fbank),
        "data": dataclasses.asdict(data.data_cfg),
    }


def cross_validate(
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    data: FeatureSet,
    *,
    folds: Optional[Iterable[int]] = None,
    out_dir: Optional[str | Path] = None,
    resume: bool = False,
    progress: bool = True,
    callback: Optional[Callback] = None,
    shuffle_train_labels: bool = False,
    teacher_run: Optional[str | Path] = None,
) -> Results:
    """``train_fold`` for each test fold (default: all of ``data.fold_ids``), aggregated.

    With ``out_dir``, every fold checkpoints into ``out_dir/<model>-fold<k>/`` and the
    results are saved (``Results.save``: JSON, CSV, plots) into ``out_dir``; with
    ``resume=True`` finished folds are read back, not redone, and an interrupted fold continues.
    The shuffled-label control (``shuffle_train_labels=True``) should stay near chance; give
    it its own ``out_dir``. ``teacher_run``: the finished run whose fold-``k`` model teaches
    fold ``k`` (distillation). Other arguments as for ``train_fold``.
    """
    fold_ids = list(data.fold_ids) if folds is None else list(folds)
    unknown = [k for k in fold_ids if k not in data.fold_ids]
    if unknown or not fold_ids:
        raise ValueError(
            f"unknown test fold(s) {unknown or fold_ids}; the data has folds {list(data.fold_ids)}"
        )
    fold_results = [
        train_fold(model_cfg, train_cfg, data, k, out_dir=out_dir, resume=resume, progress=progress,
                   callback=callback, shuffle_train_labels=shuffle_train_labels,
                   teacher_run=teacher_run)
        for k in fold_ids
    ]
    results = Results(
        model=model_kind(model_cfg),
        folds=fold_results,
        class_names=list(data.class_names),
        class_targets=list(data.metadata.class_targets),
        configs=run_configs(model_cfg, train_cfg, data),
        shuffled_labels=shuffle_train_labels,
        seconds=sum(f.seconds for f in fold_results),
    )
    if out_dir is not None:
        results.save(out_dir)
    return results


def config_from_dict(cls: type, fields: dict[str, Any]) -> Any:
    """A config dataclass from its JSON dict (lists back to the tuples JSON turned them into)."""
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})


def evaluate_run(run_dir: str | Path, data: Optional[FeatureSet] = None) -> Results:
    """Re-evaluate a saved run: each fold's ``best.pt`` on its test fold.

    ``data`` defaults to the feature set described by the run's ``results.json`` (its data and
    fbank configs), loaded without downloading. Raises ValueError if the data's classes or a
    test fold's clips differ from those the run was tested on.
    """
    run_dir = Path(run_dir)
    saved = Results.load(run_dir)
    if data is None:
        data = load_dataset(
            config_from_dict(DataConfig, saved.configs["data"]),
            config_from_dict(FbankConfig, saved.configs["fbank"]),
            progress=False,
        )
    if list(data.class_names) != list(saved.class_names):
        raise ValueError(
            f"the data's classes {list(data.class_names)} differ from the run's {saved.class_names}"
        )
    train_cfg = config_from_dict(TrainConfig, saved.configs["train"])
    device = resolve_device(train_cfg.device)
    folds = []
    for fold in saved.folds:
        test = np.flatnonzero(np.asarray(data.folds) == fold.test_fold)
        if not np.array_equal(test, fold.predictions.indices):
            raise ValueError(
                f"test fold {fold.test_fold} holds other clips than the run was tested on"
            )
        model, norm = load_best_model(run_dir, fold.test_fold, saved)
        clips = clip_tensors(data, test, data.targets, norm, device)
        predictions = predict(model.to(device), clips)
        folds.append(dataclasses.replace(fold, predictions=predictions))
    return dataclasses.replace(saved, folds=folds)


def load_best_model(
    run_dir: str | Path, test_fold: int, saved: Optional[Results] = None
) -> tuple[nn.Module, tuple[float, float]]:
    """The best checkpoint of one fold of a saved run, on the CPU, in eval mode, with the
    dataset normalisation ``(mean, std)`` it was trained with. ``saved``: the run's Results,
    if already loaded."""
    saved = Results.load(run_dir) if saved is None else saved
    model_cfg = config_from_dict(MODELS[saved.model][1], saved.configs["model"])
    best = load_checkpoint(fold_dir(run_dir, saved.model, test_fold) / BEST)
    model = build_model(saved.model, model_cfg)
    model.load_state_dict(best["model"])
    return model.eval(), (best["norm_mean"], best["norm_std"])
