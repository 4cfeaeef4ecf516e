"""The ``ast-lab`` command: ``ast-lab features | train | tune | evaluate | demo | predict | export``.

Each subcommand is one ``add_<name>_parser`` block, registered in ``SUBCOMMANDS``, and one
``run_<name>(args) -> exit status`` function that the parser block binds with
``set_defaults(run=...)``. ``train`` is here; ``features``, ``tune``, ``evaluate`` and ``demo``
are in ``ast_lab.cli_commands``, ``predict`` and ``export`` in ``ast_lab.predict``, the
options they share in ``ast_lab.cli_options``. ``main`` runs one; how it reports a failure
(one line, or a traceback for a bug) is ``ast_lab.errors``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Optional, Sequence

import matplotlib

matplotlib.use("Agg")  # the CLI only writes image files; set before pyplot is imported

import numpy as np  # noqa: E402
import torch  # noqa: E402

from .cli_commands import (  # noqa: E402
    add_demo_parser, add_evaluate_parser, add_features_parser, add_tune_parser, describe,
)
from .cli_options import (  # noqa: E402
    add_data_arguments, add_fbank_arguments, check_out_folder, data_config_from_args,
    fbank_config_from_args, parse_folds,
)
from .config import AST_PRESETS, ASTConfig, CNNConfig, TrainConfig  # noqa: E402
from .data import FeatureSet, load_dataset  # noqa: E402
from .errors import run_command  # noqa: E402
from .metrics import Results  # noqa: E402
from .models import build_model, trace_shapes  # noqa: E402
from .models.pretrained import checkpoint_format  # noqa: E402
from .plotting import plot_spectrogram_grid  # noqa: E402
from .predict import add_export_parser, add_predict_parser  # noqa: E402
from .recipes import (  # noqa: E402
    RECIPES, Recipe, RunFinished, check_init_given, get_recipe, load_recipe_data,
    run_with_teacher,
)
from .setting_checks import check_device, check_ranges  # noqa: E402
from .training import (  # noqa: E402
    PARALLEL_MODES, ModelConfig, World, cross_validate, fit_to_data, join_world, main_first,
    model_kind,
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
    parser.add_argument("--init", type=Path, metavar="PATH",
                        help="start every fold's AST from pretrained weights: an ImageNet DeiT "
                        "(timm's names, .pth/.safetensors), the AST authors' .pth or a Hugging "
                        "Face ASTForAudioClassification folder; the model must have its sizes")
    parser.add_argument("--no-progress", action="store_true", help="print no progress")
    parser.add_argument("--debug", action="store_true",
                        help="print the model's shape trace, save feature plots of the first "
                        "clips, and show the traceback of any failure")


RECIPE_FIXES = ("seconds", "fbank", "n_mels", "preset", "batch_size", "lr")  # set by a recipe


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
    model_cfg, train_cfg = model_configs_from_args(args)
    with main_first(world):  # rank 0 computes and caches the features, the others read them
        data = load_dataset(data_config_from_args(args), fbank_config_from_args(args),
                            download=args.download)
    out = args.out or Path("runs") / f"{data.name}-{args.model}"
    if args.debug and world.is_main:
        debug_view(model_cfg, data, out / "debug")
    results = cross_validate(model_cfg, train_cfg, data, folds=args.folds, out_dir=out,
                             resume=args.resume, progress=not args.no_progress,
                             parallel=args.parallel, init=args.init)
    return results, out


def model_configs_from_args(args: argparse.Namespace) -> tuple[ModelConfig, TrainConfig]:
    """``train --model``'s model and train configs, checked by ``check_train_args``."""
    model_cfg = ASTConfig.preset(args.preset or "tiny") if args.model == "ast" else CNNConfig()
    given = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
             "device": args.device}
    train_cfg = TrainConfig(**{k: v for k, v in given.items() if v is not None})
    check_train_args(args, model_cfg, train_cfg)
    return model_cfg, train_cfg


def check_train_args(
    args: argparse.Namespace, model_cfg: ModelConfig, train_cfg: TrainConfig
) -> None:
    """ValueError, before any data is loaded, for a ``--device`` this machine lacks, numbers
    no run can use, an ``--out`` that is a file, or an ``--init`` that is no checkpoint."""
    check_device(args.device)
    check_ranges(model_cfg, train_cfg)
    check_out_folder(args.out)
    if args.init is not None:
        checkpoint_format(args.init)  # one line naming the path when it is none of the formats


def recipes_from_args(args: argparse.Namespace) -> tuple[Recipe, Optional[Recipe]]:
    """The recipe ``--recipe`` names and its teacher's, both with ``--epochs``/``--device``,
    checked by ``check_train_args``."""
    given = [f"--{name.replace('_', '-')}" for name in RECIPE_FIXES
             if getattr(args, name) is not None]
    if given:
        raise ValueError(f"--recipe {args.recipe} fixes its own settings; drop {', '.join(given)}")
    recipe = get_recipe(args.recipe).with_overrides(epochs=args.epochs, device=args.device)
    teacher = None
    if recipe.teacher is not None:
        teacher = get_recipe(recipe.teacher).with_overrides(epochs=args.epochs,
                                                            device=args.device)
    check_init_given(recipe, args.init)
    check_train_args(args, recipe.model, recipe.train)
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
                               on_finished=on_finished, parallel=args.parallel,
                               init=args.init)
    return results, out


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

    A failure from the data, the files or the machine ends with one line on stderr and
    status 1 (130 for Ctrl-C); a bug keeps its traceback (``ast_lab.errors.run_command``).
    """
    return run_command(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
