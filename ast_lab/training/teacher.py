"""Distillation's teacher: settings that fit together, and a finished run's model per fold."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Optional

from ..config import TrainConfig
from ..data import FeatureSet
from ..distill import Teacher
from ..metrics import Results
from .configs import ModelConfig
from .saved_runs import load_best_model


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
    precision = saved.configs["train"].get("precision", "auto")  # as it was trained
    return Teacher(model, student_norm, teacher_norm, precision)
