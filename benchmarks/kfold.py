"""k-fold cross-validation of a named recipe on a dataset, recorded in ``results/<dataset>.md``.

    python benchmarks/kfold.py --recipe cnn --data folder --root ../shared/fsdd
    python benchmarks/kfold.py --recipe ast-distilled --data folder --root ../shared/fsdd
    python benchmarks/kfold.py --recipe esc50-ast-distilled --data esc50 --download

Each run trains into ``runs/<dataset>/<recipe>/`` (checkpoints per fold; ``--resume`` continues
an interrupted run), copies its results (``results.json``/``.csv``, learning curves, confusion
matrix, per-class F1, a gallery of misclassified clips) into ``results/<dataset>/<recipe>/``,
and appends one row to ``results/<dataset>.md``: accuracy and macro precision/recall/F1 as
mean ± sample std over the folds, training time, device and the code's commit. A recipe with a
teacher (``ast-distilled``) uses the teacher recipe's run in ``runs/<dataset>/<teacher>/``,
training it first (and recording its row too) when it is missing.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from ast_lab.cli import parse_folds  # noqa: E402
from ast_lab.data import FeatureSet  # noqa: E402
from ast_lab.metrics import METRICS, Results, format_mean_std  # noqa: E402
from ast_lab.plotting import plot_misclassified  # noqa: E402
from ast_lab.recipes import RECIPES, Recipe, get_recipe, load_recipe_data, run_recipe  # noqa: E402
from ast_lab.training import resolve_device  # noqa: E402

COPIED = ("results.json", "results.csv", "learning_curves.png", "confusion_matrix.png",
          "per_class_f1.png")
TABLE_HEADER = (
    "| date | recipe | model | folds | accuracy | macro precision | macro recall | macro F1 "
    "| train min | device | commit |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|\n"
)


def device_name(device: str) -> str:
    """What ran the training: the GPU's name, or the CPU with its thread count."""
    resolved = resolve_device(device)
    if resolved.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(resolved)})"
    cpu = platform.processor() or platform.machine()
    return f"cpu ({torch.get_num_threads()} threads, {cpu})"


def results_row(recipe: Recipe, results: Results, device: str) -> str:
    """One markdown row of ``results/<dataset>.md`` for a finished run."""
    summary = results.summary()
    version = results.version
    commit = (version.get("git_commit") or "unknown")[:10]
    if version.get("git_dirty"):
        commit += " (uncommitted changes)"
    cells = [
        datetime.date.today().isoformat(), recipe.name, results.label,
        str(len(results.folds)), *(format_mean_std(*summary[m]) for m in METRICS),
        f"{results.seconds / 60:.1f}", device, commit,
    ]
    return "| " + " | ".join(cells) + " |\n"


def append_row(table: Path, row: str) -> None:
    """Append ``row`` to the markdown table ``table``, writing its header first if new."""
    table.parent.mkdir(parents=True, exist_ok=True)
    if not table.exists():
        table.write_text(f"# k-fold results: {table.stem}\n\n" + TABLE_HEADER)
    with table.open("a") as fh:
        fh.write(row)


def save_gallery(results: Results, data: FeatureSet, path: Path) -> None:
    """The most confident mistakes as spectrograms (nothing written when every clip is right)."""
    wrong = results.misclassified()
    if not wrong:
        return
    fig = plot_misclassified(data.features, wrong, data.class_names,
                             hop_length=data.fbank.hop_length, sample_rate=data.fbank.sample_rate)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)


def publish(run_dir: Path, results: Results, data: FeatureSet, dest: Path) -> None:
    """Copy a run's results (not its checkpoints) into ``dest``, with the gallery."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        shutil.copy2(run_dir / name, dest / name)
    save_gallery(results, data, dest / "misclassified.png")


def run_and_record(
    name: str, data: FeatureSet, runs_dir: Path, results_dir: Path, *,
    folds: Optional[list[int]], overrides: dict, resume: bool, progress: bool,
) -> Results:
    """Run recipe ``name`` with ``overrides`` (``Recipe.with_overrides``) and, first, its
    teacher if that has no finished run; record each in ``results_dir``."""
    recipe = get_recipe(name).with_overrides(**overrides)
    teacher_run = None
    if recipe.teacher is not None:
        teacher_run = runs_dir / recipe.teacher
        if not _finished(teacher_run, folds or list(data.fold_ids)):
            print(f"training the teacher first: recipe {recipe.teacher!r} -> {teacher_run}")
            run_and_record(recipe.teacher, data, runs_dir, results_dir, folds=folds,
                           overrides=overrides, resume=resume, progress=progress)
    run_dir = runs_dir / recipe.name
    results = run_recipe(recipe, data, run_dir, folds=folds, teacher_run=teacher_run,
                         resume=resume, progress=progress)
    publish(run_dir, results, data, results_dir / data.name / recipe.name)
    append_row(results_dir / f"{data.name}.md",
               results_row(recipe, results, device_name(recipe.train.device)))
    print(results.table())
    return results


def _finished(run_dir: Path, folds: Sequence[int]) -> bool:
    """Whether ``run_dir`` holds a finished run covering ``folds``."""
    if not (run_dir / "results.json").is_file():
        return False
    return set(folds) <= set(Results.load(run_dir).fold_ids)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipe", required=True, choices=sorted(RECIPES),
                        help="; ".join(f"{r.name}: {r.summary}" for r in RECIPES.values()))
    parser.add_argument("--data", choices=("esc50", "folder", "synthetic"), required=True,
                        help="esc50 (downloaded or --root), any ESC-50-layout folder, or the "
                        "built-in set")
    parser.add_argument("--root", help="the dataset folder (required for --data folder)")
    parser.add_argument("--download", action="store_true", help="download ESC-50 if missing")
    parser.add_argument("--folds", type=parse_folds,
                        help="test folds to run, e.g. 1,2 (default: all)")
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs (smoke runs)")
    parser.add_argument("--device", help="override the device: auto, cpu, cuda")
    parser.add_argument("--runs", default="runs", help="where checkpoints go (default: runs)")
    parser.add_argument("--results", default="results",
                        help="where results and the table go (default: results)")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if args.data == "folder" and not args.root:
        print("error: --data folder needs --root PATH (a folder with meta/esc50.csv and audio/)",
              file=sys.stderr)
        return 2
    overrides = {"epochs": args.epochs, "device": args.device}
    progress = not args.no_progress
    started = time.perf_counter()
    try:
        data = load_recipe_data(get_recipe(args.recipe), args.data, args.root,
                                download=args.download, progress=progress)
        run_and_record(args.recipe, data, Path(args.runs) / data.name, Path(args.results),
                       folds=args.folds, overrides=overrides, resume=args.resume, progress=progress)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"done in {(time.perf_counter() - started) / 60:.1f} min; table: "
          f"{Path(args.results) / (data.name + '.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
