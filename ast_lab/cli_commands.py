"""The ``ast-lab`` subcommands around training: ``features`` (build a feature cache), ``tune``
(score a recipe variant on validation folds), ``evaluate`` (re-test a run's checkpoints) and
``demo`` (the main job). Each is one ``add_<name>_parser`` block and one ``run_<name>(args) ->
exit status`` function, as in ``ast_lab.cli``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .cli_options import (
    add_data_arguments, add_fbank_arguments, check_out_folder, data_config_from_args,
    fbank_config_from_args, parse_folds,
)
from .data import FeatureSet, load_dataset
from .data.clips import loading_report, read_headers
from .demo import demo_settings, quick_mode, run_demo
from .metrics import results_table
from .recipes import RECIPES, load_recipe_data
from .training import evaluate_run
from .tuning import parse_setting, tune, variants

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
                        metavar="PART.FIELD=VALUE",
                        help="replace a setting, e.g. train.mixup_alpha=0.3 (repeatable; "
                        "checked against the field's type before any data is loaded)")
    parser.add_argument("--teacher-set", dest="teacher_settings", action="append", default=[],
                        metavar="PART.FIELD=VALUE",
                        help="replace a setting of the teacher recipe (distilled recipes)")
    parser.add_argument("--runs", type=Path, default=Path("runs/tuning"),
                        help="where tuning runs go (default runs/tuning)")
    parser.add_argument("--log", type=Path, help="the tuning log to append to "
                        "(default: results/tuning/<dataset>.md)")
    parser.add_argument("--no-progress", action="store_true", help="print no progress")
    parser.set_defaults(run=run_tune)


def run_tune(args: argparse.Namespace) -> int:
    """Check the settings, then score one variant on validation folds and append it to the
    tuning log."""
    settings = dict(map(parse_setting, args.settings))
    teacher_settings = dict(map(parse_setting, args.teacher_settings))
    recipe, _ = variants(args.recipe, settings, teacher_settings)  # checked before any loading
    check_out_folder(args.runs, "--runs")
    data = load_recipe_data(recipe, args.data, args.root, esc10=args.esc10,
                            download=args.download, progress=not args.no_progress)
    log = args.log or Path("results") / "tuning" / f"{data.name}.md"
    score = tune(args.recipe, data, held_out=args.held_out, val_folds=args.val_folds,
                 settings=settings, teacher_settings=teacher_settings,
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
    parser.add_argument("--out", type=Path, help="where results go (default runs/demo, or "
                        "runs/demo-quick in quick mode, so the two never share a folder)")
    parser.add_argument("--quick", action="store_true", help="tiny data, 2 folds, 2 epochs")
    parser.add_argument("--resume", action="store_true", help="keep finished folds of an earlier run")
    parser.set_defaults(run=run_demo_command)


def run_demo_command(args: argparse.Namespace) -> int:
    """Run the demo, print the results table and where everything went."""
    quick = True if args.quick else quick_mode()
    out = args.out or Path("runs/demo-quick" if quick else "runs/demo")
    check_out_folder(out)
    start = time.perf_counter()
    results = run_demo(out, demo_settings(quick=quick), resume=args.resume)
    minutes = (time.perf_counter() - start) / 60
    print("\n" + results_table(results))
    print(f"\n{len(results[0].folds)}-fold cross-validation on the built-in set in "
          f"{minutes:.1f} min; results, plots and checkpoints in {out}/")
    return 0
