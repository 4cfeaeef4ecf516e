"""A run's confident mistakes by file name (table, players, the licence guard) and the table
that sets measured runs beside the published ESC-50 anchors."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from ast_lab.anchors import ESC50_ANCHORS, Anchor, comparison_table
from ast_lab.mistakes import (
    NO_DATASET_AUDIO, confident_mistakes, mistake_players, mistakes_markdown,
)
from test_run_comparison import CLASSES, make_run

FILES = [f"clip{i}.wav" for i in range(6)]


def three_mistakes():
    """Clips 1, 3 and 4 wrong, with probabilities 0.6, 0.9 and 0.8 on the wrong class."""
    targets = np.array([0, 1, 2, 0, 1, 2])
    predicted = np.array([0, 2, 2, 1, 0, 2])
    probs = np.full((6, 3), 0.05, dtype=np.float32)
    for i, (p, value) in enumerate(zip(predicted, [0.9, 0.6, 0.9, 0.9, 0.8, 0.9])):
        probs[i, p] = value
    return make_run(targets, predicted, probs)


def test_confident_mistakes_are_named_and_ordered_by_confidence():
    mistakes = confident_mistakes(three_mistakes(), FILES, n=2)
    assert [m.filename for m in mistakes] == ["clip3.wav", "clip4.wav"]
    first = mistakes[0]
    assert (first.true_class, first.predicted_class, first.fold) == ("dog", "rain", 2)
    assert first.probability == pytest.approx(0.9)
    assert first.label() == "clip3.wav (fold 2): dog -> rain (p = 0.90)"
    table = mistakes_markdown(mistakes).splitlines()
    assert len(table) == 4 and table[2] == "| clip3.wav | 2 | dog | rain | 0.90 |"


def test_a_run_of_other_data_is_refused():
    with pytest.raises(ValueError, match="indexes clip 4 but the data has 3 clips"):
        confident_mistakes(three_mistakes(), FILES[:3])


def write_clip(path, seconds=0.25, rate=8000):
    t = np.arange(int(seconds * rate)) / rate
    sf.write(path, 0.3 * np.sin(2 * np.pi * 440 * t), rate)


def test_players_embed_the_clips_unless_the_page_is_for_shipping(tmp_path, monkeypatch):
    for name in FILES:
        write_clip(tmp_path / name)
    mistakes = confident_mistakes(three_mistakes(), FILES, n=3)
    monkeypatch.delenv(NO_DATASET_AUDIO, raising=False)
    page = mistake_players(mistakes, tmp_path).data
    assert page.count("<audio") == 3 and "clip3.wav (fold 2): dog -&gt; rain" in page
    monkeypatch.setenv(NO_DATASET_AUDIO, "1")
    page = mistake_players(mistakes, tmp_path).data
    assert "<audio" not in page and "base64" not in page
    assert "clip3.wav, clip4.wav, clip1.wav" in page and "CC BY-NC" in page


def test_comparison_table_sorts_ours_among_the_anchors():
    run = make_run([0, 1, 2, 0], [0, 1, 2, 1])  # fold 1 all right, fold 2 half: 0.75 ± 0.35
    anchors = (Anchor("human listeners", 0.813, False, "Piczak 2015"),
               Anchor("chance", 0.5, False, "-"))
    lines = comparison_table({"cnn": run}, anchors).splitlines()
    assert lines[2].startswith("| human listeners | 81.3 |")
    assert lines[3] == "| **ours: cnn** | 75.0 ± 35.4 | no | 2-fold run, this repository |"
    assert lines[4].startswith("| chance | 50.0 | no |")


def test_published_anchors_hold_the_issue_numbers():
    by_name = {a.name: a.accuracy for a in ESC50_ANCHORS}
    assert by_name["human listeners"] == 0.813
    assert by_name["earlier attempt of this project: AST"] == 0.060
    assert sum(a.pretrained for a in ESC50_ANCHORS) == 2
