"""``ast-lab export`` and ``load_card``: a recipe run's fold as weights and a card that states
its training data's licence and the crops it is scored by, read back into a Classifier."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from ast_lab import model_card
from ast_lab.cli import main
from ast_lab.model_card import dataset_licence, export_model, load_card, read_card
from ast_lab.recipes import get_recipe

from data_helpers import write_esc50_layout

RECIPE = "esc50-ast"


@pytest.fixture(scope="module")
def crop_run(tmp_path_factory):
    """One fold of the esc50-ast recipe, cut to 1 epoch and 60-frame crops, on a 3-class
    stand-in named esc50 (1-s noise clips): (run folder, the shortened recipe)."""
    tmp = tmp_path_factory.mktemp("card")
    root = write_esc50_layout(tmp / "esc50", n_classes=3, clips_per_class_per_fold=2,
                              seconds=1.0, noise=True)
    recipe = get_recipe(RECIPE).with_settings({"train.epochs": 1, "train.crop_frames": 60,
                                               "train.test_crops": 2})
    from ast_lab.recipes import load_recipe_data, run_recipe

    data = load_recipe_data(dataclasses.replace(recipe, clip_seconds=1.0), "folder", str(root),
                            progress=False)
    run = tmp / "run"
    run_recipe(recipe, data, run, folds=[1], progress=False)
    return run, recipe, root


def test_cards_state_the_training_datas_licence_and_refuse_an_unknown_one():
    assert "CC BY-NC 3.0" in dataset_licence("esc50") and "non-commercial" in dataset_licence("esc50")
    assert "CC BY 3.0" in dataset_licence("esc10")
    with pytest.raises(ValueError, match="no licence is recorded for dataset 'mine'"):
        dataset_licence("mine")


def test_an_exported_crop_model_loads_back_and_scores_files_by_its_crops(
        crop_run, tmp_path, monkeypatch):
    run, recipe, root = crop_run
    monkeypatch.setattr(model_card, "get_recipe", lambda name: recipe)  # the shortened recipe
    card_path = export_model(run, 1, RECIPE, tmp_path)
    card = read_card(card_path)
    assert card["training_data_licence"] == dataset_licence("esc50")
    assert (card["crop_frames"], card["test_crops"]) == (60, 2)
    assert card["trained_on"]["folds"] == "every fold but 1"
    assert card["model_config"]["n_frames"] == 60  # the AST was built for its crops
    state = torch.load(tmp_path / card["weights"], weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    classifier = load_card(card_path)
    assert (classifier.crop_frames, classifier.test_crops) == (60, 2)
    clip = sorted((root / "audio").iterdir())[0]
    probabilities = classifier.classify_file(clip).probabilities
    assert probabilities.shape == (3,) and np.isclose(probabilities.sum(), 1, atol=1e-5)


def test_export_refuses_a_run_of_another_recipe(crop_run, tmp_path, capsys):
    run, _, _ = crop_run
    code = main(["export", "--run", str(run), "--fold", "1", "--recipe", RECIPE,
                 "--out", str(tmp_path)])
    assert code == 1 and "was not trained by recipe esc50-ast" in capsys.readouterr().err


def test_a_damaged_card_is_named(tmp_path):
    from ast_lab.model_card import read_card

    card = tmp_path / "x.json"
    card.write_text('{"name": "esc50-ast", ')
    with pytest.raises(ValueError, match=r"x\.json is damaged .*export the model again"):
        read_card(card)
