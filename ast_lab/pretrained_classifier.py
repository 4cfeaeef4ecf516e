"""Published AST weights put to work on recordings: ``ast-lab predict --weights PATH``.

``pretrained_classifier`` makes a ``Classifier`` (``ast_lab.classifier``) of a Hugging Face
``ASTForAudioClassification`` folder or of one of the AST authors' ``.pth`` checkpoints, with
the input pipeline the checkpoint was trained on (``ast_lab.models.pretrained``): Kaldi FBANK,
its number of frames, ``(x - mean) / (2 * std)``. Two things differ from a model of this
project's own, both as the checkpoint's own code does them:

- a recording shorter than the model's input is padded *after* the FBANK, with frames of zeros
  in log units (``ASTFeatureExtractor`` and the authors' data loader), not with silent samples;
- a multi-label checkpoint (AudioSet: a clip holds several sounds at once) gives each class its
  own probability, a sigmoid, rather than sharing one among all: the authors' checkpoints and a
  folder whose config says ``problem_type: multi_label_classification``.

Class names come from the folder's ``config.json``; an authors' checkpoint holds none, so they
come from a CSV in the format of their ``class_labels_indices.csv`` (``index,mid,display_name``),
given with ``--labels`` or lying beside the checkpoint under that name.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from .audio import pad_or_crop
from .classifier import CROP_TOLERANCE, Classifier
from .models.pretrained import (
    CheckpointInputs, audioset_inputs, checkpoint_format, from_authors, load_hf,
)
from .models.pretrained.authors import authors_config

LABELS_CSV = "class_labels_indices.csv"  # the authors' name for AudioSet's class list


@dataclass
class CheckpointClassifier(Classifier):
    """A ``Classifier`` that pads short clips and scores classes as a checkpoint's code does."""

    multi_label: bool = False  # a sigmoid per class instead of a softmax over them

    def windows(self, wave: np.ndarray) -> np.ndarray:
        """As ``Classifier.windows``, except that a recording of at most one input is left
        unpadded (at least one FBANK window long): FBANK pads its frames instead."""
        if len(wave) > self.clip_samples * (1 + CROP_TOLERANCE):
            return super().windows(wave)
        return pad_or_crop(wave[: self.clip_samples], max(len(wave), self.fbank.win_length))[None]

    def class_probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Logits ``(W, num_classes)`` -> a sigmoid per class when multi-label, else a softmax."""
        return logits.sigmoid() if self.multi_label else super().class_probabilities(logits)


def input_seconds(inputs: CheckpointInputs) -> float:
    """The length of audio whose FBANK fills the model's input exactly (snip_edges framing:
    ``(frames - 1) * hop + window`` samples; 10.255 s for 1,024 frames at 16 kHz)."""
    cfg = inputs.fbank
    return ((cfg.target_frames - 1) * cfg.hop_length + cfg.win_length) / cfg.sample_rate


def read_labels_csv(path: Path) -> list[str]:
    """Class names from a ``index,mid,display_name`` CSV, in index order."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as err:
        raise ValueError(f"{path}: cannot read the class list ({err})") from err
    if not rows or not {"index", "display_name"} <= rows[0].keys():
        raise ValueError(f"{path}: not a class list with columns index,mid,display_name")
    return [row["display_name"] for row in sorted(rows, key=lambda row: int(row["index"]))]


def authors_labels(checkpoint: Path, labels: Optional[Path], classes: int) -> list[str]:
    """The class names of an authors' checkpoint: ``labels``, else the CSV beside it."""
    path = labels or checkpoint.parent / LABELS_CSV
    if not path.is_file():
        raise ValueError(f"{checkpoint} holds no class names: pass --labels with AudioSet's "
                         f"{LABELS_CSV} (index,mid,display_name), or put it beside the checkpoint")
    names = read_labels_csv(path)
    if len(names) != classes:
        raise ValueError(f"{path} lists {len(names)} classes; {checkpoint} has {classes}")
    return names


def pretrained_classifier(path: str | Path, labels: Optional[str | Path] = None) -> Classifier:
    """A classifier of a Hugging Face folder or an authors' ``.pth`` (an ImageNet DeiT has no
    audio classes and is refused). ValueError names the file and the problem."""
    path = Path(path)
    kind = checkpoint_format(path)
    if kind == "deit":
        raise ValueError(f"{path} is an ImageNet DeiT: it knows no sounds until fine-tuned "
                         "(ast-lab train --init)")
    if kind == "hf":
        if labels is not None:
            raise ValueError("--labels is for an authors' checkpoint: a Hugging Face folder "
                             "names its classes in config.json")
        checkpoint = load_hf(path)
        model, names, inputs = checkpoint.model, checkpoint.class_names, checkpoint.inputs
        multi_label = checkpoint.multi_label
    else:
        cfg = authors_config(path)
        model, inputs = from_authors(path, cfg).eval(), audioset_inputs(cfg.n_frames)
        names = authors_labels(path, None if labels is None else Path(labels), cfg.num_classes)
        multi_label = True  # trained on AudioSet's labels, each class on its own
    return CheckpointClassifier(
        kind="ast", models=[model], norms=[inputs.norm], fbank=inputs.fbank,
        clip_seconds=input_seconds(inputs), class_names=names,
        class_targets=list(range(len(names))), source=str(path), multi_label=multi_label)
