"""The named recipes: valid, consistent, and one training step each at their real input size."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from ast_lab.augment import Augment
from ast_lab.config import ASTConfig
from ast_lab.distill import Teacher
from ast_lab.features import frames_for_seconds
from ast_lab.models import build_model
from ast_lab.recipes import RECIPES, get_recipe
from ast_lab.training import (
    batch_loss,
    check_distillation,
    check_train_config,
    make_optimizer,
    model_kind,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_every_recipe_has_esc10_esc50_and_gpu_variants_and_each_teacher_exists():
    short = [name for name in RECIPES if not name.startswith(("esc10-", "esc50-"))]
    assert sorted(short) == ["ast", "ast-distilled", "cnn"]
    assert len(RECIPES) == 14  # and the two fine-tuning recipes (test_recipes_pretrained)
    for name in short:
        assert {f"esc10-{name}", f"esc50-{name}", f"esc50-gpu-{name}"} <= set(RECIPES)
    for recipe in RECIPES.values():
        check_train_config(recipe.train)
        if recipe.teacher is not None:
            teacher = get_recipe(recipe.teacher)
            assert (teacher.fbank, teacher.clip_seconds) == (recipe.fbank, recipe.clip_seconds)
            assert recipe.model.pooling == "distilled" and recipe.train.distillation != "none"
        else:
            assert recipe.train.distillation == "none"


def test_esc10_variants_use_five_second_clips():
    for name in ("esc10-cnn", "esc10-ast", "esc10-ast-distilled"):
        recipe = get_recipe(name)
        assert recipe.clip_seconds == 5.0
        assert frames_for_seconds(5.0, recipe.fbank) == 501  # centred frames, 10 ms hop


def test_settings_replace_named_fields_and_refuse_unknown_ones():
    recipe = get_recipe("esc10-cnn").with_settings(
        {"train.mixup_alpha": 0.3, "model.channels": [8, 16], "fbank.n_mels": 32})
    assert recipe.train.mixup_alpha == 0.3 and recipe.model.channels == (8, 16)
    assert recipe.fbank.n_mels == 32 and recipe.name == "esc10-cnn"
    assert recipe.train.epochs == get_recipe("esc10-cnn").train.epochs
    with pytest.raises(ValueError, match="train has no field 'mixup'"):
        get_recipe("esc10-cnn").with_settings({"train.mixup": 0.3})
    with pytest.raises(ValueError, match="part must be one of"):
        get_recipe("esc10-cnn").with_settings({"optimizer.lr": 0.1})


def test_esc50_gpu_variants_use_five_second_clips_and_the_papers_features():
    for name in ("esc50-gpu-cnn", "esc50-gpu-ast", "esc50-gpu-ast-distilled"):
        recipe = get_recipe(name)
        assert recipe.clip_seconds == 5.0 and recipe.fbank.n_mels == 128
        assert frames_for_seconds(5.0, recipe.fbank) == 512  # 498 frames padded as the paper
    assert get_recipe("esc50-gpu-ast-distilled").teacher == "esc50-gpu-cnn"


def test_esc50_cpu_recipes_are_smaller_than_the_gpu_ones_and_teach_in_pairs():
    for name in ("esc50-cnn", "esc50-ast", "esc50-ast-distilled"):
        cpu, gpu = get_recipe(name), get_recipe(name.replace("esc50-", "esc50-gpu-"))
        assert cpu.clip_seconds == gpu.clip_seconds == 5.0
        assert cpu.fbank.n_mels < gpu.fbank.n_mels
    # the CPU's AVX-512 BF16 halves the CNN's step; the micro AST is faster in float32
    assert get_recipe("esc50-cnn").train.precision == "bf16"
    assert get_recipe("esc50-ast").train.precision == "float32"
    assert get_recipe("esc50-ast-distilled").teacher == "esc50-cnn"


def test_recipes_without_validation_split_test_their_last_weights():
    for recipe in RECIPES.values():
        assert recipe.val_fraction == 0 and recipe.train.selection == "last"
        assert recipe.data_config("folder", "x").val_fraction == 0


def test_unknown_recipes_are_named_in_the_error_and_overrides_touch_only_what_is_asked():
    with pytest.raises(ValueError, match="ast-distilled"):
        get_recipe("transformer")
    recipe = get_recipe("ast").with_overrides(epochs=1)
    assert recipe.train.epochs == 1
    assert dataclasses.replace(recipe.train, epochs=get_recipe("ast").train.epochs) == get_recipe(
        "ast").train


# esc50-ast-audioset has esc50-ast-imagenet's model and input (a base AST at 128 x 512)
@pytest.mark.parametrize("name", sorted(set(RECIPES) - {"esc50-ast-audioset"}))
def test_one_training_step_at_the_recipes_input_size(name):
    recipe = get_recipe(name)
    n_mels, frames = recipe.fbank.n_mels, frames_for_seconds(recipe.clip_seconds, recipe.fbank)
    model_cfg = recipe.model
    if isinstance(model_cfg, ASTConfig):  # sized to the crops it trains on, if it crops
        model_cfg = dataclasses.replace(model_cfg, n_mels=n_mels,
                                        n_frames=recipe.train.crop_frames or frames)
    model_cfg = dataclasses.replace(model_cfg, num_classes=50)
    teacher = None
    if recipe.teacher is not None:
        teacher_recipe = get_recipe(recipe.teacher)
        teacher_model = build_model(model_kind(teacher_recipe.model),
                                    dataclasses.replace(teacher_recipe.model, num_classes=50))
        teacher = Teacher(teacher_model, (0.0, 1.0), (0.0, 1.0))
    check_distillation(model_cfg, recipe.train, None if teacher is None else Path("teacher"))
    model = build_model(model_kind(model_cfg), model_cfg)
    specs, targets = torch.randn(2, 1, n_mels, frames), torch.tensor([3, 7])
    augment = Augment.from_config(recipe.train, 50, rng=np.random.default_rng(0))
    specs, soft = augment(specs, targets)
    loss, logits = batch_loss(model, specs, soft, recipe.train, teacher)
    assert logits.shape == (2, 50) and torch.isfinite(loss)
    loss.backward()
    make_optimizer(model, recipe.train).step()
