"""Fold training and cross-validation on a tiny synthetic set with tiny models.

What is checked: the schedule arithmetic; a 2-fold run writes every file and repeats exactly;
an interrupted run resumed from its checkpoint ends exactly like an uninterrupted one; the
test fold's clips never reach training or validation; early stopping follows validation
accuracy; saved checkpoints re-evaluate to the saved predictions; and the shuffled-label
control stays near chance while the true labels are learnt.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch

from ast_lab import training
from ast_lab.classifier import Classifier
from ast_lab.config import ASTConfig, CNNConfig, DataConfig, FbankConfig, TrainConfig
from ast_lab.data import (
    ClipTensors,
    clip_tensors,
    fold_split,
    load_dataset,
    train_stats,
)
from ast_lab.metrics import Results
from ast_lab.training import (
    cross_validate,
    evaluate_run,
    fit_to_data,
    fold_setup,
    lr_factor,
    train_fold,
    training_targets,
)
from ast_lab.training import fold as fold_training
from ast_lab.training.teacher import load_teacher

# three stages, not two: the classes differ in shape, which two 8/16-channel stages followed
# by global pooling barely see (fold-1 test accuracy 0.50 vs 0.71 after 30 epochs at lr 1e-2)
TINY_CNN = CNNConfig(channels=(8, 16, 32), num_classes=999)  # num_classes must be replaced
TINY_AST = ASTConfig.preset("micro", embed_dim=32, depth=1, num_heads=2, n_mels=1, n_frames=1)
# every random part on (dropout, mixup, SpecAugment, shuffling) and label smoothing, so the
# exact-repeat and resume tests cover every generator
FAST = TrainConfig(
    epochs=4, batch_size=32, lr=3e-3, warmup_epochs=1, patience=10, label_smoothing=0.1,
    mixup_alpha=0.2, freq_mask=4, time_mask=8, device="cpu",
)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models gain nothing from intra-op threads, and on a shared 2-core machine
    OpenMP threads waiting on each other make every step many times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data_cfg(tmp_path_factory) -> DataConfig:
    """240 clips (12 classes x 5 folds x 4 = 2 sources x 2 takes), 0.5 s: written once."""
    root = tmp_path_factory.mktemp("synthetic") / "set"
    return DataConfig(source="synthetic", root=str(root), clip_seconds=0.5,
                      synthetic_per_class_per_fold=4)


@pytest.fixture(scope="module")
def data(data_cfg):
    """The 240 clips as 32-band log-mels (51 frames)."""
    return load_dataset(data_cfg, FbankConfig(n_mels=32), progress=False)


@pytest.fixture(scope="module")
def reference(data, tmp_path_factory):
    """An uninterrupted 2-fold CNN run with checkpoints: (its out_dir, its Results)."""
    out = tmp_path_factory.mktemp("reference")
    results = cross_validate(TINY_CNN, FAST, data, folds=[1, 2], out_dir=out, progress=False)
    return out, results


def _same_folds(a: Results, b: Results) -> None:
    """Identical histories, chosen epochs and test predictions, fold by fold."""
    assert [f.test_fold for f in a.folds] == [f.test_fold for f in b.folds]
    for fa, fb in zip(a.folds, b.folds):
        assert fa.history == fb.history
        assert fa.best_epoch == fb.best_epoch
        assert (fa.norm_mean, fa.norm_std) == (fb.norm_mean, fb.norm_std)
        np.testing.assert_array_equal(fa.predictions.indices, fb.predictions.indices)
        np.testing.assert_array_equal(fa.predictions.probabilities, fb.predictions.probabilities)
        assert fa.metrics.scores() == fb.metrics.scores()


# ------------------------------------------------------------------ pure pieces


def test_lr_warms_up_linearly_then_decays_by_cosine_to_zero():
    cfg = TrainConfig(epochs=10, warmup_epochs=2, schedule="cosine")
    factors = [lr_factor(step, 5, cfg) for step in range(50)]
    np.testing.assert_allclose(factors[:10], np.arange(1, 11) / 10)
    assert factors[10] == 1.0
    assert all(a > b for a, b in zip(factors[10:], factors[11:]))  # strictly decreasing
    assert factors[30] == pytest.approx(0.5 * (1 + math.cos(math.pi * 20 / 40)))
    assert 0 < factors[-1] < 0.01


def test_lr_step_decay_changes_once_per_epoch_from_the_start_epoch():
    cfg = TrainConfig(epochs=10, warmup_epochs=1, schedule="step", step_decay_start=3,
                      step_decay_gamma=0.5)
    per_epoch = [[lr_factor(e * 4 + s, 4, cfg) for s in range(4)] for e in range(6)]
    assert per_epoch[0] == [0.25, 0.5, 0.75, 1.0]  # warm-up
    assert [set(e) for e in per_epoch[1:]] == [{1.0}, {1.0}, {0.5}, {0.25}, {0.125}]


def test_bad_train_settings_are_refused_before_training(data):
    with pytest.raises(ValueError, match="cosine"):
        lr_factor(0, 1, TrainConfig(warmup_epochs=0, schedule="linear"))
    bad = dataclasses.replace(FAST, schedule="linear", patience=0)
    with pytest.raises(ValueError, match=r"patience must be >= 1.*unknown schedule 'linear'"):
        train_fold(TINY_CNN, bad, data, 1, progress=False)


def test_model_size_and_classes_come_from_the_data(data):
    cnn = fit_to_data(TINY_CNN, data)
    ast = fit_to_data(TINY_AST, data)
    assert cnn.num_classes == ast.num_classes == data.num_classes == 12
    assert (ast.n_mels, ast.n_frames) == (32, data.n_frames)
    assert cnn.channels == TINY_CNN.channels and ast.embed_dim == 32  # the rest untouched


def test_unknown_test_fold_names_the_folds(data):
    with pytest.raises(ValueError, match=r"\[1, 2, 3, 4, 5\]"):
        train_fold(TINY_CNN, FAST, data, 7, progress=False)
    with pytest.raises(ValueError, match=r"\[1, 2, 3, 4, 5\]"):
        cross_validate(TINY_CNN, FAST, data, folds=[1, 6], progress=False)


def test_shuffled_targets_permute_train_and_val_only(data):
    split = fold_split(data.metadata, 3)
    shuffled = training_targets(data, split.train, split.val, True, seed=0)
    true = np.asarray(data.targets)
    seen = np.concatenate([split.train, split.val])
    np.testing.assert_array_equal(shuffled[split.test], true[split.test])
    assert sorted(shuffled[seen]) == sorted(true[seen])  # same label counts
    assert (shuffled[seen] != true[seen]).mean() > 0.5
    np.testing.assert_array_equal(training_targets(data, split.train, split.val, False, 0), true)


# ------------------------------------------------------------------ whole runs


def test_two_fold_run_writes_results_plots_and_checkpoints(reference):
    out, results = reference
    for name in ("results.json", "results.csv", "learning_curves.png", "confusion_matrix.png",
                 "per_class_f1.png"):
        assert (out / name).stat().st_size > 0, name
    for k in (1, 2):
        for name in ("last.pt", "best.pt", "fold_result.json"):
            assert (out / f"cnn-fold{k}" / name).is_file(), (k, name)
    assert not list(out.rglob("*.tmp"))  # atomic writes left no temporaries
    saved = json.loads((out / "results.json").read_text())
    assert saved["configs"]["model"]["num_classes"] == 12
    assert saved["configs"]["train"] == json.loads(json.dumps(dataclasses.asdict(FAST)))  # as saved
    assert saved["configs"]["fbank"]["n_mels"] == 32
    assert saved["configs"]["data"]["source"] == "synthetic"
    assert [f["test_fold"] for f in saved["folds"]] == [1, 2]
    for fold in results.folds:
        assert fold.epochs_run == FAST.epochs and len(fold.history["lr"]) == FAST.epochs
        assert fold.predictions.probabilities.shape == (48, 12)
        np.testing.assert_allclose(fold.predictions.probabilities.sum(1), 1, rtol=1e-5)
    assert results.table().splitlines()[2].startswith("| CNN | ")
    _same_folds(Results.load(out), results)


def test_a_run_repeats_exactly(data, reference):
    _, results = reference
    again = cross_validate(TINY_CNN, FAST, data, folds=[1, 2], progress=False)
    _same_folds(again, results)


class Interrupt(Exception):
    """Raised from the callback to simulate a crash."""


def test_resume_after_interruption_equals_an_uninterrupted_run(data, reference, tmp_path):
    _, uninterrupted = reference
    seen: list[tuple[int, int]] = []  # (test fold, epoch) of every epoch run

    def record(end: training.EpochEnd) -> None:
        seen.append((end.test_fold, end.epoch))

    def crash_in_fold_2_after_epoch_2(end: training.EpochEnd) -> None:
        record(end)
        if (end.test_fold, end.epoch) == (2, 1):
            raise Interrupt

    with pytest.raises(Interrupt):
        cross_validate(TINY_CNN, FAST, data, folds=[1, 2], out_dir=tmp_path, progress=False,
                       callback=crash_in_fold_2_after_epoch_2)
    assert not (tmp_path / "cnn-fold2" / "fold_result.json").exists()
    seen.clear()
    resumed = cross_validate(TINY_CNN, FAST, data, folds=[1, 2], out_dir=tmp_path, resume=True,
                             progress=False, callback=record)
    assert seen == [(2, 2), (2, 3)]  # fold 1 not redone; fold 2 continues after epoch 1
    _same_folds(resumed, uninterrupted)


def test_resume_refuses_a_checkpoint_of_another_config(data, reference):
    out, _ = reference
    with pytest.raises(ValueError, match="train_config"):
        train_fold(TINY_CNN, dataclasses.replace(FAST, lr=1e-2), data, 1, out_dir=out,
                   resume=True, progress=False)


def test_test_fold_clips_never_reach_training_or_validation(data, monkeypatch):
    fed: list[tuple[str, int]] = []  # (phase, clip index) of every clip taken into a batch
    phase = ["fit"]

    class RecordingClips(ClipTensors):
        def take(self, rows):
            fed.extend((phase[0], int(self.indices[r])) for r in rows.cpu())
            return super().take(rows)

    def recording_clip_tensors(*args, **kwargs):
        clips = clip_tensors(*args, **kwargs)
        return RecordingClips(clips.specs, clips.targets, clips.indices)

    def after_last_epoch(end: training.EpochEnd) -> None:
        if end.epoch == 1:
            phase[0] = "test"  # what is read from now on is the final test evaluation

    stats_of: list[np.ndarray] = []  # the clips normalisation statistics were computed from

    def recording_train_stats(feature_set, indices):
        stats_of.append(np.asarray(indices))
        return train_stats(feature_set, indices)

    monkeypatch.setattr(fold_setup, "clip_tensors", recording_clip_tensors)
    monkeypatch.setattr(fold_setup, "train_stats", recording_train_stats)
    cfg = dataclasses.replace(FAST, epochs=2)
    result = train_fold(TINY_CNN, cfg, data, 4, progress=False, callback=after_last_epoch)
    split = fold_split(data.metadata, 4)
    fit = {i for p, i in fed if p == "fit"}
    tested = [i for p, i in fed if p == "test"]
    # every validation clip is scored; training drops a ragged last batch, so most, not all
    assert set(split.val) <= fit <= set(split.train) | set(split.val)
    assert len(fit & set(split.train)) >= len(split.train) - cfg.batch_size
    assert not fit & set(np.flatnonzero(np.asarray(data.folds) == 4))
    assert sorted(tested) == sorted(split.test) and len(tested) == len(split.test)
    np.testing.assert_array_equal(result.predictions.indices, split.test)
    assert len(stats_of) == 1 and set(stats_of[0]) == set(split.train)


def test_early_stopping_follows_validation_accuracy(data, tmp_path):
    cfg = dataclasses.replace(FAST, epochs=40, patience=3, lr=1e-2, batch_size=16, warmup_epochs=0)
    result = train_fold(TINY_CNN, cfg, data, 5, out_dir=tmp_path, progress=False)
    val_acc = result.history["val_acc"]
    assert result.best_epoch > 0  # validation improved after the first epoch: not vacuous
    assert result.stopped_early and result.epochs_run < cfg.epochs
    assert result.best_epoch == int(np.argmax(val_acc))  # the first maximum
    assert result.epochs_run == result.best_epoch + 1 + cfg.patience
    best = torch.load(tmp_path / "cnn-fold5" / "best.pt", weights_only=True)
    assert best["epoch"] == result.best_epoch and best["val_acc"] == max(val_acc)


def test_evaluate_run_reproduces_the_saved_predictions(data, reference):
    out, results = reference
    _same_folds(evaluate_run(out, data), results)
    _same_folds(evaluate_run(out), results)  # data reloaded from the configs in results.json


def test_ast_trains_a_fold(data):
    result = train_fold(TINY_AST, dataclasses.replace(FAST, epochs=2), data, 1, progress=False)
    assert result.model == "ast" and result.epochs_run == 2
    assert np.isfinite(result.history["train_loss"]).all()


def test_an_ast_trained_on_crops_in_bf16_is_sized_to_them_and_reevaluates_alike(data, tmp_path):
    # 51 frames, crops of 31: the AST's position grid is the crop's; testing averages 3 crops,
    # so a saved run re-evaluated from its checkpoints gives the same probabilities
    cfg = dataclasses.replace(FAST, epochs=2, crop_frames=31, test_crops=3, gain_db=3.0,
                              precision="bf16")
    results = cross_validate(TINY_AST, cfg, data, folds=[1], out_dir=tmp_path, progress=False)
    assert results.configs["model"]["n_frames"] == 31
    assert np.isfinite(results.folds[0].history["train_loss"]).all()
    _same_folds(evaluate_run(tmp_path, data), results)
    # predict's Classifier scores a clip file by the same crops (float32, so bf16's rounding
    # is the only difference from the run's own test predictions)
    classifier = Classifier.from_run(tmp_path)
    assert (classifier.crop_frames, classifier.test_crops) == (31, 3)
    tested = results.folds[0].predictions
    got = classifier.classify_file(data.metadata.audio_path(int(tested.indices[0])))
    np.testing.assert_allclose(got.probabilities, tested.probabilities[0], atol=0.03)
    with pytest.raises(ValueError, match="wider than the clips' 51 frames"):
        train_fold(TINY_AST, dataclasses.replace(cfg, crop_frames=52), data, 1, progress=False)


def test_progress_false_is_silent(data, capsys):
    train_fold(TINY_CNN, dataclasses.replace(FAST, epochs=1), data, 1, progress=False)
    assert capsys.readouterr().err == ""
    train_fold(TINY_CNN, dataclasses.replace(FAST, epochs=1), data, 1, progress=True)
    assert "cnn fold 1 epoch 1/1: loss" in capsys.readouterr().out  # one line: not a terminal


def test_shuffled_labels_stay_near_chance_while_true_labels_are_learnt(data):
    # the same pipeline and budget learns the true labels (the positive control), so staying
    # near chance with permuted labels means nothing else carries label information to the
    # test fold; all 5 folds (240 test clips) put 2x chance 4.7 binomial SDs above chance
    cfg = TrainConfig(epochs=10, batch_size=16, lr=1e-2, warmup_epochs=1, patience=10, device="cpu")
    chance = 1 / data.num_classes
    control = cross_validate(TINY_CNN, cfg, data, progress=False, shuffle_train_labels=True)
    true = cross_validate(TINY_CNN, cfg, data, folds=[1, 2], progress=False)
    assert control.shuffled_labels and control.label == "CNN (shuffled labels)"
    assert control.summary()["accuracy"][0] < 2 * chance
    assert true.summary()["accuracy"][0] > 4 * chance


# ------------------------------------------------------------------ fixed schedules, teachers


def test_selection_last_trains_on_every_clip_and_tests_the_last_weights(data_cfg, tmp_path):
    all_train = load_dataset(dataclasses.replace(data_cfg, val_fraction=0.0),
                             FbankConfig(n_mels=32), progress=False)
    cfg = dataclasses.replace(FAST, epochs=3, selection="last", patience=1)
    result = train_fold(TINY_CNN, cfg, all_train, 1, out_dir=tmp_path, progress=False)
    assert result.n_val == 0 and result.n_train == len(all_train) - len(result.predictions.indices)
    assert result.epochs_run == 3 and result.best_epoch == 2 and not result.stopped_early
    assert all(math.isnan(v) for v in result.history["val_acc"])
    best = torch.load(tmp_path / "cnn-fold1" / "best.pt", weights_only=True)
    last = torch.load(tmp_path / "cnn-fold1" / "last.pt", weights_only=True)
    assert best["epoch"] == 2
    assert all(torch.equal(best["model"][k], v) for k, v in last["model"].items())
    with pytest.raises(ValueError, match="selection='last'"):
        train_fold(TINY_CNN, FAST, all_train, 1, progress=False)  # early stopping needs val


DISTILLED_AST = dataclasses.replace(TINY_AST, pooling="distilled")
DISTILL = dataclasses.replace(FAST, epochs=2, distillation="hard")


def test_distilled_ast_is_taught_by_the_teacher_runs_model_of_the_same_fold(
    data, reference, tmp_path, monkeypatch
):
    teacher_dir, teacher_results = reference
    loaded = {}

    def spy(run, test_fold, feature_set, norm):
        loaded[test_fold] = teacher = load_teacher(run, test_fold, feature_set, norm)
        return teacher

    monkeypatch.setattr(fold_training, "load_teacher", spy)
    soft = dataclasses.replace(DISTILL, distillation="soft", distill_temperature=2.0)
    results = cross_validate(DISTILLED_AST, soft, data, folds=[1, 2], out_dir=tmp_path,
                             teacher_run=teacher_dir, progress=False)
    assert sorted(loaded) == [1, 2]
    assert all(np.isfinite(f.history["train_loss"]).all() for f in results.folds)
    for fold in teacher_results.folds:  # each teacher reproduces its own saved test predictions
        teacher = loaded[fold.test_fold]
        clips = clip_tensors(data, fold.predictions.indices, data.targets,
                             (fold.norm_mean, fold.norm_std), torch.device("cpu"))
        probabilities = teacher(clips.specs).softmax(1).numpy()
        np.testing.assert_allclose(probabilities, fold.predictions.probabilities, atol=1e-5)
    saved = json.loads((tmp_path / "ast-fold1" / "fold_result.json").read_text())
    assert saved["run_config"]["teacher_run"] == str(teacher_dir.resolve())


def test_distillation_settings_that_cannot_work_are_refused(data, data_cfg, reference):
    teacher_dir, _ = reference
    with pytest.raises(ValueError, match="needs a teacher"):
        train_fold(DISTILLED_AST, DISTILL, data, 1, progress=False)
    with pytest.raises(ValueError, match="distillation is 'none'"):
        train_fold(DISTILLED_AST, FAST, data, 1, teacher_run=teacher_dir, progress=False)
    with pytest.raises(ValueError, match="pooling='distilled'"):
        train_fold(TINY_AST, DISTILL, data, 1, teacher_run=teacher_dir, progress=False)
    with pytest.raises(ValueError, match="no model for test fold 3"):
        train_fold(DISTILLED_AST, DISTILL, data, 3, teacher_run=teacher_dir, progress=False)
    other_features = load_dataset(data_cfg, FbankConfig(n_mels=16), progress=False)
    with pytest.raises(ValueError, match="other features"):
        train_fold(DISTILLED_AST, DISTILL, other_features, 1, teacher_run=teacher_dir,
                   progress=False)
    with pytest.raises(ValueError, match="no results.json"):
        train_fold(DISTILLED_AST, DISTILL, data, 1, teacher_run=teacher_dir / "cnn-fold1",
                   progress=False)
