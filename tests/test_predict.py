"""``ast-lab predict`` and the shipped model: answers on the example clips, bad files, silence,
long and short recordings, and the model card."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from ast_lab.cli import main
from ast_lab.examples import example_sounds, load_example
from ast_lab.data import load_metadata
from ast_lab.metrics import Results
from ast_lab.model_card import SHIPPED_CARD, load_card, read_card

MAX_MODEL_BYTES = 5 * 2**20
REPO = Path(__file__).resolve().parent.parent
ESC50 = REPO.parent / "shared" / "esc50"
MAX_SOUND_BYTES = 2 * 2**20


@pytest.fixture(scope="module")
def shipped():
    return load_card()


def test_example_sounds_are_ten_fold1_redistributable_clips_within_2mb():
    sounds = example_sounds()
    assert len({s.name for s in sounds}) == len(sounds) == 10
    assert {s.fold for s in sounds} == {1} and {s.licence for s in sounds} <= {"CC0", "CC-BY"}
    assert all(s.filename.startswith("1-") for s in sounds)
    assert sum(s.path.stat().st_size for s in sounds) <= MAX_SOUND_BYTES
    wave = load_example("dog")
    assert wave.dtype == np.float32 and abs(len(wave) - 80_000) < 160  # 5 s at 16 kHz
    with pytest.raises(ValueError, match="no example sound 'cat'"):
        load_example("cat")


def test_shipped_model_is_small_loads_weights_only_and_card_says_what_it_is():
    card = read_card()
    weights = SHIPPED_CARD.parent / card["weights"]
    assert weights.stat().st_size <= MAX_MODEL_BYTES
    state = torch.load(weights, weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    assert card["name"] == "esc50-ast" and card["tested_on"]["fold"] == 1
    assert card["trained_on"] == {"dataset": "esc50", "folds": "every fold but 1", "clips": 1600,
                                  "validation_fraction": 0.0}
    assert len(card["class_names"]) == 50 and "CC BY-NC" in card["training_data_licence"]
    assert 0 < card["recipe_5fold_accuracy"]["mean"] <= 1 and card["code_commit"]
    assert card["recipe_5fold_accuracy"]["commit"] == card["code_commit"]  # one run, one commit


def test_shipped_model_names_at_least_8_of_the_10_unheard_clips(shipped):
    answers = {s.name: shipped.classify_file(s.path).top(1)[0][0] for s in example_sounds()}
    assert sum(name == top for name, top in answers.items()) >= 8, answers


@pytest.mark.skipif(not (ESC50 / "meta" / "esc50.csv").is_file(), reason="needs ../shared/esc50")
def test_shipped_model_answers_as_its_fold1_run_did_on_the_examples(shipped):
    """The exported model, scoring the example files from scratch, gives the probabilities the
    recipe's 5-fold run recorded for the same clips of its test fold 1: export, features,
    crops and normalisation all survived the trip."""
    run = Results.load(REPO / "results" / "esc50" / "esc50-ast")
    fold1 = next(f for f in run.folds if f.test_fold == 1)
    recorded = dict(zip(fold1.predictions.indices.tolist(), fold1.predictions.probabilities))
    filenames = load_metadata(ESC50).filenames
    for sound in example_sounds():
        expected = recorded[filenames.index(sound.filename)]
        got = shipped.classify_file(sound.path).probabilities
        np.testing.assert_allclose(got, expected, atol=2e-3, err_msg=sound.filename)


def test_predict_cli_prints_top_k_and_json(capsys):
    paths = [str(s.path) for s in example_sounds()[:2]]
    assert main(["predict", *paths, "--top", "3"]) == 0
    text = capsys.readouterr().out
    assert text.count("%") == 6 and paths[0] in text
    assert main(["predict", *paths, "--top", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [f["file"] for f in out["files"]] == paths
    assert all(len(f["top"]) == 2 and f["error"] is None for f in out["files"])
    assert abs(sum(t["probability"] for t in out["files"][0]["top"])) <= 1.0001


def test_bad_files_are_named_the_rest_still_scored_and_status_is_1(tmp_path, capsys):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.ogg"
    garbage.write_bytes(b"not audio at all" * 50)
    nan = tmp_path / "nan.wav"
    wave = np.zeros(16_000, dtype=np.float32)
    wave[100] = np.nan
    sf.write(nan, wave, 16_000, subtype="FLOAT")
    good = str(example_sounds()[0].path)
    status = main(["predict", str(empty), good, str(garbage), str(nan), "--json"])
    captured = capsys.readouterr()
    assert status == 1
    for bad in (empty, garbage, nan):
        assert str(bad) in captured.err
    assert "non-finite" in captured.err and "empty" in captured.err
    files = json.loads(captured.out)["files"]
    assert [f["error"] is None for f in files] == [False, True, False, False]
    assert files[1]["top"][0]["class"] == example_sounds()[0].name


def test_silence_gets_no_class(tmp_path, shipped):
    silent = tmp_path / "silent.flac"
    sf.write(silent, np.zeros((44_100 * 2, 2), dtype=np.float32), 44_100)
    prediction = shipped.classify_file(silent)
    assert prediction.silent and prediction.top(3) == []
    assert main(["predict", str(silent)]) == 0


def test_long_recordings_are_windowed_short_ones_padded(tmp_path, shipped):
    rain = load_example("rain", 16_000)
    long = tmp_path / "long.wav"
    sf.write(long, np.concatenate([rain, rain, rain])[:200_000], 16_000)  # 12.5 s
    prediction = shipped.classify_file(long)
    assert prediction.windows == 4  # starts 0, 2.5, 5, 7.5 s
    assert prediction.top(1)[0][0] == "rain"
    short = tmp_path / "short.wav"
    sf.write(short, np.stack([rain[:8000]] * 2, axis=1), 8_000)  # 1 s, stereo, 8 kHz
    assert shipped.classify_file(short).windows == 1


def test_features_match_training_on_a_five_second_clip(shipped):
    """A 5-s clip is scored on exactly the training features: the file cropped to 5 s at
    16 kHz, FBANK, the card's (mean, std), and the card's evenly spaced test crops, whose
    probabilities are averaged (the first crop at frame 0, the last ending at the clip's end)."""
    from ast_lab.features import fbank

    sound = example_sounds()[2]
    wave = load_example(sound.name, shipped.fbank.sample_rate)[: shipped.clip_samples]
    (mean, std), model = shipped.norms[0], shipped.models[0]
    spec = ((fbank(wave[None], shipped.fbank) - mean) / std)[:, None]  # (1, 1, n_mels, frames)
    width, n = shipped.crop_frames, shipped.test_crops
    assert width and n > 1  # the shipped recipe scores crops
    starts = np.linspace(0, spec.shape[-1] - width, n).round().astype(int)
    with torch.no_grad():
        expected = torch.stack([model(spec[..., s:s + width]).softmax(1)[0] for s in starts])
    got = shipped.classify_file(sound.path).probabilities
    np.testing.assert_allclose(got, expected.mean(0).numpy(), atol=1e-5)
