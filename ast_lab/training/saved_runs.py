"""A run's folder: where each fold's files live, and a finished run's models read back."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any, Optional

import numpy as np
from torch import nn

from ..atomic_files import load_json
from ..checkpoint import load_checkpoint
from ..config import DataConfig, FbankConfig, TrainConfig
from ..data import FeatureSet, clip_tensors, load_dataset
from ..metrics import Results
from ..models import MODELS, build_model
from .configs import config_from_dict, resolve_device
from .data_identity import check_same_data
from .evaluation import predict

FOLD_RESULT = "fold_result.json"
LAST, BEST = "last.pt", "best.pt"
FOLD_DIR = re.compile(r"(?P<kind>[a-z]+)-fold(?P<fold>\d+)")


def fold_dir(out_dir: str | Path, kind: str, test_fold: int) -> Path:
    """Where a fold's checkpoints and result live: ``out_dir/<model>-fold<k>``."""
    return Path(out_dir) / f"{kind}-fold{test_fold}"


def fold_dirs(out_dir: str | Path) -> list[tuple[str, int, Path]]:
    """``(model, test fold, folder)`` of every fold folder in ``out_dir``, whatever its model."""
    found = []
    for directory in sorted(Path(out_dir).glob("*-fold*")):
        match = FOLD_DIR.fullmatch(directory.name)
        if match and match["kind"] in MODELS and directory.is_dir():
            found.append((match["kind"], int(match["fold"]), directory))
    return found


def read_fold_result(directory: Path) -> dict[str, Any]:
    """A finished fold's ``fold_result.json``: its ``run_config`` and ``result``. Raises
    ValueError naming the file when it is damaged."""
    fix = f"remove {directory} and run again with --resume to retrain that fold"
    return load_json(directory / FOLD_RESULT, fix)


def evaluate_run(run_dir: str | Path, data: Optional[FeatureSet] = None) -> Results:
    """Re-evaluate a saved run: each fold's ``best.pt`` on its test fold.

    ``data`` defaults to the feature set described by the run's ``results.json`` (its data and
    fbank configs; the root the run recorded, absolute since runs record it so), loaded without
    downloading. Raises ValueError if the data is not the data the run trained on (its
    fingerprint, ``data_identity``; a run too old to have one gets a warning), or if its
    classes or a test fold's clips differ from those the run was tested on.
    """
    run_dir = Path(run_dir)
    saved = Results.load(run_dir)
    if data is None:
        data = load_dataset(
            config_from_dict(DataConfig, saved.configs["data"]),
            config_from_dict(FbankConfig, saved.configs["fbank"]),
            progress=False,
        )
    check_same_data(run_dir, saved.configs.get("data_fingerprint"),
                    (saved.configs.get("data") or {}).get("root"), data)
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
        predictions = predict(model.to(device), clips, train_cfg)
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
