"""Comparing runs of different models on the same clips: per-class accuracy, the 2×2 table of
right/wrong with McNemar's test, the ensemble, the figure and ``scripts/compare_runs.py``."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402

from ast_lab.metrics import FoldResult, Predictions, Results  # noqa: E402
from ast_lab.run_comparison import (  # noqa: E402
    disagreement,
    ensemble_accuracy,
    per_class_accuracy,
    plot_per_class_accuracy,
    pooled_predictions,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
ESC10 = REPO_ROOT / "results" / "esc10"
CLASSES = ["dog", "rain", "siren"]
HISTORY = {k: [0.5] for k in ("train_loss", "train_acc", "val_loss", "val_acc", "lr")}


def make_run(targets, predicted, probabilities=None, indices=None, class_names=CLASSES,
             model: str = "cnn", n_folds: int = 2) -> Results:
    """A run whose clip ``i`` (of ``n``) is tested in fold ``i % n_folds + 1``."""
    targets, predicted = np.asarray(targets), np.asarray(predicted)
    n, c = len(targets), len(class_names)
    indices = np.arange(n) if indices is None else np.asarray(indices)
    if probabilities is None:
        probabilities = np.eye(c, dtype=np.float32)[predicted] * 0.7 + 0.3 / c
    probabilities = np.asarray(probabilities, dtype=np.float32)
    folds = []
    for k in range(n_folds):
        m = np.arange(n) % n_folds == k
        folds.append(FoldResult(
            model=model, test_fold=k + 1, num_classes=c, history=HISTORY, best_epoch=0,
            stopped_early=False, norm_mean=0.0, norm_std=1.0, n_train=0, n_val=0,
            predictions=Predictions(indices[m], targets[m], predicted[m], probabilities[m]),
            seconds=0.0,
        ))
    return Results(model, folds, list(class_names), {}, version={})


def known_pair() -> tuple[Results, Results]:
    """20 clips: 6 both right, 1 only a, 9 only b, 4 both wrong (2 with the same answer)."""
    kinds = ["both"] * 6 + ["a"] + ["b"] * 9 + ["same"] * 2 + ["other"] * 2
    targets = np.arange(len(kinds)) % 3
    pred_a = np.where([k in ("both", "a") for k in kinds], targets, (targets + 1) % 3)
    pred_b = np.where([k in ("both", "b") for k in kinds], targets,
                      np.where([k == "same" for k in kinds], (targets + 1) % 3, (targets + 2) % 3))
    return make_run(targets, pred_a), make_run(targets, pred_b, model="ast")


def test_known_case_gives_known_counts_and_mcnemar_p():
    d = disagreement(*known_pair())
    assert (d.both_right, d.only_a, d.only_b, d.both_wrong) == (6, 1, 9, 4)
    assert d.both_wrong_same == 2
    assert d.n_clips == 20
    assert d.accuracy_a == pytest.approx(7 / 20) and d.accuracy_b == pytest.approx(15 / 20)
    assert d.agreement == pytest.approx((6 + 2) / 20)
    assert d.oracle == pytest.approx(16 / 20)
    # exact two-sided binomial: 2 * P(X <= 1), X ~ Bin(10, 1/2) = 2 * 11 / 1024
    assert d.mcnemar_p == pytest.approx(22 / 1024)
    assert d.names == ("CNN", "AST")


def test_swapping_the_runs_swaps_the_counts_not_the_p_value():
    a, b = known_pair()
    ab, ba = disagreement(a, b), disagreement(b, a)
    assert (ba.only_a, ba.only_b) == (ab.only_b, ab.only_a)
    assert ba.mcnemar_p == pytest.approx(ab.mcnemar_p)
    np.testing.assert_allclose(ba.difference, -ab.difference)


def test_identical_runs_agree_everywhere_and_p_is_one():
    a = make_run([0, 1, 2, 0], [0, 2, 2, 1])
    d = disagreement(a, a, ("first", "second"))
    assert (d.only_a, d.only_b, d.both_wrong_same) == (0, 0, 2)
    assert d.agreement == 1.0 and d.mcnemar_p == 1.0
    assert d.ahead(0) == [] and d.ahead(1) == []


@pytest.mark.parametrize("run", ["esc10-cnn", "esc10-ast", "esc10-ast-distilled"])
def test_counts_add_up_to_the_clips_on_the_real_esc10_runs(run):
    a, b = Results.load(ESC10 / "esc10-cnn"), Results.load(ESC10 / run)
    d = disagreement(a, b)
    assert d.n_clips == 400 == sum(len(f.predictions.indices) for f in a.folds)
    assert d.both_wrong_same <= d.both_wrong
    assert d.accuracy_a == pytest.approx(a.summary()["accuracy"][0])  # equal-sized folds
    assert d.accuracy_b == pytest.approx(b.summary()["accuracy"][0])
    assert d.ensemble == pytest.approx(ensemble_accuracy([a, b]))


def test_per_class_accuracy_is_the_confusion_diagonal_over_row_sums():
    for r in (Results.load(ESC10 / "esc10-ast"), known_pair()[0]):
        cm = r.confusion()
        np.testing.assert_allclose(per_class_accuracy(r), np.diag(cm) / cm.sum(axis=1))
    # a class with no clips has no accuracy (NaN), not 0
    acc = per_class_accuracy(make_run([0, 0, 1], [0, 1, 1]))
    np.testing.assert_allclose(acc[:2], [0.5, 1.0])
    assert np.isnan(acc[2])


def test_per_class_differences_and_the_classes_each_run_leads():
    # dog: a 2/2, b 0/2; rain: a 0/2, b 1/2; siren: both 1/2
    targets = [0, 0, 1, 1, 2, 2]
    a = make_run(targets, [0, 0, 0, 0, 2, 0])
    b = make_run(targets, [1, 1, 1, 0, 2, 0], model="ast")
    d = disagreement(a, b)
    np.testing.assert_allclose(d.difference, [-1.0, 0.5, 0.0])
    assert d.ahead(0) == [("dog", 1.0, 0.0)]
    assert d.ahead(1) == [("rain", 0.0, 0.5)]
    report = d.to_markdown()
    assert "| **CNN right** | 1 | 2 |" in report and "| **CNN wrong** | 1 | 2 (2 same" in report
    assert "dog 1.000 vs 0.000" in report and "rain 0.500 vs 0.000" in report


def test_markdown_report_has_the_four_counts_and_the_p_value():
    d = disagreement(*known_pair(), names=("small CNN", "big AST"))
    report = d.to_markdown()
    assert "| | big AST right | big AST wrong |" in report
    assert "| **small CNN right** | 6 | 1 |" in report
    assert "| **small CNN wrong** | 9 | 4 (2 same wrong class) |" in report
    assert "p = 0.021" in report
    assert "Where small CNN is most ahead" in report and "Where big AST is most ahead" in report


def test_ensemble_averages_probabilities():
    targets = [0, 0, 1, 1]
    probs_a = [[0.9, 0.1], [0.4, 0.6], [0.6, 0.4], [0.45, 0.55]]  # right on clips 0, 3
    probs_b = [[0.45, 0.55], [0.8, 0.2], [0.7, 0.3], [0.9, 0.1]]  # right on clip 1
    a = make_run(targets, np.argmax(probs_a, 1), probs_a, class_names=["x", "y"])
    b = make_run(targets, np.argmax(probs_b, 1), probs_b, class_names=["x", "y"])
    # means: [.675 .325] right, [.6 .4] right, [.65 .35] wrong, [.675 .325] wrong
    assert ensemble_accuracy([a, b]) == pytest.approx(0.5)
    assert ensemble_accuracy({"a": a, "b": b}) == disagreement(a, b).ensemble
    assert ensemble_accuracy([a, a, a]) == pytest.approx(0.5)
    assert ensemble_accuracy([b]) == pytest.approx(0.25)


def test_runs_on_different_clips_or_classes_are_refused_naming_what_differs():
    a = make_run([0, 1, 2, 0], [0, 1, 2, 1])
    with pytest.raises(ValueError, match="class names"):
        disagreement(a, make_run([0, 1, 2, 0], [0, 1, 2, 1], class_names=["dog", "rain", "car"]))
    with pytest.raises(ValueError, match=r"clip indices: 1 only in CNN \(e\.g\. clip 3\), "
                                         r"1 only in AST \(e\.g\. clip 9\)"):
        disagreement(a, make_run([0, 1, 2, 0], [0, 1, 2, 1], indices=[0, 1, 2, 9], model="ast"))
    with pytest.raises(ValueError, match=r"targets differ on 1 clip\(s\) \(e\.g\. clip 2: "
                                         r"'siren' in CNN, 'dog' in AST\)"):
        disagreement(a, make_run([0, 1, 0, 0], [0, 1, 2, 1], model="ast"))
    with pytest.raises(ValueError, match="clip indices"):
        ensemble_accuracy([a, make_run([0, 1, 2], [0, 1, 2])])
    with pytest.raises(ValueError, match="more than once"):
        pooled_predictions(make_run([0, 1, 2, 0], [0, 1, 2, 1], indices=[0, 1, 1, 3]))


def test_figure_has_a_bar_group_per_class_and_the_legend_names_the_runs():
    a, b = known_pair()
    fig = plot_per_class_accuracy({"cnn run": a, "ast run": b})
    ax = fig.axes[0]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert len(bars) == 2 and all(len(c) == len(CLASSES) for c in bars)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert sorted(labels) == sorted(CLASSES)
    # rows sorted by the runs' mean accuracy, best at the top (row 0 drawn highest)
    mean = (per_class_accuracy(a) + per_class_accuracy(b)) / 2
    assert mean[CLASSES.index(labels[0])] == mean.max()
    assert ax.get_ylim()[0] > ax.get_ylim()[1]
    widths = {lab: bar.get_width() for lab, bar in zip(labels, bars[0])}
    np.testing.assert_allclose([widths[c] for c in CLASSES], per_class_accuracy(a))
    means = [per_class_accuracy(r).mean() for r in (a, b)]  # over classes (7, 7, 6 clips)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == [f"cnn run (mean {means[0]:.3f})", f"ast run (mean {means[1]:.3f})"]
    assert [line.get_xdata()[0] for line in ax.lines] == pytest.approx(means)
    plt.close(fig)


def test_figure_keeps_fifty_class_names_readable():
    names = [f"class_{i:02d}" for i in range(50)]
    targets = np.repeat(np.arange(50), 4)
    predicted = np.where(np.arange(200) % 4 < np.repeat(np.arange(50) % 5, 4), targets, 0)
    fig = plot_per_class_accuracy({"x": make_run(targets, predicted, class_names=names)})
    ax = fig.axes[0]
    assert len(ax.get_yticklabels()) == 50
    assert all(t.get_fontsize() >= 7 for t in ax.get_yticklabels())
    # at least a sixth of an inch per class row, so 7-point names do not overlap
    assert fig.get_figheight() / 50 >= 0.16
    plt.close(fig)
    with pytest.raises(ValueError, match="different class names"):
        plot_per_class_accuracy({"a": known_pair()[0],
                                 "b": make_run(targets, predicted, class_names=names)})


@pytest.fixture(scope="module")
def compare_runs():
    """``scripts/compare_runs.py`` (not a package) as a module."""
    spec = importlib.util.spec_from_file_location("compare_runs",
                                                  REPO_ROOT / "scripts" / "compare_runs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_writes_the_figure_and_the_report(compare_runs, tmp_path, capsys):
    out = tmp_path / "comparison"
    code = compare_runs.main([str(ESC10 / "esc10-cnn"), str(ESC10 / "esc10-ast"),
                              "--out", str(out), "--names", "CNN", "AST"])
    assert code == 0
    png, md = out / "per_class_accuracy.png", out / "comparison.md"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = md.read_text()
    assert "| **CNN right** |" in report and "McNemar" in report
    assert report in capsys.readouterr().out


def test_script_names_runs_by_folder_and_compares_every_pair(compare_runs, tmp_path, capsys):
    runs = [str(ESC10 / name) for name in ("esc10-cnn", "esc10-ast", "esc10-ast-distilled")]
    assert compare_runs.main([*runs, "--out", str(tmp_path)]) == 0
    report = (tmp_path / "comparison.md").read_text()
    assert report.count("| **esc10-cnn right** |") == 2
    assert "| **esc10-ast right** |" in report and "Averaging all 3 runs" in report


def test_script_fails_in_one_line_on_missing_or_incomparable_runs(compare_runs, tmp_path,
                                                                   capsys):
    cnn = str(ESC10 / "esc10-cnn")
    assert compare_runs.main([cnn, str(tmp_path), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no results.json in ") and err.count("\n") == 1
    (tmp_path / "other").mkdir()
    other = make_run([0, 1, 2], [0, 1, 2]).to_dict()
    (tmp_path / "other" / "results.json").write_text(json.dumps(other))
    assert compare_runs.main([cnn, str(tmp_path / "other"), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "cannot be compared" in err and "class names" in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()
