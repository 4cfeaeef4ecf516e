"""Per-fold metrics, mean ± std aggregation, the results table and the saved files."""

import csv
import json
import math

import numpy as np
import pytest

import ast_lab
from ast_lab.metrics import (
    FoldResult,
    Predictions,
    Results,
    code_version,
    fold_metrics,
    format_mean_std,
    mean_std,
    results_table,
)
from ast_lab.plotting import plot_learning_curves, plot_misclassified

CLASSES = ["dog", "rain", "siren"]


def test_fold_metrics_by_hand():
    # class 0: 2 of 2 right; class 1: 1 of 2 (one predicted as 2); class 2: 0 of 1, predicted 0
    targets = np.array([0, 0, 1, 1, 2])
    predicted = np.array([0, 0, 1, 2, 0])
    m = fold_metrics(targets, predicted, 3)
    assert m.accuracy == pytest.approx(3 / 5)
    precision = [2 / 3, 1 / 1, 0 / 1]
    recall = [2 / 2, 1 / 2, 0 / 1]
    f1 = [2 * p * r / (p + r) if p + r else 0.0 for p, r in zip(precision, recall)]
    assert m.precision == pytest.approx(np.mean(precision))
    assert m.recall == pytest.approx(np.mean(recall))
    assert m.f1 == pytest.approx(np.mean(f1))
    np.testing.assert_allclose(m.per_class_f1, f1)
    np.testing.assert_array_equal(m.confusion, [[2, 0, 0], [0, 1, 1], [1, 0, 0]])


def test_fold_metrics_counts_absent_classes_with_zero_division_zero():
    # class 3 neither occurs nor is predicted: it scores 0 and still counts in the macro mean
    m = fold_metrics(np.array([0, 1, 2]), np.array([0, 1, 2]), 4)
    assert m.accuracy == 1.0
    assert m.precision == pytest.approx(0.75) and m.f1 == pytest.approx(0.75)
    assert m.confusion.shape == (4, 4)


def test_mean_std_is_the_sample_std():
    mean, std = mean_std([0.7, 0.8, 0.9])
    assert mean == pytest.approx(0.8)
    assert std == pytest.approx(0.1)  # ddof=1; the population std would be 0.0816
    assert math.isnan(mean_std([0.5])[1])


def test_format_mean_std():
    assert format_mean_std(0.81234, 0.0456) == "0.812 ± 0.046"
    assert format_mean_std(0.5, math.nan) == "0.500 ± n/a"


def _fold(test_fold: int, targets, predicted, model: str = "cnn") -> FoldResult:
    targets, predicted = np.asarray(targets), np.asarray(predicted)
    probs = np.eye(len(CLASSES), dtype=np.float32)[predicted] * 0.7 + 0.1
    history = {k: [0.5, 0.4, 0.6] for k in ("train_loss", "train_acc", "val_loss", "val_acc")}
    return FoldResult(
        model=model,
        test_fold=test_fold,
        num_classes=len(CLASSES),
        history={**history, "lr": [1e-3, 5e-4, 1e-4]},
        best_epoch=2,
        stopped_early=False,
        norm_mean=-40.0,
        norm_std=12.5,
        n_train=20,
        n_val=5,
        predictions=Predictions(
            indices=np.arange(len(targets)) + 10 * test_fold,
            targets=targets,
            predicted=predicted,
            probabilities=probs,
        ),
        seconds=1.5,
    )


def _results(model: str = "cnn", shuffled: bool = False) -> Results:
    folds = [
        _fold(1, [0, 1, 2, 2], [0, 1, 2, 2], model),  # accuracy 1
        _fold(2, [0, 1, 2, 2], [0, 1, 1, 0], model),  # accuracy 0.5
    ]
    configs = {"model": {"channels": [8, 16]}, "train": {"epochs": 3}, "fbank": None, "data": None}
    return Results(model, folds, CLASSES, configs, shuffled_labels=shuffled, seconds=3.0)


def test_results_summary_and_table_rows():
    r = _results()
    summary = r.summary()
    assert summary["accuracy"] == pytest.approx((0.75, np.std([1.0, 0.5], ddof=1)))
    lines = r.table().splitlines()
    assert lines[0] == "| Model | Accuracy | Average Precision | Average Recall | Average F1 |"
    assert lines[2].startswith("| CNN | 0.750 ± 0.354 | ")
    assert len(lines) == 3
    both = results_table([r, _results("ast"), _results("cnn", shuffled=True)]).splitlines()
    assert [line.split(" | ")[0] for line in both[2:]] == [
        "| CNN", "| AST", "| CNN (shuffled labels)"
    ]
    assert all(line.count("±") == 4 for line in both[2:])


def test_summed_confusion_counts_every_test_clip_once():
    r = _results()
    assert r.confusion().sum() == sum(len(f.predictions.targets) for f in r.folds)
    np.testing.assert_array_equal(r.confusion().sum(axis=1), [2, 2, 4])


def test_save_writes_json_csv_plots_and_load_round_trips(tmp_path):
    r = _results()
    r.save(tmp_path)
    for name in ("results.json", "results.csv", "learning_curves.png", "confusion_matrix.png",
                 "per_class_f1.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["configs"]["model"] == {"channels": [8, 16]}
    assert saved["version"]["ast_lab"] == ast_lab.__version__
    assert saved["folds"][1]["metrics"]["accuracy"] == 0.5
    assert saved["summary"]["accuracy"]["mean"] == pytest.approx(0.75)

    with (tmp_path / "results.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [row["fold"] for row in rows] == ["1", "2", "mean", "std"]
    assert float(rows[1]["accuracy"]) == 0.5
    assert float(rows[3]["accuracy"]) == pytest.approx(np.std([1.0, 0.5], ddof=1))

    loaded = Results.load(tmp_path)
    assert loaded.table() == r.table()
    assert loaded.to_dict() == r.to_dict()
    np.testing.assert_array_equal(loaded.folds[0].predictions.probabilities,
                                  r.folds[0].predictions.probabilities)


def test_single_fold_std_is_null_in_json(tmp_path):
    r = _results()
    r.folds = r.folds[:1]
    assert "± n/a" in r.table()
    assert json.loads(json.dumps(r.to_dict()))["summary"]["f1"]["std"] is None


def test_code_version_names_the_package():
    version = code_version()
    assert version["ast_lab"] == ast_lab.__version__
    commit = version["git_commit"]
    assert commit is None or (len(commit) == 40 and int(commit, 16) >= 0)
    assert version["git_dirty"] in (None, True, False)
    assert (version["git_dirty"] is None) == (commit is None)


def test_misclassified_lists_only_mistakes_most_confident_first():
    r = _results()
    fold2 = r.folds[1]
    fold2.predictions.probabilities[2] = [0.1, 0.6, 0.3]  # clip 22: true 2, predicted 1 at 0.6
    fold2.predictions.probabilities[3] = [0.9, 0.05, 0.05]  # clip 23: true 2, predicted 0 at 0.9
    assert r.misclassified() == [(23, 2, 0, pytest.approx(0.9)), (22, 2, 1, pytest.approx(0.6))]


def test_plot_misclassified_titles_each_mistake_and_refuses_none():
    features = np.random.default_rng(0).normal(size=(30, 8, 20)).astype(np.float32)
    wrong = [(23, 2, 0, 0.9), (22, 2, 1, 0.6)]
    fig = plot_misclassified(features, wrong, CLASSES, hop_length=160, sample_rate=16000)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert titles == ["siren -> dog (0.90)", "siren -> rain (0.60)"]
    with pytest.raises(ValueError, match="no misclassified"):
        plot_misclassified(features, [], CLASSES, hop_length=160, sample_rate=16000)


def test_learning_curves_draw_validation_only_when_there_was_a_split():
    train = {"train_loss": [2.0, 1.0], "train_acc": [0.3, 0.6]}
    with_val = {**train, "val_loss": [2.1, 1.2], "val_acc": [0.2, 0.5]}
    without = {**train, "val_loss": [math.nan] * 2, "val_acc": [math.nan] * 2}
    fig = plot_learning_curves({1: with_val, 2: with_val})
    assert len(fig.axes[1].lines) == 4 and "dashed val" in fig.axes[1].get_title()
    fig = plot_learning_curves({1: without, 2: without})
    assert len(fig.axes[1].lines) == 2 and "no validation split" in fig.axes[1].get_title()
    assert [t.get_text() for t in fig.axes[1].get_legend().get_texts()] == ["fold 1", "fold 2"]
