"""k-fold cross-validation of a named recipe on a dataset, recorded in ``results/<dataset>.md``.

    python benchmarks/kfold.py --recipe cnn --data folder --root ../shared/fsdd
    python benchmarks/kfold.py --recipe ast-distilled --data folder --root ../shared/fsdd
    python benchmarks/kfold.py --recipe esc50-ast-distilled --data esc50 --download

It takes exactly the options of ``ast-lab train --recipe`` and runs the same code
(``ast_lab.cli.train_recipe``); what it adds is the record. Each run trains into
``runs/<dataset>/<recipe>/`` (checkpoints per fold; ``--resume`` continues an interrupted run),
copies its results (``results.json``/``.csv``, learning curves, confusion
matrix, per-class F1, a gallery of misclassified clips) into ``results/<dataset>/<recipe>/``,
and appends one row to ``results/<dataset>.md``: accuracy and macro precision/recall/F1 as
mean ± sample std over the folds, training time, device and the code's commit. A recipe with a
teacher (``ast-distilled``) uses the teacher recipe's run beside it, training it first (and
recording its row too) when it is missing.
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

from ast_lab.cli import add_train_arguments, train_recipe  # noqa: E402
from ast_lab.data import DownloadError, FeatureSet  # noqa: E402
from ast_lab.metrics import METRICS, Results, commit_label, format_mean_std  # noqa: E402
from ast_lab.plotting import plot_misclassified  # noqa: E402
from ast_lab.recipes import Recipe, RunFinished  # noqa: E402
from ast_lab.training import current_world, join_world, resolve_device  # noqa: E402

COPIED = ("results.json", "results.csv", "learning_curves.png", "confusion_matrix.png",
          "per_class_f1.png")
TABLE_HEADER = (
    "| date | recipe | model | folds | accuracy | macro precision | macro recall | macro F1 "
    "| train min | device | commit |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|\n"
)


def device_name(device: str) -> str:
    """What ran the training: the GPU's name, or the CPU with its thread count, and the
    number of processes under torchrun."""
    resolved = resolve_device(device)
    if resolved.type == "cuda":
        name = f"cuda ({torch.cuda.get_device_name(resolved)})"
    else:
        name = f"cpu ({torch.get_num_threads()} threads, {platform.processor() or platform.machine()})"
    world = current_world()
    return f"{world.size} x {name}" if world.distributed else name


def results_row(recipe: Recipe, results: Results, device: str) -> str:
    """One markdown row of ``results/<dataset>.md`` for a finished run."""
    summary = results.summary()
    cells = [
        datetime.date.today().isoformat(), recipe.name, results.label,
        str(len(results.folds)), *(format_mean_std(*summary[m]) for m in METRICS),
        f"{results.seconds / 60:.1f}", device, commit_label(results.version),
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


def recorder(results_dir: Path, tables: list[Path]) -> RunFinished:
    """The ``on_finished`` callback that publishes a finished run, appends its row and adds
    the table's path to ``tables``."""

    def record(recipe: Recipe, results: Results, run_dir: Path, data: FeatureSet) -> None:
        publish(run_dir, results, data, results_dir / data.name / recipe.name)
        append_row(results_dir / f"{data.name}.md",
                   results_row(recipe, results, device_name(recipe.train.device)))
        tables.append(results_dir / f"{data.name}.md")
        print(results.table())

    return record


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_train_arguments(parser)
    parser.add_argument("--results", type=Path, default=Path("results"),
                        help="where results and the table go (default: results)")
    args = parser.parse_args(argv)
    if args.recipe is None:
        parser.error("a row records a named recipe: pass --recipe NAME")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    recorded: list[Path] = []
    world = join_world(args.device or "auto")
    try:
        train_recipe(args, on_finished=recorder(args.results, recorded), world=world)
    except (ValueError, DownloadError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if world.is_main:
        print(f"done in {(time.perf_counter() - started) / 60:.1f} min; table: {recorded[-1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
