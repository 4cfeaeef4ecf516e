"""A run's configs: the model kind, fitted to the data; the device; checks; JSON dicts."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Optional, Union

import torch

from ..config import ASTConfig, CNNConfig, TrainConfig
from ..data import FeatureSet
from ..distill import DISTILLATIONS
from ..models import MODELS
from ..precision import PRECISIONS
from .data_identity import data_fingerprint
from .optimizer import OPTIMIZERS, SCHEDULES

ModelConfig = Union[ASTConfig, CNNConfig]
SELECTIONS = ("best_val", "last")
MINIMUMS = {  # TrainConfig field -> smallest value a run can use
    "epochs": 1, "batch_size": 2, "patience": 1, "warmup_epochs": 0, "mixup_alpha": 0,
    "freq_mask": 0, "time_mask": 0, "time_shift": 0, "crop_frames": 0,
}


def model_kind(cfg: ModelConfig) -> str:
    """``"ast"`` or ``"cnn"``, from the config's type."""
    for name, (_, cfg_cls) in MODELS.items():
        if isinstance(cfg, cfg_cls):
            return name
    raise TypeError(f"no model is configured by a {type(cfg).__name__}")


def fit_to_data(cfg: ModelConfig, data: FeatureSet, crop_frames: int = 0) -> ModelConfig:
    """The config with ``num_classes`` (and for the AST the input size) taken from the data;
    an AST trained on crops (``TrainConfig.crop_frames`` > 0) takes crops that wide."""
    if isinstance(cfg, ASTConfig):
        frames = crop_frames or data.n_frames
        return dataclasses.replace(
            cfg, num_classes=data.num_classes, n_mels=data.n_mels, n_frames=frames
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
    if cfg.optimizer not in OPTIMIZERS:
        problems.append(f"unknown optimizer {cfg.optimizer!r}; choose one of {OPTIMIZERS}")
    if len(cfg.betas) != 2 or not all(0 <= b < 1 for b in cfg.betas):
        problems.append(f"betas must be two numbers in [0, 1), got {cfg.betas}")
    if cfg.norm_stats is not None and (len(cfg.norm_stats) != 2 or not cfg.norm_stats[1] > 0):
        problems.append(f"norm_stats must be (mean, std) with std > 0, got {cfg.norm_stats}")
    if not cfg.norm_scale > 0:
        problems.append(f"norm_scale must be > 0, got {cfg.norm_scale}")
    if cfg.selection not in SELECTIONS:
        problems.append(f"unknown selection {cfg.selection!r}; choose one of {SELECTIONS}")
    if cfg.distillation not in DISTILLATIONS:
        problems.append(
            f"unknown distillation {cfg.distillation!r}; choose one of {DISTILLATIONS}"
        )
    if cfg.precision not in PRECISIONS:
        problems.append(f"unknown precision {cfg.precision!r}; choose one of {PRECISIONS}")
    if cfg.crop_frames and cfg.test_crops < 1:
        problems.append(f"test_crops must be >= 1, got {cfg.test_crops}")
    if not cfg.gain_db >= 0:
        problems.append(f"gain_db must be >= 0, got {cfg.gain_db}")
    if not cfg.lr > 0:
        problems.append(f"lr must be > 0, got {cfg.lr}")
    if not cfg.distill_temperature > 0:
        problems.append(f"distill_temperature must be > 0, got {cfg.distill_temperature}")
    if not 0 <= cfg.label_smoothing < 1:
        problems.append(f"label_smoothing must be in [0, 1), got {cfg.label_smoothing}")
    if problems:
        raise ValueError("TrainConfig: " + "; ".join(problems))


def run_configs(
    model_cfg: ModelConfig, train_cfg: TrainConfig, data: FeatureSet, init: Optional[Path] = None
) -> dict[str, Any]:
    """The configs a result depends on, as plain dicts: model (fitted to the data), train,
    the feature set's fbank and data configs (its root absolute: where the run found the
    data, whatever the current directory), the data's fingerprint (``data_identity``) and the
    pretrained checkpoint every fold started from (absolute; None: random weights)."""
    return {
        "model": dataclasses.asdict(fit_to_data(model_cfg, data, train_cfg.crop_frames)),
        "train": dataclasses.asdict(train_cfg),
        "fbank": dataclasses.asdict(data.fbank),
        "data": {**dataclasses.asdict(data.data_cfg),
                 "root": str(Path(data.metadata.root).resolve())},
        "data_fingerprint": data_fingerprint(data),
        "init": None if init is None else str(init.resolve()),
    }


def config_from_dict(cls: type, fields: dict[str, Any]) -> Any:
    """A config dataclass from its JSON dict (lists back to the tuples JSON turned them into)."""
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})
