"""k-fold cross-validation: ``train_fold`` for every test fold, aggregated into ``Results``."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Iterable, Optional

from ..config import TrainConfig
from ..data import FeatureSet
from ..metrics import Results
from .configs import ModelConfig, model_kind, run_configs
from .distributed import barrier, current_world, fold_share, gather
from .fold import Callback, train_fold
from .fold_setup import fitted_config, run_settings
from .run_folder import claimed_run_folder, earlier_folds


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
    init: Optional[str | Path] = None,
) -> Results:
    """``train_fold`` for each test fold (default: all of ``data.fold_ids``), aggregated.

    With ``out_dir``, every fold checkpoints into ``out_dir/<model>-fold<k>/`` and the
    results are saved (``Results.save``: JSON, CSV, plots) into ``out_dir``; with
    ``resume=True`` finished folds are read back, not redone, and an interrupted fold continues.
    The folder belongs to this run while it trains (``run_folder``): it is refused when it is a
    file, when a live run holds its lock, or when it holds folds trained with other settings
    (resumed or not); finished folds of the same settings that are not asked for now stay in
    the results, after the asked ones, so that ``results.json`` describes every finished fold
    beside it. Test folds that the data lacks, or that repeat, are refused.
    The shuffled-label control (``shuffle_train_labels=True``) should stay near chance; give
    it its own ``out_dir``. ``teacher_run``: the finished run whose fold-``k`` model teaches
    fold ``k`` (distillation). ``init``: the pretrained checkpoint every fold starts from
    (``train_fold``); the model config is checked against it first. Other arguments as for
    ``train_fold``.

    Under torchrun (``training.distributed``), ``parallel="folds"`` shares the test folds out
    among the ranks and gathers their results; ``"data"`` trains each fold on all ranks. Either
    way every rank returns the same ``Results``, and rank 0 alone saves them.
    """
    fold_ids = checked_folds(data, folds)
    world = current_world()
    out = None if out_dir is None else Path(out_dir)
    teacher_path = None if teacher_run is None else Path(teacher_run)
    init_path = None if init is None else Path(init)
    model_cfg = fitted_config(model_cfg, train_cfg, data, init_path)  # checked before training
    claim = contextlib.nullcontext()
    if out is not None:
        settings = run_settings(model_cfg, train_cfg, data, shuffle_train_labels, teacher_path,
                                init_path)
        claim = claimed_run_folder(out, settings, resume, world)
    with claim:
        earlier = [] if out is None else earlier_folds(out, model_kind(model_cfg), fold_ids)
        if earlier and world.is_main:
            print(f"note: the results also cover fold(s) {[f.test_fold for f in earlier]}, "
                  f"finished earlier in {out} with the same settings", file=sys.stderr)
        mine = fold_share(fold_ids, world) if parallel == "folds" else fold_ids
        fold_results = [
            train_fold(model_cfg, train_cfg, data, k, out_dir=out, resume=resume,
                       progress=progress, callback=callback,
                       shuffle_train_labels=shuffle_train_labels, teacher_run=teacher_path,
                       parallel=parallel, init=init_path)
            for k in mine
        ]
        if parallel == "folds":  # every rank's folds, in the order asked for
            by_fold = {r.test_fold: r for part in gather(fold_results, world) for r in part}
            fold_results = [by_fold[k] for k in fold_ids]
        results = Results(
            model=model_kind(model_cfg),
            folds=fold_results + earlier,
            class_names=list(data.class_names),
            class_targets=list(data.metadata.class_targets),
            configs=run_configs(model_cfg, train_cfg, data, init_path),
            shuffled_labels=shuffle_train_labels,
            seconds=sum(f.seconds for f in fold_results + earlier),
        )
        if out is not None and world.is_main:
            results.save(out)
        barrier(world)  # nobody reads the run folder before it is complete
    return results


def checked_folds(data: FeatureSet, folds: Optional[Iterable[int]]) -> list[int]:
    """The test folds to run: ``folds``, or every fold of ``data``. Raises ValueError naming
    the folds that the data does not have, or that are asked for more than once."""
    fold_ids = list(data.fold_ids) if folds is None else list(folds)
    unknown = [k for k in fold_ids if k not in data.fold_ids]
    if unknown or not fold_ids:
        raise ValueError(
            f"unknown test fold(s) {unknown or fold_ids}; the data has folds {list(data.fold_ids)}"
        )
    repeated = sorted({k for k in fold_ids if fold_ids.count(k) > 1})
    if repeated:
        raise ValueError(
            f"test fold(s) {repeated} asked for more than once in {fold_ids}; each fold is "
            "tested once"
        )
    return fold_ids
