"""Training-step speed of the ESC-50 CPU recipes: float32, bf16 autocast and torch.compile.

On 2 CPU cores a faster step buys epochs inside a fixed time budget. For each recipe this
times one real training step, built from the recipe as it stands when the script runs: a
random batch of its ``batch_size`` clips at its input size (``fbank.n_mels`` x the clip's
frames), its augmentation (``Augment.from_config``), ``ast_lab.training.epoch.batch_loss``
(for a distilled AST with its teacher's forward: the teacher recipe's model, untrained, in
eval mode, as a ``Teacher``), backward, gradient clipping as the recipe says and an update
by ``make_optimizer``'s AdamW (the learning-rate schedule, a multiplication, is left out).
The model is fitted to the input as training fits it (``fit_to_data``: 50 classes, an AST as
wide as ``crop_frames`` when the recipe trains on crops). Variants, each with its own model,
optimiser and augmentation, seeded alike:

* ``float32``: ``precision="float32"``, eager (the reference);
* ``bf16``: ``precision="bf16"`` (CPU autocast), eager;
* ``compiled``: the recipe's own precision, the model wrapped in ``torch.compile`` (the
  teacher stays eager). Its first step, compilation included, is timed apart and reported
  as ``compile_seconds`` (Inductor caches compiled code on disk: a repeated run compiles
  in a fraction of the first's time); an error there is recorded instead of its times.

A recipe's variants are timed in the same interleaved rounds (``ast_lab.timing.time_rounds``);
reported: ms per clip (median, range) and the per-round time ratio to ``float32`` (below 1:
faster). Writes ``benchmarks/results/recipe_speed.json`` and prints a markdown table.

    python benchmarks/recipe_speed.py                     # the three ESC-50 CPU recipes
    python benchmarks/recipe_speed.py --quick             # seconds-long smoke run (plus compiling)
    python benchmarks/recipe_speed.py --recipes esc50-ast --variants float32 bf16 --threads 2
    python benchmarks/recipe_speed.py --batch 16 --rounds 9 --out /tmp/recipe_speed.json
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import torch
from torch import Tensor, nn

from ast_lab.augment import Augment
from ast_lab.config import TrainConfig
from ast_lab.distill import Teacher
from ast_lab.features import frames_for_seconds
from ast_lab.gain import gain_offset
from ast_lab.metrics import code_version, commit_label
from ast_lab.models import build_model, count_parameters
from ast_lab.recipes import RECIPES, Recipe, get_recipe
from ast_lab.timing import time_rounds
from ast_lab.training.configs import ModelConfig, fit_to_data, model_kind
from ast_lab.precision import uses_bf16
from ast_lab.training.epoch import batch_loss
from ast_lab.training.optimizer import make_optimizer
from bench_cli import add_run_options, parse_run_args, write_report

RESULTS = Path(__file__).parent / "results" / "recipe_speed.json"
RECIPE_NAMES = ["esc50-cnn", "esc50-ast", "esc50-ast-distilled"]
NUM_CLASSES = 50  # ESC-50
CPU = torch.device("cpu")
REFERENCE = "float32"
VARIANTS = {"float32": ("float32", False), "bf16": ("bf16", False), "compiled": (None, True)}
# ^ name -> (precision, None for the recipe's own; torch.compile or eager)
FULL = dict(rounds=5, warmup=1)
QUICK = dict(batch=2, rounds=1, warmup=1)
Step = Callable[[], None]  # one training step, ready to time


@dataclass(frozen=True)
class InputShape:
    """What ``fit_to_data`` reads of a dataset: the recipe's input without loading any data."""

    num_classes: int
    n_mels: int
    n_frames: int


def input_shape(recipe: Recipe) -> InputShape:
    """50 classes, the recipe's mel bands and the frames of one of its clips."""
    return InputShape(NUM_CLASSES, recipe.fbank.n_mels,
                      frames_for_seconds(recipe.clip_seconds, recipe.fbank))


def fitted_model(cfg: ModelConfig, recipe: Recipe) -> nn.Module:
    """The model of ``cfg`` fitted to ``recipe``'s input as training fits it, in train mode."""
    shape = input_shape(recipe)  # stands in for the FeatureSet
    fitted = fit_to_data(cfg, shape, recipe.train.crop_frames)  # type: ignore[arg-type]
    return build_model(model_kind(fitted), fitted).train()


def make_teacher(recipe: Recipe) -> Optional[Teacher]:
    """The teacher recipe's model (untrained: its time is what counts), frozen; None without."""
    if recipe.teacher is None:
        return None
    teacher = get_recipe(recipe.teacher)
    return Teacher(fitted_model(teacher.model, recipe), (0.0, 1.0), (0.0, 1.0),
                   teacher.train.precision)  # the teacher runs as it was trained


def compile_model(model: nn.Module) -> nn.Module:
    """``torch.compile(model)``; a distilled AST's ``forward_heads``, which ``batch_loss``
    calls instead of ``forward``, compiled as well."""
    if hasattr(model, "forward_heads"):
        model.forward_heads = torch.compile(model.forward_heads)  # type: ignore[method-assign]
    return torch.compile(model)


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, augment: Augment,
               teacher: Optional[Teacher], cfg: TrainConfig, batch: tuple[Tensor, Tensor]) -> None:
    """One step of ``train_epoch``'s loop: augment, objective, backward, clip, update."""
    specs, soft = augment(*batch)  # (B, 1, M, T), (B, C)
    loss = batch_loss(model, specs, soft, cfg, teacher)[0]
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if cfg.grad_clip is not None:
        nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    optimizer.step()


def make_step(recipe: Recipe, variant: str, batch: tuple[Tensor, Tensor], seed: int) -> Step:
    """``variant``'s training step of ``recipe`` on ``batch``, with its own seeded model,
    optimiser and augmentation (SpecAugment fill 0; a gain offset of ``gain_db`` at std 1)."""
    precision, compiled = VARIANTS[variant]
    cfg = dataclasses.replace(recipe.train, precision=precision or recipe.train.precision)
    torch.manual_seed(seed)
    model = fitted_model(recipe.model, recipe)
    gain = gain_offset(cfg.gain_db, recipe.fbank.log, 1.0)
    augment = Augment.from_config(cfg, NUM_CLASSES, gain=gain, rng=np.random.default_rng(seed))
    optimizer = make_optimizer(model, cfg)
    return partial(train_step, compile_model(model) if compiled else model, optimizer,
                   augment.train(), make_teacher(recipe), cfg, batch)


def random_batch(recipe: Recipe, size: int, seed: int) -> tuple[Tensor, Tensor]:
    """``size`` random whole clips ``(size, 1, n_mels, frames)`` and labels ``(size,)``."""
    shape, generator = input_shape(recipe), torch.Generator().manual_seed(seed)
    specs = torch.randn(size, 1, shape.n_mels, shape.n_frames, generator=generator)
    return specs, torch.randint(0, NUM_CLASSES, (size,), generator=generator)


def compiled_step(make: Callable[[], Step]) -> tuple[Optional[Step], dict[str, Any]]:
    """Build a compiled step and run it once: ``(step, {"compile_seconds"})``, or ``(None,
    {"error"})`` where compiling or that first step failed."""
    start = time.perf_counter()
    try:
        step = make()
        step()
    except Exception as error:  # noqa: BLE001 (any backend failure is a result here)
        torch._dynamo.reset()
        return None, {"error": f"{type(error).__name__}: {error}".strip()[:2000]}
    return step, {"compile_seconds": round(time.perf_counter() - start, 2)}


def bench_recipe(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Time ``args.variants`` of recipe ``name`` in interleaved rounds: its report row."""
    recipe = get_recipe(name)
    batch_size = args.batch or recipe.train.batch_size
    batch = random_batch(recipe, batch_size, args.seed)
    steps: dict[str, Step] = {}
    variants: dict[str, dict[str, Any]] = {}
    for variant in args.variants:
        precision, compiled = VARIANTS[variant]
        precision = precision or recipe.train.precision
        variants[variant] = dict(precision=precision, bf16_autocast=uses_bf16(CPU, precision),
                                 compiled=compiled)
        make = partial(make_step, recipe, variant, batch, args.seed)
        step, info = compiled_step(make) if compiled else (make(), {})
        variants[variant].update(info)
        if step is not None:
            steps[variant] = step
    timed = time_rounds(steps, reference=REFERENCE, rounds=args.rounds, repeat=args.steps,
                        warmup=args.warmup)
    for variant in steps:
        variants[variant].update(
            ms_per_clip=timed.seconds[variant].scaled(1000 / batch_size).to_dict(),
            ratio_to_float32=timed.ratio(variant).to_dict())
    shape = input_shape(recipe)
    return dict(recipe=name, model=model_kind(recipe.model), precision=recipe.train.precision,
                bf16_autocast=uses_bf16(CPU, recipe.train.precision),
                teacher=recipe.teacher, batch=batch_size,
                clip=[shape.n_mels, shape.n_frames],
                model_input=[shape.n_mels, recipe.train.crop_frames or shape.n_frames],
                params=count_parameters(fitted_model(recipe.model, recipe)),
                variants=variants, rounds=timed.to_dict())


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """One line per recipe and variant: ms/clip and ratio to float32, medians (min-max)."""
    lines = ["| recipe | recipe precision | variant | ms/clip (min-max) | ratio to float32 "
             "(min-max) | compile s |", "|---|---|---|---:|---:|---:|"]
    for row in rows:
        for variant, v in row["variants"].items():
            if "error" in v:
                error = v["error"].splitlines()[0][:80].replace("|", "/")
                lines.append(f"| {row['recipe']} | {row['precision']} | {variant} | "
                             f"failed: {error} | | |")
                continue
            ms, ratio = v["ms_per_clip"], v["ratio_to_float32"]
            lines.append(
                f"| {row['recipe']} | {row['precision']} | {variant} | {ms['median']:.2f} "
                f"({ms['min']:.2f}-{ms['max']:.2f}) | {ratio['median']:.3f} "
                f"({ratio['min']:.3f}-{ratio['max']:.3f}) | {v.get('compile_seconds', '')} |")
    return "\n".join(lines)


def recipe_name(text: str) -> str:
    """argparse type: a name ``get_recipe`` knows."""
    try:
        return get_recipe(text).name
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    """Command line -> options, with ``FULL`` or (``--quick``) ``QUICK`` defaults filled in."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", type=recipe_name, default=RECIPE_NAMES,
                        metavar="RECIPE", help=f"recipes to time (default: "
                        f"{' '.join(RECIPE_NAMES)}; any of {sorted(RECIPES)})")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS),
                        help=f"variants to time; must include the reference {REFERENCE} "
                        "(default: all)")
    parser.add_argument("--batch", type=int, help="clips per step (default: each recipe's)")
    parser.add_argument("--rounds", type=int,
                        help=f"interleaved timed rounds (default {FULL['rounds']})")
    parser.add_argument("--warmup", type=int,
                        help=f"untimed steps per variant first (default {FULL['warmup']})")
    parser.add_argument("--steps", type=int, default=1, help="timed steps per round")
    parser.add_argument("--seed", type=int, default=0, help="weights, batch and augmentation")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    add_run_options(parser, QUICK, RESULTS)
    args = parse_run_args(parser, argv, FULL, QUICK, RESULTS)
    if REFERENCE not in args.variants:
        parser.error(f"--variants must include {REFERENCE}, the reference of the ratios")
    args.variants = list(dict.fromkeys(args.variants))
    return args


def main(argv: Optional[list[str]] = None) -> dict[str, Any]:
    """Run the benchmark, print its table, write the JSON (see ``--out``) and return it."""
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = {k: v for k, v in vars(args).items() if k != "out"}
    settings.update(torch=torch.__version__, cpu_threads=torch.get_num_threads(),
                    machine=f"{platform.machine()}, {os.cpu_count()} CPUs",
                    load_average_1min_before=round(os.getloadavg()[0], 2),
                    code=commit_label(code_version()))  # the recipes as they stood
    rows = [bench_recipe(name, args) for name in args.recipes]
    result = dict(settings=settings, reference=REFERENCE, recipes=rows)
    print(markdown_table(rows))
    write_report(result, args.out)
    return result


if __name__ == "__main__":
    main()
