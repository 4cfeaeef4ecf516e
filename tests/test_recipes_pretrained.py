"""The paper's ESC-50 fine-tuning recipes hold the authors' settings, and the training features
they brought (Adam with betas, fixed normalisation by 2 std) leave every other recipe as it was.

The authors' values are those of ``egs/esc50/run_esc.sh`` in github.com/YuanGongND/ast, as their
``src/run.py``, ``traintest.py``, ``dataloader.py`` and ``models/ast_models.py`` use them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np
import pytest
import torch

from ast_lab.config import ASTConfig, TrainConfig
from ast_lab.features import frames_for_seconds
from ast_lab.recipes import RECIPES, get_recipe
from ast_lab.training import lr_factor, make_optimizer
from ast_lab.training.fold_setup import fold_norm
from ast_lab.training.run_folder import setting_changes

PRETRAINED = ("esc50-ast-imagenet", "esc50-ast-audioset")
NEW_TRAIN_FIELDS = ("optimizer", "betas", "norm_stats", "norm_scale")
# sha256 of each recipe's name, summary, clip length, split, teacher and configs (the new train
# fields left out), computed at d69edad, before they existed: every recipe as it was
RECIPES_BEFORE = {
    "ast": "dceb255d976e2b76", "ast-distilled": "092ed53c9d63aab9", "cnn": "f2e22b4f8b3efa92",
    "esc10-ast": "ec528b59c4b84267", "esc10-ast-distilled": "cbb59beb95657c3e",
    "esc10-cnn": "68390b960b8724d8", "esc50-ast": "ad1f27c617c7736a",
    "esc50-ast-distilled": "f87906ea5c2e7132", "esc50-cnn": "84dea6a2118c446c",
    "esc50-gpu-ast": "f045e03e9e393356", "esc50-gpu-ast-distilled": "01ab471dd789260a",
    "esc50-gpu-cnn": "4a5b5c993049e8ea",
}


def digest(name: str) -> str:
    recipe = get_recipe(name)
    parts = {part: {k: v for k, v in dataclasses.asdict(getattr(recipe, part)).items()
                    if k not in NEW_TRAIN_FIELDS} for part in ("model", "train", "fbank")}
    parts.update(name=recipe.name, clip_seconds=recipe.clip_seconds,
                 val_fraction=recipe.val_fraction, teacher=recipe.teacher, summary=recipe.summary)
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def test_other_recipes_are_unchanged_and_keep_the_new_fields_at_their_defaults():
    assert {name: digest(name) for name in RECIPES_BEFORE} == RECIPES_BEFORE
    defaults = TrainConfig()
    for name in RECIPES_BEFORE:
        recipe = get_recipe(name)
        assert recipe.needs_init is None
        for field in NEW_TRAIN_FIELDS:
            assert getattr(recipe.train, field) == getattr(defaults, field)
    assert set(RECIPES) == set(RECIPES_BEFORE) | set(PRETRAINED)


@pytest.mark.parametrize("name, lr", [("esc50-ast-imagenet", 1e-4), ("esc50-ast-audioset", 1e-5)])
def test_the_recipes_hold_the_authors_esc50_settings(name, lr):
    recipe = get_recipe(name)
    train, model, fbank = recipe.train, recipe.model, recipe.fbank
    assert (train.lr, train.epochs, train.batch_size) == (lr, 25, 48)
    assert (train.freq_mask, train.time_mask, train.mixup_alpha) == (24, 96, 0.0)
    assert (train.optimizer, train.betas, train.weight_decay) == ("adam", (0.95, 0.999), 5e-7)
    assert (train.schedule, train.warmup_epochs) == ("step", 0)  # warmup=False
    assert (train.step_decay_start, train.step_decay_gamma) == (5, 0.85)
    assert train.norm_stats == (-6.6268077, 5.358466) and train.norm_scale == 2.0
    assert (train.label_smoothing, train.time_shift, train.grad_clip) == (0.0, 0, None)
    assert (model.embed_dim, model.depth, model.num_heads, model.patch_size) == (768, 12, 12, 16)
    assert (model.fstride, model.tstride, model.pooling) == (10, 10, "tokens")  # (CLS+DIST)/2
    assert (model.head_norm, model.layer_norm_eps, model.head_norm_eps) == (True, 1e-6, 1e-5)
    assert (model.drop_rate, model.drop_path_rate) == (0.0, 0.0)
    assert (fbank.sample_rate, fbank.n_mels, fbank.win_ms, fbank.hop_ms) == (16_000, 128, 25, 10)
    assert (fbank.window, fbank.periodic, fbank.log, fbank.pad_value) == ("hann", False, "ln", 0)
    assert frames_for_seconds(recipe.clip_seconds, fbank) == 512  # audio_length=512
    assert recipe.needs_init and recipe.teacher is None
    assert "88.7" in get_recipe("esc50-ast-imagenet").summary
    assert "95.6" in get_recipe("esc50-ast-audioset").summary


def test_the_step_schedule_is_multisteplr_from_epoch_5():
    """Their MultiStepLR(milestones=range(5, 1000), gamma=0.85), stepped after each epoch."""
    train = get_recipe("esc50-ast-imagenet").train
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    theirs = torch.optim.lr_scheduler.MultiStepLR(optimizer, list(range(5, 1000)), gamma=0.85)
    for epoch in range(train.epochs):
        ours = lr_factor(epoch * 10 + 3, 10, train)  # any step within the epoch
        assert ours == pytest.approx(optimizer.param_groups[0]["lr"])
        optimizer.step()
        theirs.step()


def test_adam_decays_every_tensor_and_adamw_stays_as_it_was():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LayerNorm(4))
    adam = make_optimizer(model, get_recipe("esc50-ast-audioset").train)
    assert type(adam) is torch.optim.Adam and len(adam.param_groups) == 1
    group = adam.param_groups[0]
    assert (group["betas"], group["weight_decay"], group["lr"]) == ((0.95, 0.999), 5e-7, 1e-5)
    adamw = make_optimizer(model, TrainConfig())
    assert type(adamw) is torch.optim.AdamW
    assert [g["weight_decay"] for g in adamw.param_groups] == [0.05, 0.0]
    assert all(g["betas"] == (0.9, 0.999) for g in adamw.param_groups)


class FakeData:
    """What ``fold_norm`` reads of a feature set: features and the dataset root."""

    def __init__(self, features: np.ndarray):
        self.features = features
        self.metadata = type("Metadata", (), {"root": "here"})()


def test_fixed_statistics_and_two_std():
    data = FakeData(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    train = np.array([0, 1])
    mean, std = fold_norm(data, train, TrainConfig(), 1)
    assert mean == pytest.approx(11.5) and std == pytest.approx(np.arange(24).std(), rel=1e-4)
    paper = get_recipe("esc50-ast-imagenet").train
    assert fold_norm(data, train, paper, 1) == (-6.6268077, 2 * 5.358466)


def test_runs_saved_before_the_new_fields_resume_at_their_defaults():
    now = json.loads(json.dumps({"train_config": dataclasses.asdict(TrainConfig(epochs=3))}))
    before = {"train_config": {k: v for k, v in now["train_config"].items()
                               if k not in NEW_TRAIN_FIELDS}}
    assert setting_changes(before, now) == []
    changed = json.loads(json.dumps(
        {"train_config": dataclasses.asdict(TrainConfig(epochs=3, optimizer="adam"))}))
    assert setting_changes(before, changed) == ["train_config (optimizer None -> 'adam')"]



def test_model_config_fields_added_since_a_run_count_at_their_defaults():
    now = json.loads(json.dumps({"model": "ast", "model_config": dataclasses.asdict(ASTConfig())}))
    before = {"model": "ast", "model_config": {k: v for k, v in now["model_config"].items()
                                               if k != "layer_norm_eps"}}
    assert setting_changes(before, now) == []
    changed = json.loads(json.dumps(
        {"model": "ast", "model_config": dataclasses.asdict(ASTConfig(layer_norm_eps=1e-6))}))
    assert setting_changes(before, changed) == ["model_config (layer_norm_eps None -> 1e-06)"]

def test_the_pretrained_model_is_the_base_ast_the_paper_fine_tunes():
    model = get_recipe("esc50-ast-imagenet").model
    assert dataclasses.replace(model, head_norm=False, layer_norm_eps=1e-5, drop_path_rate=0.1) \
        == ASTConfig.preset("base")
