"""A saved run's most confident mistakes, by file name: to read, to look at and to listen to.

``confident_mistakes`` names the test clips a run got wrong with the highest probability on the
wrong class; ``mistakes_markdown`` tables them; ``mistake_players`` plays the recordings.

Datasets such as ESC-50 are licensed CC BY-NC and are not shipped with ast-lab. A player embeds
its clip into the page, so a notebook executed to be committed (``scripts/execute_notebooks.py``
sets ``AST_LAB_NO_DATASET_AUDIO=1``) gets the file names instead of players; run the cell
yourself, with the data at hand, to hear them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from IPython.display import HTML

from .audio import load_audio
from .listening import player_table
from .metrics import Results

NO_DATASET_AUDIO = "AST_LAB_NO_DATASET_AUDIO"  # set to 1: never embed dataset clips in a page
LISTEN_RATE = 16_000  # Hz: the rate the recipes' features are computed at


@dataclass(frozen=True)
class Mistake:
    """One wrongly classified test clip."""

    filename: str
    fold: int  # the test fold it was scored in
    true_class: str
    predicted_class: str
    probability: float  # the probability the model gave to its (wrong) prediction

    def label(self) -> str:
        """``file (fold k): true -> predicted (p = 0.93)``."""
        return (f"{self.filename} (fold {self.fold}): {self.true_class} -> "
                f"{self.predicted_class} (p = {self.probability:.2f})")


def confident_mistakes(results: Results, filenames: Sequence[str], n: int = 8) -> list[Mistake]:
    """The ``n`` wrong test predictions of ``results`` with the highest probability, most
    confident first. ``filenames``: the dataset's clip names in the order the run indexed them
    (``FeatureSet.metadata.filenames``); ValueError if the run points past them."""
    fold_of = {int(i): fold.test_fold for fold in results.folds for i in fold.predictions.indices}
    wrong = results.misclassified()
    if wrong and max(i for i, *_ in wrong) >= len(filenames):
        raise ValueError(f"the run indexes clip {max(i for i, *_ in wrong)} but the data has "
                         f"{len(filenames)} clips: it was trained on other data")
    return [Mistake(filenames[i], fold_of[i], results.class_names[t], results.class_names[p], prob)
            for i, t, p, prob in wrong[:n]]


def mistakes_markdown(mistakes: Sequence[Mistake]) -> str:
    """A markdown table of ``mistakes``: file, fold, true class, predicted class, probability."""
    rows = ["| file | fold | true class | predicted | probability |", "|---|---|---|---|---|"]
    rows += [f"| {m.filename} | {m.fold} | {m.true_class} | {m.predicted_class} | "
             f"{m.probability:.2f} |" for m in mistakes]
    return "\n".join(rows)


def dataset_audio_allowed() -> bool:
    """False when the page being executed is one to commit (``AST_LAB_NO_DATASET_AUDIO=1``)."""
    return os.environ.get(NO_DATASET_AUDIO, "0") != "1"


def mistake_players(mistakes: Sequence[Mistake], audio_dir: str | Path) -> HTML:
    """One player per mistake, the recording from ``audio_dir`` as the model heard it (mono,
    16 kHz); only the file names where dataset audio must not be embedded."""
    if not dataset_audio_allowed():
        names = ", ".join(m.filename for m in mistakes)
        return HTML(f"<p>The recordings are not embedded in this saved page (the dataset's "
                    f"licence is CC BY-NC): run the cell with the data at hand to hear "
                    f"{names}.</p>")
    waves = [load_audio(Path(audio_dir) / m.filename, LISTEN_RATE) for m in mistakes]
    return player_table(waves, [m.label() for m in mistakes], LISTEN_RATE)
