"""Named training recipes: model, features, optimisation and augmentation that go together.

Three recipes trained from random weights, each in four variants:

===================  ==========================================================================
``cnn``              the CNN baseline
``ast``              the AST trained from scratch, regularised for small data
``ast-distilled``    the AST with the ``cnn`` recipe's models as teachers of its [DIST] token
===================  ==========================================================================

The plain names are for short clips (1 s, 64 mel bands; tuned on the spoken digits in
``../shared/fsdd``); the ``esc10-`` and ``esc50-`` variants are for 5-s environmental sound at
64 mel bands, sized so that a 5-fold run fits on 2 CPU cores (ESC-50's in 90 minutes); the
``esc50-gpu-`` variants use the AST paper's features (Kaldi-style FBANK, 128 bands, 512
frames) and bigger models, sized for a GPU. Two more, ``esc50-ast-imagenet`` and
``esc50-ast-audioset``, fine-tune pretrained weights as the AST paper does
(``ast_lab.recipes_pretrained``; ``Recipe`` itself is in ``ast_lab.recipe``). Every recipe
works on any dataset in the ESC-50 layout: the number of classes comes from the data.

Regularisation for small data: circular time shift, label smoothing and weight decay in every
recipe trained from random weights; SpecAugment, mixup, random crops and stochastic depth
where they helped on validation folds. No validation split is held out (``val_fraction=0``): with a few thousand clips every one
is needed for training, so each recipe runs a fixed schedule and tests its last weights
(``selection="last"``), chosen without ever looking at a test fold.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Optional, Sequence

from .config import ASTConfig, CNNConfig, FbankConfig, TrainConfig
from .data import FeatureSet, load_dataset
from .metrics import Results
from .recipe import SETTABLE, Recipe
from .recipes_pretrained import pretrained_recipes
from .training import cross_validate, current_world

__all__ = [
    "RECIPES", "SETTABLE", "Recipe", "RunFinished", "check_init_given", "finished_run",
    "get_recipe", "load_recipe_data", "run_recipe", "run_with_teacher",
]


# ------------------------------------------------------------------------ short clips (FSDD)

SHORT_FBANK = FbankConfig(n_mels=64)  # 16 kHz, 25/10 ms, librosa conventions: 64 x 101 per second
SHORT_SECONDS = 1.0  # 96 % of the spoken digits are shorter; longer ones lose their tail

# shared by the short recipes: a cosine schedule without early stopping, time shift of up to
# 0.3 s either way, one frequency mask (up to 12 of 64 bands) and one time mask (up to 0.2 s).
# Mixup (alpha 0.4) cost the AST 1.3 points on FSDD's fold 1 (0.975 vs 0.988), so it is off.
SHORT_TRAIN = TrainConfig(
    epochs=60, batch_size=32, lr=1e-3, weight_decay=0.05, warmup_epochs=2, label_smoothing=0.1,
    time_shift=30, freq_mask=12, time_mask=20, selection="last",
)
SHORT_CNN = CNNConfig(channels=(16, 32, 64, 128))  # 0.99 on FSDD fold 1 in 15 epochs, ~5 s each
SHORT_CNN_EPOCHS = 20  # the CNN learns in a third of the AST's epochs
SHORT_AST = ASTConfig.preset("micro", drop_path_rate=0.1)  # 96 wide, 3 blocks, 5 x 9 patches

# ------------------------------------------------------------------------ ESC-50 on a GPU

# The paper's input (128 x 512) and model widths: sized for a GPU, about 5 PFLOP per fold for
# the AST tiny. What ESC-10 taught (results/tuning/esc10.md): SpecAugment cost the CNN 3-9
# points (a masked span can hide a whole bark), mixup did not help, time shift and label
# smoothing stay; the AST pools its patches by maximum, as the CNN.
GPU_FBANK = FbankConfig.kaldi_like()  # the paper's features: 128 bands, 498 frames -> 512
ESC50_SECONDS = 5.0
GPU_TRAIN = TrainConfig(
    epochs=60, batch_size=32, lr=1e-3, weight_decay=0.05, warmup_epochs=3, label_smoothing=0.1,
    time_shift=100, selection="last",
)
GPU_AST = ASTConfig.preset("tiny", drop_path_rate=0.1, pooling="max")

# ------------------------------------------------------------------------ ESC-50 on 2 CPU cores

# Chosen on validation fold 2 (training folds 3-5) with fold 1 never loaded
# (results/tuning/esc50.md). bf16 autocast runs the CNN's step in 0.42 of float32's time, but
# makes the micro AST's slower (1.06: its 96-wide products are too small to gain), so the AST
# stays in float32 (benchmarks/results/recipe_speed.json). What helped, in order:
# mixup (+4.6 points at 80 epochs), random crops with 5 test crops and a longer schedule, more
# channels (+6.1 at 30 epochs), and a fifth stage of 512 channels, which costs little at 1/16
# of the input's size (0.775 against 0.662 for the ESC-10 recipe). Random gain (+-6 dB) did not
# move the CNN (0.667). SpecAugment is off, as ESC-10 taught (-3 to -9 points).
ESC50_FBANK = FbankConfig(n_mels=64)  # 16 kHz, 25/10 ms, librosa conventions: 64 x 501 per clip
ESC50_TRAIN = TrainConfig(
    epochs=120, batch_size=32, lr=1e-3, weight_decay=0.05, warmup_epochs=2, label_smoothing=0.1,
    time_shift=100, mixup_alpha=0.5, crop_frames=250, test_crops=5, selection="last",
    precision="bf16",
)  # 2.5-s crops of the 5-s clips, 5 of them averaged at test time
ESC50_CNN = CNNConfig(channels=(32, 64, 128, 256, 512))
# the AST: 3-s crops (its position grid is the crop's), mixup, 150 epochs: 0.595 against 0.532
# for the ESC-10 recipe's whole clips and 100 epochs; patch rows every 6 mel bands instead of
# 10 (9 rows of 16-band patches, not 5): 0.655. That doubles the step's cost (5.0 against 2.7
# ms a clip). Its first 5-fold attempt trained at 9.8 s an epoch of 1,600 clips (6.1 ms a
# clip with the data loop), so 110 epochs would take about 90 minutes: 100 epochs keep it
# near 82 (0.642 on validation at 110 epochs; 100 was not scored).
ESC50_AST = ASTConfig.preset("micro", drop_path_rate=0.1, pooling="max", fstride=6)
ESC50_AST_TRAIN = dataclasses.replace(ESC50_TRAIN, epochs=100, crop_frames=300,
                                      precision="float32")
# the distilled AST: the same, its [DIST] head taught the CNN's probabilities softened at
# temperature 2 (0.618 against 0.595 from scratch and 0.552 for hard labels, all at 150
# epochs with patch rows every 10 bands); the teacher's forward pass (bf16, as the CNN was
# trained) makes its step 8.7 ms a clip instead of 5.5 (benchmarks/results/recipe_speed.json),
# about 9.7 with the data loop (the plain AST's loop adds 11 %), so 60 epochs of 1,600
# training clips per fold keep a 5-fold run near 78 minutes (this length was not scored)
ESC50_DISTILLED = dict(distillation="soft", distill_temperature=2.0, epochs=60)


# ------------------------------------------------------------------------ ESC-10 (5 s, 10 classes)

ESC10_FBANK = FbankConfig(n_mels=64)  # 16 kHz, 25/10 ms, librosa conventions: 64 x 501 per clip
ESC10_SECONDS = 5.0  # ESC-50's clip length; ESC-10's 20 odd clips are padded or cropped
# Chosen on validation folds 2 and 3 with fold 1 never loaded (results/tuning/esc10.md). For
# the CNN nothing beat the plain start: mixup 0.3 (-1.9 points), SpecAugment (-3 to -9: a
# masked span can hide a whole bark), max+mean pooling, 60 epochs, 22.05 kHz, batch 16 (all
# within noise or below) and two convolutions per stage (+0.6, twice the cost) were dropped.
ESC10_TRAIN = TrainConfig(
    epochs=30, batch_size=32, lr=1e-3, weight_decay=0.05, warmup_epochs=2, label_smoothing=0.1,
    time_shift=100, selection="last",
)
ESC10_CNN = CNNConfig(channels=(16, 32, 64, 128))
# the AST: patch tokens pooled by maximum (+3 points at 60 epochs) and 100 epochs (+6 more);
# mixup (-1.3) was dropped
ESC10_AST = ASTConfig.preset("micro", drop_path_rate=0.1, pooling="max")
ESC10_AST_EPOCHS = 100


def _recipes() -> dict[str, Recipe]:
    short = dict(fbank=SHORT_FBANK, clip_seconds=SHORT_SECONDS)
    esc10 = dict(fbank=ESC10_FBANK, clip_seconds=ESC10_SECONDS)
    esc50 = dict(fbank=ESC50_FBANK, clip_seconds=ESC50_SECONDS)
    gpu = dict(fbank=GPU_FBANK, clip_seconds=ESC50_SECONDS)
    distill = dict(distillation="hard")
    return {r.name: r for r in (
        Recipe("cnn", "CNN baseline, 1-s clips", SHORT_CNN,
               dataclasses.replace(SHORT_TRAIN, epochs=SHORT_CNN_EPOCHS), **short),
        Recipe("ast", "AST micro from scratch, 1-s clips", SHORT_AST, SHORT_TRAIN, **short),
        Recipe("ast-distilled", "AST micro taught by the cnn recipe through [DIST], 1-s clips",
               dataclasses.replace(SHORT_AST, pooling="distilled"),
               dataclasses.replace(SHORT_TRAIN, **distill), teacher="cnn", **short),
        Recipe("esc10-cnn", "CNN baseline, 5-s environmental sound (ESC-10)", ESC10_CNN,
               ESC10_TRAIN, **esc10),
        Recipe("esc10-ast", "AST micro from scratch, 5-s environmental sound (ESC-10)",
               ESC10_AST, dataclasses.replace(ESC10_TRAIN, epochs=ESC10_AST_EPOCHS), **esc10),
        Recipe("esc10-ast-distilled", "AST micro taught by esc10-cnn through [DIST], ESC-10",
               dataclasses.replace(ESC10_AST, pooling="distilled", label_pooling="max"),
               dataclasses.replace(ESC10_TRAIN, epochs=ESC10_AST_EPOCHS, **distill),
               teacher="esc10-cnn", **esc10),
        Recipe("esc50-cnn", "CNN of 5 stages (32-512 channels), ESC-50 on 2 CPU cores",
               ESC50_CNN, ESC50_TRAIN, **esc50),
        Recipe("esc50-ast", "AST micro from scratch, ESC-50 on 2 CPU cores", ESC50_AST,
               ESC50_AST_TRAIN, **esc50),
        Recipe("esc50-ast-distilled", "AST micro taught by esc50-cnn through [DIST], ESC-50 "
               "on 2 CPU cores", dataclasses.replace(ESC50_AST, pooling="distilled",
                                                     label_pooling="max"),
               dataclasses.replace(ESC50_AST_TRAIN, **ESC50_DISTILLED),
               teacher="esc50-cnn", **esc50),
        Recipe("esc50-gpu-cnn", "CNN 32-256 channels, ESC-50 at the paper's 128 x 512 (GPU)",
               CNNConfig(), GPU_TRAIN, **gpu),
        Recipe("esc50-gpu-ast", "AST tiny from scratch, ESC-50 at 128 x 512 (GPU)", GPU_AST,
               dataclasses.replace(GPU_TRAIN, epochs=100, lr=5e-4), **gpu),
        Recipe("esc50-gpu-ast-distilled", "AST tiny taught by esc50-gpu-cnn, ESC-50 (GPU)",
               dataclasses.replace(GPU_AST, pooling="distilled"),
               dataclasses.replace(GPU_TRAIN, epochs=100, lr=5e-4, **distill),
               teacher="esc50-gpu-cnn", **gpu),
        *pretrained_recipes(),
    )}


RECIPES: dict[str, Recipe] = _recipes()


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``; ValueError listing the names otherwise."""
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; choose one of {sorted(RECIPES)}")
    return RECIPES[name]


def load_recipe_data(
    recipe: Recipe, source: str, root: Optional[str] = None, *, esc10: bool = False,
    download: bool = False, progress: bool = True,
) -> FeatureSet:
    """The dataset at ``source``/``root`` with the recipe's features (cached after the first run)."""
    return load_dataset(recipe.data_config(source, root, esc10=esc10), recipe.fbank,
                        download=download, progress=progress)


def run_recipe(
    recipe: Recipe,
    data: FeatureSet,
    out_dir: str | Path,
    *,
    folds: Optional[list[int]] = None,
    teacher_run: Optional[str | Path] = None,
    resume: bool = False,
    progress: bool = True,
    parallel: str = "folds",
    init: Optional[str | Path] = None,
) -> Results:
    """k-fold cross-validation of ``recipe`` on ``data`` into ``out_dir`` (checkpoints per fold,
    ``results.json``/``.csv`` and plots). A recipe with a teacher needs ``teacher_run``: the
    folder of the teacher recipe's finished run on the same data and folds. ``init``: the
    pretrained checkpoint every fold starts from (``training.pretrained_init``), which a
    recipe with ``needs_init`` cannot do without."""
    if recipe.teacher is not None and teacher_run is None:
        raise ValueError(
            f"recipe {recipe.name!r} learns from the {recipe.teacher!r} recipe's models: run "
            f"that first and pass its folder as teacher_run"
        )
    check_init_given(recipe, init)
    return cross_validate(recipe.model, recipe.train, data, folds=folds, out_dir=out_dir,
                          resume=resume, progress=progress, teacher_run=teacher_run,
                          parallel=parallel, init=init)


def check_init_given(recipe: Recipe, init: Optional[str | Path]) -> None:
    """ValueError naming the recipe and the checkpoint it needs when ``init`` is missing."""
    if recipe.needs_init is not None and init is None:
        raise ValueError(f"recipe {recipe.name!r} fine-tunes pretrained weights: pass --init "
                         f"with {recipe.needs_init}")


RunFinished = Callable[[Recipe, Results, Path, FeatureSet], None]  # (recipe, results,
# run folder, the data it ran on) -> None


def run_with_teacher(
    recipe: Recipe,
    data: FeatureSet,
    run_dir: str | Path,
    *,
    folds: Optional[list[int]] = None,
    resume: bool = False,
    progress: bool = True,
    teacher_recipe: Optional[Recipe] = None,
    teacher_dir: Optional[str | Path] = None,
    on_finished: Optional[RunFinished] = None,
    parallel: str = "folds",
    init: Optional[str | Path] = None,
) -> Results:
    """Cross-validate ``recipe`` into ``run_dir``, first training its teacher into
    ``teacher_dir`` (default: ``<run_dir's parent>/<teacher name>``) when that folder holds no
    finished run of these folds.

    ``teacher_recipe`` defaults to the named teacher recipe as it stands; pass it with the
    student's overrides (e.g. the epochs of a smoke run) to train both alike.
    ``on_finished(recipe, results, run_dir, data)`` is called after each finished run, the
    teacher's included (``benchmarks/kfold.py`` records rows with it), on rank 0 only under
    torchrun. ``parallel``: as for ``cross_validate``; ``init``: as for ``run_recipe`` (the
    student's: a teacher trains from random weights).
    """
    run_dir = Path(run_dir)
    teacher_run = None
    if recipe.teacher is not None:
        teacher = teacher_recipe or get_recipe(recipe.teacher)
        teacher_run = Path(teacher_dir) if teacher_dir else run_dir.parent / teacher.name
        if not finished_run(teacher_run, folds or list(data.fold_ids)):
            print(f"training the teacher first: recipe {teacher.name!r} -> {teacher_run}")
            run_with_teacher(teacher, data, teacher_run, folds=folds, resume=resume,
                             progress=progress, on_finished=on_finished, parallel=parallel)
    check_init_given(recipe, init)  # before any teacher trains
    results = run_recipe(recipe, data, run_dir, folds=folds, teacher_run=teacher_run,
                         resume=resume, progress=progress, parallel=parallel, init=init)
    if on_finished is not None and current_world().is_main:
        on_finished(recipe, results, run_dir, data)
    return results


def finished_run(run_dir: Path, folds: Sequence[int]) -> bool:
    """Whether ``run_dir`` holds a finished run covering ``folds``."""
    if not (run_dir / "results.json").is_file():
        return False
    return set(folds) <= set(Results.load(run_dir).fold_ids)
