"""k-fold cross-validation: ``train_fold`` for every test fold, aggregated into ``Results``."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional

from ..config import TrainConfig
from ..data import FeatureSet
from ..metrics import Results
from .configs import ModelConfig, model_kind, run_configs
from .distributed import barrier, current_world, fold_share, gather
from .fold import Callback, train_fold


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
    parallel: str = "folds",
) -> Results:
    """``train_fold`` for each test fold (default: all of ``data.fold_ids``), aggregated.

    With ``out_dir``, every fold checkpoints into ``out_dir/<model>-fold<k>/`` and the
    results are saved (``Results.save``: JSON, CSV, plots) into ``out_dir``; with
    ``resume=True`` finished folds are read back, not redone, and an interrupted fold continues.
    The shuffled-label control (``shuffle_train_labels=True``) should stay near chance; give
    it its own ``out_dir``. ``teacher_run``: the finished run whose fold-``k`` model teaches
    fold ``k`` (distillation). Other arguments as for ``train_fold``.

    Under torchrun (``training.distributed``), ``parallel="folds"`` shares the test folds out
    among the ranks and gathers their results; ``"data"`` trains each fold on all ranks. Either
    way every rank returns the same ``Results``, and rank 0 alone saves them.
    """
    fold_ids = list(data.fold_ids) if folds is None else list(folds)
    unknown = [k for k in fold_ids if k not in data.fold_ids]
    if unknown or not fold_ids:
        raise ValueError(
            f"unknown test fold(s) {unknown or fold_ids}; the data has folds {list(data.fold_ids)}"
        )
    world = current_world()
    mine = fold_share(fold_ids, world) if parallel == "folds" else fold_ids
    fold_results = [
        train_fold(model_cfg, train_cfg, data, k, out_dir=out_dir, resume=resume, progress=progress,
                   callback=callback, shuffle_train_labels=shuffle_train_labels,
                   teacher_run=teacher_run, parallel=parallel)
        for k in mine
    ]
    if parallel == "folds":  # every rank's folds, in the order asked for
        by_fold = {r.test_fold: r for part in gather(fold_results, world) for r in part}
        fold_results = [by_fold[k] for k in fold_ids]
    results = Results(
        model=model_kind(model_cfg),
        folds=fold_results,
        class_names=list(data.class_names),
        class_targets=list(data.metadata.class_targets),
        configs=run_configs(model_cfg, train_cfg, data),
        shuffled_labels=shuffle_train_labels,
        seconds=sum(f.seconds for f in fold_results),
    )
    if out_dir is not None and world.is_main:
        results.save(out_dir)
    barrier(world)  # nobody reads the run folder before it is complete
    return results
