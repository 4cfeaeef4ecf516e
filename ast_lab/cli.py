"""The ``ast-lab`` command: ``ast-lab features | train | tune | evaluate | demo | predict | export``.

Each subcommand is one ``add_<name>_parser`` block, registered in ``SUBCOMMANDS``, and one
``run_<name>(args) -> exit status`` function that the parser block binds with
``set_defaults(run=...)``. Options shared by several subcommands (which data, which features)
are added by ``add_data_arguments`` and ``add_fbank_arguments`` and read back by
``data_config_from_args`` and ``fbank_config_from_args``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

import matplotlib

matplotlib.use("Agg")  # the CLI only writes image files; set before pyplot is imported

import numpy as np  # noqa: E402
import torch  # noqa: E402

from .config import AST_PRESETS, ASTConfig, CNNConfig, DataConfig, FbankConfig, TrainConfig  # noqa: E402
from .data import DownloadError, FeatureSet, load_dataset  # noqa: E402
from .data.clips import loading_report, read_headers  # noqa: E402
from .demo import demo_settings, run_demo  # noqa: E402
from .metrics import Results, results_table  # noqa: E402
from .models import build_model, trace_shapes  # noqa: E402
from .plotting import plot_spectrogram_grid  # noqa: E402
from .predict import add_export_parser, add_predict_parser  # noqa: E402
from .recipes import (  # noqa: E402
    RECIPES, Recipe, RunFinished, get_recipe, load_recipe_data, run_with_teacher,
)
from .tuning import parse_setting, tune, variant  # noqa: E402
from .training import (  # noqa: E402
    PARALLEL_MODES, ModelConfig, World, cross_validate, evaluate_run, fit_to_data, join_world,
    main_first, model_kind,
)

FBANK_PRESETS: dict[str, Callable[[], FbankConfig]] = {
    "default": FbankConfig.librosa_like,
    "kaldi": FbankConfig.kaldi_like,
}


# ---------------------------------------------------------------------------- shared options


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """--data, --root, --download, --seconds, --esc10: which clips, and how long."""
    parser.add_argument(
        "--data", choices=["synthetic", "esc50", "folder"], default="synthetic",
        help="the built-in synthetic set (default), ESC-50, or any folder in its layout",
    )
    parser.add_argument("--root", help="dataset folder (required for --data folder)")
    parser.add_argument("--download", action="store_true", help="download ESC-50 if it is missing")
    parser.add_argument(
        "--seconds", type=float, help="pad/crop clips to this length (default: the source's own)"
    )
    parser.add_argument("--esc10", action="store_true", help="keep only ESC-50's 10-class subset")


def data_config_from_args(args: argparse.Namespace) -> DataConfig:
    return DataConfig(source=args.data, root=args.root, clip_seconds=args.seconds, esc10=args.esc10)


def add_fbank_arguments(parser: argparse.ArgumentParser) -> None:
    """--fbank, --n-mels: which FBANK settings."""
    parser.add_argument(
        "--fbank", choices=sorted(FBANK_PRESETS),
        help="FBANK settings: librosa's defaults (default), or the AST authors' Kaldi recipe",
    )
    parser.add_argument("--n-mels", type=int, help="mel bands (default: the preset's 128)")


def fbank_config_from_args(args: argparse.Namespace) -> FbankConfig:
    cfg = FBANK_PRESETS[args.fbank or "default"]()
    return cfg if args.n_mels is None else dataclasses.replace(cfg, n_mels=args.n_mels)


# ---------------------------------------------------------------------------- features


def add_features_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "features", help="compute (or reuse) the cached log-mel features of a dataset"
    )
    add_data_arguments(parser)
    add_fbank_arguments(parser)
    parser.set_defaults(run=run_features)


def run_features(args: argparse.Namespace) -> int:
    """Build the feature cache, then say where it is and what it holds."""
    start = time.perf_counter()
    data_cfg, fbank_cfg = data_config_from_args(args), fbank_config_from_args(args)
    feature_set = load_dataset(data_cfg, fbank_cfg, download=args.download)
    print(describe(feature_set))
    print(f"cache: {feature_set.cache_dir}")
    print(f"done in {time.perf_counter() - start:.1f} s")
    return 0


def describe(data: FeatureSet) -> str:
    """What a feature set holds: clips, shape, size, clip length and what the loader did to
    the files (padding, cropping, resampling, downmixing), classes with their own target
    numbers, folds."""
    n_clips, n_mels, n_frames = data.features.shape
    size_mib = data.features.nbytes / 2**20
    classes = ", ".join(f"{t} {name}" for t, name in
                        zip(data.metadata.class_targets, data.class_names))
    fit = loading_report(read_headers(data.metadata), data.clip_seconds, data.fbank.sample_rate)
    return (
        f"{data.name}: {n_clips} clips x {n_mels} mels x {n_frames} frames, float32 "
        f"({size_mib:.1f} MiB); {fit}; "
        f"{data.num_classes} classes (target: name) {classes}; "
        f"folds {', '.join(map(str, data.fold_ids))}"
    )


# ---------------------------------------------------------------------------- train


def add_train_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train", help="k-fold cross-validation of one model, or of a named recipe, on a dataset")
    add_train_arguments(parser)
    parser.set_defaults(run=run_train)


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """The train subcommand's options (``benchmarks/kfold.py`` reuses them)."""
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", choices=["ast", "cnn"], help="one model with plain settings")
    which.add_argument(
        "--recipe", choices=sorted(RECIPES), metavar="NAME",
        help="a named recipe (features, model, schedule, augmentation): "
        + "; ".join(f"{r.name}: {r.summary}" for r in RECIPES.values()),
    )
    parser.add_argument("--preset", choices=list(AST_PRESETS),
                        help="AST size for --model ast (default tiny)")
    add_data_arguments(parser)
    add_fbank_arguments(parser)
    parser.add_argument("--folds", type=parse_folds, help="test folds, e.g. 1,2 (default: all)")
    parser.add_argument("--epochs", type=int,
                        help=f"epochs (default: the recipe's, or {TrainConfig.epochs})")
    parser.add_argument("--batch-size", type=int, help=f"default {TrainConfig.batch_size}")
    parser.add_argument("--lr", type=float, help=f"peak learning rate (default {TrainConfig.lr})")
    parser.add_argument("--device", help="auto (default: CUDA if present), cpu or cuda")
    parser.add_argument(
        "--parallel", choices=PARALLEL_MODES, default="folds",
        help="under torchrun: share the test folds out among the processes (folds, the "
             "default) or train each fold on all of them with DDP (data); ignored otherwise")
    parser.add_argument("--out", type=Path,
                        help="run folder (default: runs/<data>-<model>, or runs/<data>/<recipe>)")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run in --out; finished folds are kept")
    parser.add_argument("--no-progress", action="store_true", help="print no progress")
    parser.add_argument("--debug", action="store_true",
                        help="print the model's shape trace and save feature plots of the first clips")


RECIPE_FIXES = ("seconds", "fbank", "n_mels", "preset", "batch_size", "lr")  # set by a recipe


def parse_folds(text: str) -> list[int]:
    """"1,2,5" -> [1, 2, 5]."""
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"folds must be comma-separated integers, got {text!r}")


def debug_view(model_cfg: ModelConfig, data: FeatureSet, out: Path, n_clips: int = 4) -> None:
    """Print the model's per-stage shapes on the first clips and save their spectrograms."""
    fitted = fit_to_data(model_cfg, data)
    batch = torch.from_numpy(np.array(data.features[:n_clips]))  # (n_clips, n_mels, frames)
    trace_shapes(build_model(model_kind(fitted), fitted), batch)
    out.mkdir(parents=True, exist_ok=True)
    titles = [f"{data.metadata.filenames[i]} ({data.class_names[data.targets[i]]})"
              for i in range(len(batch))]
    figure = plot_spectrogram_grid(list(batch), titles, hop_length=data.fbank.hop_length,
                                   sample_rate=data.fbank.sample_rate, ncols=2)
    figure.savefig(out / "first_clips.png")
    print(f"debug: spectrograms of the first {len(batch)} clips in {out / 'first_clips.png'}")


def run_train(args: argparse.Namespace) -> int:
    """Cross-validate one model (or a recipe) and print its results table. Under torchrun,
    every process runs this; rank 0 alone prints the results and writes the run's files."""
    world = join_world(args.device or "auto")
    if args.recipe is not None:
        results, out = train_recipe(args, world=world)
    else:
        results, out = train_model(args, world)
    if world.is_main:
        print(results.table())
        print(f"saved: {out}/ (results.json, results.csv, plots, checkpoints)")
    return 0


def train_model(args: argparse.Namespace, world: World = World()) -> tuple[Results, Path]:
    """``train --model``: one model with plain settings; returns its results and run folder."""
    with main_first(world):  # rank 0 computes and caches the features, the others read them
        data = load_dataset(data_config_from_args(args), fbank_config_from_args(args),
                            download=args.download)
    model_cfg = ASTConfig.preset(args.preset or "tiny") if args.model == "ast" else CNNConfig()
    given = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
             "device": args.device}
    train_cfg = TrainConfig(**{k: v for k, v in given.items() if v is not None})
    out = args.out or Path("runs") / f"{data.name}-{args.model}"
    if args.debug and world.is_main:
        debug_view(model_cfg, data, out / "debug")
    results = cross_validate(model_cfg, train_cfg, data, folds=args.folds, out_dir=out,
                             resume=args.resume, progress=not args.no_progress,
                             parallel=args.parallel)
    return results, out


def recipes_from_args(args: argparse.Namespace) -> tuple[Recipe, Optional[Recipe]]:
    """The recipe ``--recipe`` names and its teacher's, both with ``--epochs``/``--device``."""
    given = [f"--{name.replace('_', '-')}" for name in RECIPE_FIXES
             if getattr(args, name) is not None]
    if given:
        raise ValueError(f"--recipe {args.recipe} fixes its own settings; drop {', '.join(given)}")
    recipe = get_recipe(args.recipe).with_overrides(epochs=args.epochs, device=args.device)
    teacher = None
    if recipe.teacher is not None:
        teacher = get_recipe(recipe.teacher).with_overrides(epochs=args.epochs,
                                                            device=args.device)
    return recipe, teacher


def train_recipe(
    args: argparse.Namespace, on_finished: Optional[RunFinished] = None,
    world: World = World(),
) -> tuple[Results, Path]:
    """``train --recipe``: the recipe, and first its teacher if it has one and that has no
    finished run beside ``--out``; returns the results and the run folder."""
    recipe, teacher = recipes_from_args(args)
    with main_first(world):  # rank 0 computes and caches the features, the others read them
        data = load_recipe_data(recipe, args.data, args.root, esc10=args.esc10,
                                download=args.download,
                                progress=not args.no_progress and world.is_main)
    if world.is_main:
        print(describe(data))
    out = args.out or Path("runs") / data.name / recipe.name
    if args.debug and world.is_main:
        debug_view(recipe.model, data, out / "debug")
    results = run_with_teacher(recipe, data, out, folds=args.folds, resume=args.resume,
                               progress=not args.no_progress, teacher_recipe=teacher,
                               on_finished=on_finished, parallel=args.parallel)
    return results, out


# ---------------------------------------------------------------------------- tune


def add_tune_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tune", help="score a recipe variant on validation folds, one fold never loaded")
    parser.add_argument("--recipe", choices=sorted(RECIPES), metavar="NAME", required=True,
                        help="the recipe to vary")
    add_data_arguments(parser)
    parser.add_argument("--held-out", type=int, default=1,
                        help="the fold no tuning run loads (default 1)")
    parser.add_argument("--val-folds", type=parse_folds,
                        help="validation folds, each in turn (default: all the others)")
    parser.add_argument("--set", dest="settings", action="append", default=[],
                        metavar="PART.FIELD=VALUE", type=parse_setting,
                        help="replace a setting, e.g. train.mixup_alpha=0.3 (repeatable)")
    parser.add_argument("--teacher-set", dest="teacher_settings", action="append", default=[],
                        metavar="PART.FIELD=VALUE", type=parse_setting,
                        help="replace a setting of the teacher recipe (distilled recipes)")
    parser.add_argument("--runs", type=Path, default=Path("runs/tuning"),
                        help="where tuning runs go (default runs/tuning)")
    parser.add_argument("--log", type=Path, help="the tuning log to append to "
                        "(default: results/tuning/<dataset>.md)")
    parser.add_argument("--no-progress", action="store_true", help="print no progress")
    parser.set_defaults(run=run_tune)


def run_tune(args: argparse.Namespace) -> int:
    """Score one variant on validation folds and append it to the tuning log."""
    settings = dict(args.settings)
    data = load_recipe_data(variant(args.recipe, settings), args.data, args.root,
                            esc10=args.esc10, download=args.download,
                            progress=not args.no_progress)
    log = args.log or Path("results") / "tuning" / f"{data.name}.md"
    score = tune(args.recipe, data, held_out=args.held_out, val_folds=args.val_folds,
                 settings=settings, teacher_settings=dict(args.teacher_settings),
                 runs_dir=args.runs, log=log, progress=not args.no_progress)
    print(f"{args.recipe} {settings or '(as named)'}: validation accuracy {score.mean:.3f} "
          f"on folds {', '.join(map(str, score.accuracy))}; logged in {log}")
    return 0


# ---------------------------------------------------------------------------- evaluate


def add_evaluate_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("evaluate", help="re-test a run's saved checkpoints on their test folds")
    parser.add_argument("--run", dest="run_dir", type=Path, required=True,
                        help="a run folder written by train or demo (e.g. runs/demo/ast)")
    parser.set_defaults(run=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    """Re-evaluate each fold's best checkpoint and print the table."""
    if not (args.run_dir / "results.json").is_file():
        raise ValueError(f"{args.run_dir} holds no results.json: not a finished run folder")
    print(evaluate_run(args.run_dir).table())
    return 0


# ---------------------------------------------------------------------------- demo


def add_demo_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="the main job: 5-fold CV of the CNN and the AST on the built-in set")
    parser.add_argument("--out", type=Path, default=Path("runs/demo"), help="where results go")
    parser.add_argument("--quick", action="store_true", help="tiny data, 2 folds, 2 epochs")
    parser.add_argument("--resume", action="store_true", help="keep finished folds of an earlier run")
    parser.set_defaults(run=run_demo_command)


def run_demo_command(args: argparse.Namespace) -> int:
    """Run the demo, print the results table and where everything went."""
    start = time.perf_counter()
    results = run_demo(args.out, demo_settings(quick=True if args.quick else None),
                       resume=args.resume)
    minutes = (time.perf_counter() - start) / 60
    print("\n" + results_table(results))
    print(f"\n{len(results[0].folds)}-fold cross-validation on the built-in set in "
          f"{minutes:.1f} min; results, plots and checkpoints in {args.out}/")
    return 0


# ---------------------------------------------------------------------------- the command

SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    add_features_parser, add_train_parser, add_tune_parser, add_evaluate_parser, add_demo_parser,
    add_predict_parser, add_export_parser,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ast-lab",
        description="The Audio Spectrogram Transformer rebuilt from first principles.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_parser in SUBCOMMANDS:
        add_parser(subparsers)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``ast-lab`` console script; returns the exit status.

    Data problems (bad files, a missing dataset or model card, failed download) end with a one-line message on
    stderr and status 1 rather than a traceback.
    """
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError, DownloadError) as err:
        print(f"ast-lab {args.command}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
