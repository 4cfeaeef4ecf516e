"""A fold before training: its split, labels, normalisation, run config and device clips."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from ..config import TrainConfig
from ..data import ClipTensors, FeatureSet, clip_tensors, fold_split, train_stats
from .configs import ModelConfig, fit_to_data, model_kind
from .data_identity import data_fingerprint
from .pretrained_init import pretrained_config
from .teacher import check_distillation


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


@dataclass
class FoldSetup:
    """Everything about a fold that follows from the configs and the data, before training."""

    kind: str
    test_fold: int
    model_cfg: ModelConfig
    train: np.ndarray  # clip indices
    val: np.ndarray
    test: np.ndarray
    targets: np.ndarray  # (n_clips,) labels used for train/val (shuffled in the control)
    mean: float  # what the inputs are normalised by: (x - mean) / std
    std: float  # the features' std times ``TrainConfig.norm_scale``
    run_config: dict[str, Any]  # run_settings and the test fold: what a checkpoint must match


def run_settings(
    fitted: ModelConfig,
    train_cfg: TrainConfig,
    data: FeatureSet,
    shuffle_train_labels: bool,
    teacher_run: Optional[Path],
    init: Optional[Path] = None,
) -> dict[str, Any]:
    """What every fold of a run shares and a saved fold must match to be resumed or joined:
    model and train configs (``fitted`` to the data), the data (settings and fingerprint),
    the shuffled-label control, the teacher and the pretrained weights every fold starts from.
    JSON-normalised (tuples -> lists)."""
    data_cfg = data.data_cfg
    return json.loads(json.dumps({
        "model": model_kind(fitted),
        "model_config": dataclasses.asdict(fitted),
        "train_config": dataclasses.asdict(train_cfg),
        "shuffle_train_labels": shuffle_train_labels,
        "data": {"name": data.name, "n_clips": len(data), "class_names": list(data.class_names),
                 "fbank": dataclasses.asdict(data.fbank), "clip_seconds": data.clip_seconds,
                 "val_fraction": data_cfg.val_fraction, "split_seed": data_cfg.seed,
                 "fingerprint": data_fingerprint(data)},
        "teacher_run": None if teacher_run is None else str(teacher_run.resolve()),
        "init": None if init is None else str(init.resolve()),
    }))


def fitted_config(
    model_cfg: ModelConfig, train_cfg: TrainConfig, data: FeatureSet, init: Optional[Path]
) -> ModelConfig:
    """The model config a run on ``data`` trains: fitted to the data (``fit_to_data``) and,
    starting from the checkpoint ``init``, checked against it with its conventions taken
    (``pretrained_init.pretrained_config``)."""
    fitted = fit_to_data(model_cfg, data, train_cfg.crop_frames)
    return fitted if init is None else pretrained_config(fitted, init)


def fold_norm(
    data: FeatureSet, train: np.ndarray, cfg: TrainConfig, test_fold: int
) -> tuple[float, float]:
    """``(mean, std)`` the fold's inputs are normalised by: ``cfg.norm_stats`` or else the
    training clips' own (``data.train_stats``), the std times ``cfg.norm_scale``. ValueError
    when the training clips all have the same features."""
    mean, std = cfg.norm_stats or train_stats(data, train)
    if not std > 0:
        raise ValueError(
            f"the training clips of test fold {test_fold} all have the same features "
            f"({mean:.3g} everywhere): is the audio of {data.metadata.root} silent?"
        )
    return float(mean), float(std) * cfg.norm_scale


def setup_fold(
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    data: FeatureSet,
    test_fold: int,
    shuffle_train_labels: bool,
    teacher_run: Optional[Path],
    init: Optional[Path] = None,
) -> FoldSetup:
    """The fold's ``FoldSetup``. Raises ValueError for an unknown test fold, a missing
    validation split (with ``selection="best_val"``), training clips whose features are all the
    same, distillation settings that do not fit (``check_distillation``), or a model that does
    not fit the checkpoint ``init`` (``pretrained_init``)."""
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
    mean, std = fold_norm(data, split.train, train_cfg, test_fold)
    if train_cfg.crop_frames > data.n_frames:
        raise ValueError(f"crop_frames={train_cfg.crop_frames} is wider than the clips' "
                         f"{data.n_frames} frames")
    fitted = fitted_config(model_cfg, train_cfg, data, init)
    kind = model_kind(fitted)
    check_distillation(fitted, train_cfg, teacher_run)
    settings = run_settings(fitted, train_cfg, data, shuffle_train_labels, teacher_run, init)
    run_config = {**settings, "test_fold": int(test_fold)}
    targets = training_targets(data, split.train, split.val, shuffle_train_labels, train_cfg.seed)
    return FoldSetup(
        kind=kind,
        test_fold=int(test_fold),
        model_cfg=fitted,
        train=split.train,
        val=split.val,
        test=split.test,
        targets=targets,
        mean=mean,
        std=std,
        run_config=run_config,
    )


@dataclass(eq=False)
class FoldClips:
    """A fold's three splits, normalised, on the training device."""

    train: ClipTensors
    val: ClipTensors
    test: ClipTensors


def fold_clips(data: FeatureSet, setup: FoldSetup, device: torch.device) -> FoldClips:
    """The fold's splits normalised with its training statistics, on ``device``; the test
    split keeps its true labels (the shuffled-label control permutes train/val only)."""
    norm = (setup.mean, setup.std)
    true_targets = np.asarray(data.targets, dtype=np.int64)
    return FoldClips(
        train=clip_tensors(data, setup.train, setup.targets, norm, device),
        val=clip_tensors(data, setup.val, setup.targets, norm, device),
        test=clip_tensors(data, setup.test, true_targets, norm, device),
    )
