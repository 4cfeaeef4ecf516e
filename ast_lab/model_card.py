"""A trained model as two files: its weights and a JSON card that says what it is.

``export_model`` takes one fold of a finished ``ast-lab train --recipe`` run and writes

- ``<name>.pt``: the weights only (a ``state_dict`` of tensors), loadable with
  ``torch.load(weights_only=True)``;
- ``<name>.json``: the card: recipe, model and FBANK configs, clip length, the normalisation
  ``(mean, std)`` in dB of its training folds, class names and the dataset's target numbers,
  the code commit it was trained at, the folds it was trained and tested on, the recipe's
  5-fold accuracy, the training data and its licence, the weights' sha256, and the command
  that reproduces it.

``load_card`` reads a card back into a ``Classifier`` with exactly the features the model was
trained on. The package ships one (``SHIPPED_CARD``): ``esc50-ast``, the AST from scratch trained
on ESC-50 folds 2-5 and tested on fold 1 (the 50 classes), made by ``make model``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any, Optional

import torch

from .atomic_files import load_json, save_json
from .checkpoint import load_checkpoint, save_checkpoint
from .classifier import Classifier
from .config import FbankConfig, TrainConfig
from .metrics import Results, commit_label
from .models import MODELS, build_model
from .recipes import RECIPES, Recipe, get_recipe
from .training import BEST, config_from_dict, fold_dir, model_kind

MODEL_DIR = Path(__file__).resolve().parent / "assets" / "model"
EXPORT_DIR = Path("exported")  # export's default folder; the package's MODEL_DIR only when named
FITTED = ("num_classes", "n_mels", "n_frames")  # model fields a run takes from its data
SHIPPED_CARD = MODEL_DIR / "esc50-ast.json"
REPRODUCE = "make model  (needs ../shared/esc50; about 16 min on 2 CPU cores)"
LICENCES = {  # the training data's licence, by dataset name, quoted on every card
    "esc10": (
        "ESC-10 (K. J. Piczak, ACM Multimedia 2015), CC BY 3.0; its clips are cut from Freesound "
        "recordings under CC0, CC-BY and (2 of 400) CC Sampling+, listed per clip in the "
        "dataset's meta/esc10-clip-licences.txt"),
    "esc50": (
        "ESC-50 (K. J. Piczak, ACM Multimedia 2015), CC BY-NC 3.0: trained on non-commercial "
        "data, so weights and their use inherit that restriction; per-clip Freesound authors "
        "and licences are listed in the dataset's meta/esc50-v1-readme.txt"),
    "fsdd": (
        "Free Spoken Digit Dataset (FSDD, Z. Jackson et al.), CC BY-SA 4.0: derived works use "
        "the same licence"),
}


def dataset_licence(dataset: str) -> str:
    """The licence line of the dataset called ``dataset`` (``LICENCES``); ValueError for one
    whose licence this project does not know, so no card goes out without one."""
    if dataset not in LICENCES:
        raise ValueError(f"no licence is recorded for dataset {dataset!r}; known: "
                         f"{sorted(LICENCES)} (add it to ast_lab.model_card.LICENCES)")
    return LICENCES[dataset]


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def recipe_differences(saved: Results, recipe: Recipe) -> list[str]:
    """How run ``saved`` differs from ``recipe``, one ``"part.field (run X, recipe Y)"`` each:
    the model's kind first (one entry if it differs), then its train settings (device aside),
    FBANK and model config (the fields fitted to the data aside). A field the run does not
    record (added to the code after it was trained) counts at its default, the behaviour the
    code had before the field existed."""
    kind = model_kind(recipe.model)
    if saved.model != kind:
        return [f"model (run {saved.model}, recipe {kind})"]
    expected = json.loads(json.dumps({
        "train": {**dataclasses.asdict(recipe.train), "device": None},
        "fbank": dataclasses.asdict(recipe.fbank),
        "model": {k: v for k, v in dataclasses.asdict(recipe.model).items() if k not in FITTED}}))
    recorded = {"train": (TrainConfig, saved.configs["train"]),
                "fbank": (FbankConfig, saved.configs["fbank"]),
                "model": (MODELS[kind][1], saved.configs["model"])}
    found = json.loads(json.dumps({part: dataclasses.asdict(config_from_dict(cls, fields))
                                   for part, (cls, fields) in recorded.items()}))
    found["train"]["device"] = None
    return [f"{part}.{k} (run {found[part].get(k)!r}, recipe {v!r})"
            for part, fields in expected.items() for k, v in fields.items()
            if v != found[part].get(k)]


def check_run_matches_recipe(saved: Results, recipe_name: str, run_dir: Path) -> None:
    """ValueError unless the run was trained with recipe ``recipe_name`` as it stands (its
    model, train settings, device aside, and FBANK): a card must not claim a recipe it lacks.
    The message names the recipe the run matches, if one does, else how it differs."""
    differences = recipe_differences(saved, get_recipe(recipe_name))
    if not differences:
        return
    matching = [name for name in RECIPES if not recipe_differences(saved, get_recipe(name))]
    if matching:
        raise ValueError(f"{run_dir} was trained by recipe {' or '.join(matching)}, not "
                         f"{recipe_name}: export it with --recipe {matching[0]}")
    shown = ", ".join(differences[:3]) + (
        f" and {len(differences) - 3} more" if len(differences) > 3 else "")
    raise ValueError(f"{run_dir} was not trained by recipe {recipe_name} as it stands, nor by "
                     f"another recipe: it differs in {shown}; export a run of a recipe as named")


def export_model(
    run_dir: str | Path,
    fold: int,
    recipe_name: str,
    out_dir: str | Path = EXPORT_DIR,
    five_fold: Optional[str | Path] = None,
) -> Path:
    """Write ``<recipe>.pt`` and ``<recipe>.json`` for fold ``fold`` of run ``run_dir`` into
    ``out_dir``; ``five_fold``: a results folder of the recipe's full 5-fold run, whose mean
    accuracy the card quotes. The training data's licence comes from ``LICENCES`` by the
    run's dataset name. Returns the card's path."""
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    saved = Results.load(run_dir)
    check_run_matches_recipe(saved, recipe_name, run_dir)
    if fold not in saved.fold_ids:
        raise ValueError(f"{run_dir} has no fold {fold}; it has folds {saved.fold_ids}")
    best = load_checkpoint(fold_dir(run_dir, saved.model, fold) / BEST)
    weights = out_dir / f"{recipe_name}.pt"
    save_checkpoint({k: v.float() for k, v in best["model"].items()}, weights)
    tested = next(f for f in saved.folds if f.test_fold == fold)
    data = best["run_config"]["data"]
    card = {
        "name": recipe_name,
        "summary": get_recipe(recipe_name).summary,
        "model": saved.model,
        "model_config": saved.configs["model"],
        "fbank": saved.configs["fbank"],
        "clip_seconds": data["clip_seconds"],
        "crop_frames": saved.configs["train"].get("crop_frames", 0),
        "test_crops": saved.configs["train"].get("test_crops", 1),
        "norm_mean": best["norm_mean"],
        "norm_std": best["norm_std"],
        "class_names": list(saved.class_names),
        "class_targets": list(saved.class_targets or range(len(saved.class_names))),
        "code_commit": commit_label(saved.version),
        "trained_on": _trained_on(data, fold, len(tested.predictions.indices)),
        "tested_on": {"fold": fold, "clips": len(tested.predictions.indices),
                      "accuracy": round(float(tested.metrics.scores()["accuracy"]), 4)},
        "recipe_5fold_accuracy": _five_fold(five_fold),
        "training_data_licence": dataset_licence(data["name"]),
        "weights": weights.name,
        "weights_sha256": sha256(weights),
        "parameters": sum(v.numel() for v in best["model"].values()),
        "reproduce": REPRODUCE,
    }
    card_path = out_dir / f"{recipe_name}.json"
    save_json(card, card_path)
    return card_path


def _trained_on(data: dict[str, Any], fold: int, n_test: int) -> dict[str, Any]:
    """The training data of a fold run: every clip outside test fold ``fold`` (less the
    validation share, if the run held one out)."""
    held = data["val_fraction"]
    return {"dataset": data["name"], "folds": f"every fold but {fold}",
            "clips": data["n_clips"] - n_test if held == 0 else None,
            "validation_fraction": held}


def _five_fold(results_dir: Optional[str | Path]) -> Optional[dict[str, Any]]:
    if results_dir is None:
        return None
    full = Results.load(results_dir)
    mean, std = full.summary()["accuracy"]
    return {"mean": round(mean, 4), "std": round(std, 4), "folds": len(full.folds),
            "commit": commit_label(full.version), "results": str(results_dir)}


def read_card(card_path: str | Path = SHIPPED_CARD) -> dict[str, Any]:
    """The card's JSON; FileNotFoundError naming it when missing, ValueError naming it when
    damaged."""
    card_path = Path(card_path)
    if not card_path.is_file():
        raise FileNotFoundError(f"model card not found: {card_path}")
    return load_json(card_path, "export the model again (make model rebuilds the shipped one)")


def load_card(card_path: str | Path = SHIPPED_CARD) -> Classifier:
    """The model a card describes, as a ``Classifier`` (CPU, eval mode). ValueError when the
    weights beside it are not the ones the card names (sha256)."""
    card_path = Path(card_path)
    card = read_card(card_path)
    weights = card_path.parent / card["weights"]
    if not weights.is_file() or sha256(weights) != card["weights_sha256"]:
        raise ValueError(f"{weights} is missing or is not the file {card_path.name} describes")
    model_cfg = config_from_dict(MODELS[card["model"]][1], card["model_config"])
    model = build_model(card["model"], model_cfg)
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return Classifier(
        kind=card["model"], models=[model.eval()], norms=[(card["norm_mean"], card["norm_std"])],
        fbank=config_from_dict(FbankConfig, card["fbank"]), clip_seconds=card["clip_seconds"],
        class_names=card["class_names"], class_targets=card["class_targets"],
        crop_frames=card.get("crop_frames", 0), test_crops=card.get("test_crops", 1),
        source=f"{card_path} ({card['name']})")
