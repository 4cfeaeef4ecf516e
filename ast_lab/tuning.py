"""Tuning without a test fold: every choice is scored on validation folds carved from the
training folds, and logged.

For a held-out fold ``h`` (never loaded into any tuning run), the other folds are
cross-validated among themselves: with ESC-10's five folds and ``h = 1``, a variant trains on
three of folds 2-5 and is scored on the fourth. Folds keep recordings together, so a
validation fold shares no source with its training folds, exactly like a test fold. A variant
is a recipe with some settings replaced (``Recipe.with_settings``); each scored variant appends
one row to ``results/tuning/<dataset>.md``, the tuning log the README links. The final 5-fold
numbers come from one later run of the chosen recipes.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from .data import FeatureSet
from .metrics import Results, commit_label
from .recipes import SETTABLE, Recipe, get_recipe, run_with_teacher
from .setting_checks import check_device, check_ranges, check_setting

LOG_HEADER = (
    "| date | recipe | settings | held-out fold | validation folds | validation accuracy "
    "per fold | mean | train min | commit |\n|---|---|---|---|---|---|---|---|---|\n"
)


@dataclass(frozen=True)
class TuningScore:
    """Validation accuracy of one variant on each validation fold."""

    recipe: str
    settings: dict[str, Any]
    held_out: int
    accuracy: dict[int, float]  # validation fold -> accuracy
    minutes: float
    commit: str

    @property
    def mean(self) -> float:
        return mean_accuracy(self.accuracy)

    def row(self) -> str:
        """One markdown row of the tuning log."""
        return markdown_row([
            datetime.date.today().isoformat(), self.recipe, settings_cell(self.settings),
            str(self.held_out), *accuracy_cells(self.accuracy), f"{self.minutes:.1f}",
            self.commit,
        ])


def mean_accuracy(accuracy: dict[int, float]) -> float:
    """The mean of per-fold accuracies ``{fold: accuracy}``."""
    return float(np.mean(list(accuracy.values())))


def settings_cell(settings: dict[str, Any], unchanged: str = "(as named)") -> str:
    """A log cell for a variant's settings: ``"a.b=1, c.d=2"``, or ``unchanged`` for none."""
    return ", ".join(f"{k}={v}" for k, v in settings.items()) or unchanged


def accuracy_cells(accuracy: dict[int, float]) -> list[str]:
    """Three log cells for per-fold accuracies: the folds, each fold's accuracy, the mean."""
    per_fold = ", ".join(f"{k}: {a:.3f}" for k, a in accuracy.items())
    return [",".join(map(str, accuracy)), per_fold, f"{mean_accuracy(accuracy):.3f}"]


def markdown_row(cells: list[str]) -> str:
    """``cells`` as one line of a markdown table."""
    return "| " + " | ".join(cells) + " |\n"


def parse_setting(text: str) -> tuple[str, Any]:
    """``"train.mixup_alpha=0.3"`` -> ``("train.mixup_alpha", 0.3)``; the value is read as a
    Python literal (numbers, tuples, None, True) and kept as a string otherwise."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"a setting is <part>.<field>=<value>, got {text!r}")
    try:
        parsed = ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        parsed = value.strip()
    return key.strip(), parsed


def variant_name(recipe: Recipe) -> str:
    """A folder name for a variant: the recipe's name and a hash of everything it sets, so
    two different variants (or a recipe changed since an earlier run) never share a folder."""
    content = {part: dataclasses.asdict(getattr(recipe, part)) for part in SETTABLE}
    content["clip_seconds"] = recipe.clip_seconds
    text = json.dumps(content, sort_keys=True, default=str)
    return f"{recipe.name}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def variant(recipe_name: str, settings: Optional[dict[str, Any]] = None) -> Recipe:
    """The recipe ``recipe_name`` with ``settings`` replaced (``Recipe.with_settings``).
    ValueError, naming the setting, for an unknown part or field, a value of the wrong type,
    a number out of range, or a device this machine lacks."""
    recipe = get_recipe(recipe_name)
    configs = {part: getattr(recipe, part) for part in SETTABLE}
    for key, value in (settings or {}).items():
        check_setting(configs, key, value)
    changed = recipe.with_settings(dict(settings or {}))
    try:
        check_ranges(changed.model, changed.train)
    except ValueError as err:
        raise ValueError(f"settings {settings_cell(settings or {})}: {err}") from err
    check_device(changed.train.device, option="train.device")
    return changed


def variants(
    recipe_name: str,
    settings: Optional[dict[str, Any]] = None,
    teacher_settings: Optional[dict[str, Any]] = None,
) -> tuple[Recipe, Optional[Recipe]]:
    """The variant of ``recipe_name`` (``settings``) and of its teacher (``teacher_settings``;
    None for a recipe without one), each renamed by ``variant_name``. ValueError for teacher
    settings given to a recipe that has no teacher."""
    recipe = variant(recipe_name, settings)
    recipe = _renamed(recipe, variant_name(recipe))
    if recipe.teacher is None:
        if teacher_settings:
            raise ValueError(f"recipe {recipe_name} has no teacher to apply the teacher "
                             f"settings {settings_cell(teacher_settings)} to")
        return recipe, None
    base = variant(recipe.teacher, teacher_settings)
    teacher = _renamed(base, variant_name(base))
    return _with_teacher(recipe, teacher.name), teacher


def tune(
    recipe_name: str,
    data: FeatureSet,
    *,
    held_out: int,
    val_folds: Optional[Sequence[int]] = None,
    settings: Optional[dict[str, Any]] = None,
    teacher_settings: Optional[dict[str, Any]] = None,
    runs_dir: str | Path = "runs/tuning",
    log: Optional[str | Path] = None,
    resume: bool = True,
    progress: bool = True,
) -> TuningScore:
    """Score recipe ``recipe_name`` with ``settings`` on validation folds, never on ``held_out``.

    ``data`` is the full set; fold ``held_out`` is dropped before anything is trained, and each
    fold of ``val_folds`` (default: all the others) is in turn the validation fold. A recipe
    with a teacher uses the teacher recipe with ``teacher_settings``, trained on the same
    folds first when missing. Runs go to ``runs_dir/<dataset>-without-fold<h>/<variant>``;
    ``log``, if given, gets one row (``TuningScore.row``).
    """
    settings = dict(settings or {})
    recipe, teacher = variants(recipe_name, settings, teacher_settings)
    if data.fbank.raw_hash() != recipe.fbank.raw_hash() or data.clip_seconds != recipe.clip_seconds:
        raise ValueError(
            f"the data's features ({data.fbank}, {data.clip_seconds:g} s) are not the ones "
            f"variant {recipe.name} asks for: load it with load_recipe_data(variant recipe)"
        )
    dev = data.without_fold(held_out)
    folds = list(val_folds) if val_folds else list(dev.fold_ids)
    results = run_with_teacher(recipe, dev, Path(runs_dir) / dev.name / recipe.name,
                               folds=folds, resume=resume, progress=progress,
                               teacher_recipe=teacher)
    score = _score(recipe_name, settings, held_out, results)
    if log is not None:
        append_log(Path(log), score.row())
    return score


def _score(recipe: str, settings: dict[str, Any], held_out: int, results: Results) -> TuningScore:
    accuracy = {f.test_fold: float(f.metrics.scores()["accuracy"]) for f in results.folds}
    return TuningScore(recipe, settings, held_out, accuracy, results.seconds / 60,
                       commit_label(results.version))


def _renamed(recipe: Recipe, name: str) -> Recipe:
    return dataclasses.replace(recipe, name=name)


def _with_teacher(recipe: Recipe, teacher: str) -> Recipe:
    return dataclasses.replace(recipe, teacher=teacher)


LOG_INTRO = "Validation folds only; the held-out fold is never loaded. One row per scored variant."


def append_log(log: Path, row: str, header: str = LOG_HEADER, intro: str = LOG_INTRO) -> None:
    """Append one markdown ``row`` to the tuning log ``log``, writing its title, ``intro`` and
    table ``header`` first if the file is new."""
    log.parent.mkdir(parents=True, exist_ok=True)
    if not log.exists():
        log.write_text(f"# Tuning log: {log.stem}\n\n{intro}\n\n{header}")
    with log.open("a") as fh:
        fh.write(row)
