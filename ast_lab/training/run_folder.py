"""A run folder belongs to one run: one writer at a time, one model, one set of settings.

``cross_validate`` claims its folder before it trains (``claimed_run_folder``): ``--out`` must
be a folder, no live run may hold it (``run_lock``), and every fold folder already in it must
have been trained with this run's settings (``run_settings``: model, configs, data and its
fingerprint, teacher). So ``--resume`` with other settings, and a fresh run into another run's
folder, are refused with the settings that differ, instead of mixing two runs' checkpoints; a
re-run with identical settings (``ast-lab demo`` twice) overwrites what it trains again. The
finished folds of the same run that are not trained again stay part of it
(``earlier_folds``), so ``results.json`` describes every finished fold beside it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

from ..checkpoint import load_checkpoint
from ..config import TrainConfig
from ..metrics import FoldResult
from ..models import MODELS
from .distributed import World, from_main
from .run_lock import run_lock
from .saved_runs import BEST, FOLD_RESULT, LAST, fold_dirs, read_fold_result

MAX_NAMED = 5  # differing settings (or classes) named in a message before "and N more"


def check_out_folder(out_dir: Path) -> None:
    """Raise ValueError if ``out_dir`` exists and is not a folder."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(
            f"--out {out_dir} is a file, not a folder: choose a folder (it is created if missing)"
        )


def saved_settings(directory: Path) -> Optional[dict[str, Any]]:
    """The ``run_config`` a fold folder was trained with, from its ``fold_result.json``, else
    its ``last.pt``, else its ``best.pt``; None for a folder holding none of them."""
    if (directory / FOLD_RESULT).is_file():
        return read_fold_result(directory)["run_config"]
    for name in (LAST, BEST):
        if (directory / name).is_file():
            return load_checkpoint(directory / name, lazy=True)["run_config"]
    return None


def setting_changes(saved: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """Each of ``expected``'s settings that ``saved`` has otherwise, as "name old -> new" (or
    "name (inner changes)" for a group). A data fingerprint missing from a run saved before
    fingerprints existed is not a difference, nor is a train or model config field added to
    the code since, at its default (the behaviour the code had before the field existed)."""
    configs = {"train_config": TrainConfig,
               "model_config": MODELS.get(saved.get("model"), (None, None))[1]}
    changes = []
    for key, new in expected.items():
        old = saved.get(key)
        if key == "data" and isinstance(old, dict) and "fingerprint" not in old:
            new = {k: v for k, v in new.items() if k != "fingerprint"}
        if configs.get(key) is not None and isinstance(old, dict):
            defaults = recorded_defaults(configs[key])
            new = {k: v for k, v in new.items() if k in old or v != defaults.get(k)}
        if old != new:
            changes.append(_change(key, old, new))
    return changes


def recorded_defaults(cls: type) -> dict[str, Any]:
    """The default config ``cls()`` as runs record it (JSON: tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(cls())))


def _change(key: str, old: Any, new: Any) -> str:
    """One setting's change in words, naming the inner settings of a group that differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        inner = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
        return f"{key} ({_listed([_change(k, old.get(k), new.get(k)) for k in inner])})"
    if len(repr(old)) + len(repr(new)) > 60:  # digests, long lists: the name says enough
        return key
    return f"{key} {old!r} -> {new!r}"


def _listed(items: list[str]) -> str:
    """``items`` joined by commas, the first ``MAX_NAMED`` of them."""
    more = f", and {len(items) - MAX_NAMED} more" if len(items) > MAX_NAMED else ""
    return ", ".join(items[:MAX_NAMED]) + more


def check_fold_settings(directory: Path, expected: dict[str, Any], resume: bool) -> None:
    """Raise ValueError, naming the folder and the settings that differ, unless the fold
    folder holds nothing yet or was trained with ``expected`` settings."""
    saved = saved_settings(directory)
    changes = [] if saved is None else setting_changes(saved, expected)
    if not changes:
        return
    run_dir, what = directory.parent, f"{directory.name} was trained with other settings"
    if resume:
        raise ValueError(
            f"cannot resume in {run_dir}: {what} ({_listed(changes)}); resume with the "
            "settings it was made with, or train into another --out"
        )
    raise ValueError(
        f"{run_dir} holds another run: {what} ({_listed(changes)}); train into another "
        f"--out, or remove {run_dir} to replace that run"
    )


def check_run_folder(out_dir: Path, settings: dict[str, Any], resume: bool) -> None:
    """Raise ValueError unless every fold folder in ``out_dir`` has this run's ``settings``."""
    for _, _, directory in fold_dirs(out_dir):
        check_fold_settings(directory, settings, resume)


@contextlib.contextmanager
def claimed_run_folder(
    out_dir: Path, settings: dict[str, Any], resume: bool, world: World
) -> Iterator[None]:
    """Hold ``out_dir`` for the block: check that it is a folder, lock it, check that what it
    holds is this run's (``check_run_folder``); the lock is released on the way out, also on an
    exception. Under torchrun rank 0 claims it and every rank raises its refusal alike."""
    with contextlib.ExitStack() as held:
        refusal: Optional[ValueError] = None
        if world.is_main:
            try:
                check_out_folder(out_dir)
                out_dir.mkdir(parents=True, exist_ok=True)
                held.enter_context(run_lock(out_dir))
                check_run_folder(out_dir, settings, resume)
            except ValueError as err:
                refusal = err
        message = from_main(None if refusal is None else str(refusal), world)
        if refusal is not None:
            raise refusal
        if message is not None:
            raise ValueError(message)
        yield


def earlier_folds(out_dir: Path, kind: str, fold_ids: Sequence[int]) -> list[FoldResult]:
    """The finished folds of this run in ``out_dir`` that are not in ``fold_ids`` (trained by
    an earlier call with the same settings, which ``check_run_folder`` made sure of), by fold."""
    return [
        FoldResult.from_dict(read_fold_result(directory)["result"])
        for model, fold, directory in sorted(fold_dirs(out_dir), key=lambda found: found[1])
        if model == kind and fold not in fold_ids and (directory / FOLD_RESULT).is_file()
    ]
