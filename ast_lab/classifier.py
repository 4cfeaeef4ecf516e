"""A trained model put to work on recordings: ``ast-lab predict`` and the shipped model.

A ``Classifier`` holds one or several trained models (the folds of a run, averaged) together
with exactly the features they were trained on: the FBANK settings, the clip length and each
model's normalisation ``(mean, std)``. ``classify_file`` reads any file soundfile reads, at any
rate and channel count, and scores it the way the test folds were scored:

- a recording shorter than the clip length is zero-padded at the end, as training clips were;
- one at most ``CROP_TOLERANCE`` longer is cropped to its first clip, as training clips were
  (a 5-s file resampled to 16 kHz may come out one sample long);
- a longer one is cut into clip-length windows half a clip apart (the last one ends where the
  recording ends), and the windows' class probabilities are averaged;
- a recording whose loudest sample is below ``SILENCE_DBFS`` is reported as silent and gets no
  class: a model trained on sounds has nothing true to say about silence.

Build one with ``Classifier.from_run(run_dir)`` (a folder written by ``ast-lab train``) or
``ast_lab.model_card.load_card(card)`` (a model card; the shipped model by default).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
from torch import nn

from .audio import load_audio, pad_or_crop
from .checkpoint import load_checkpoint
from .config import FbankConfig
from .crops import clip_logits
from .data.clips import clip_samples
from .features import fbank
from .metrics import Results
from .training import BEST, config_from_dict, fold_dir, load_best_model

SILENCE_DBFS = -70.0  # a file whose peak is below this (about 10 steps of 16-bit audio) is silent
WINDOW_HOP = 0.5  # long recordings: windows start every half clip
CROP_TOLERANCE = 0.02  # up to 2 % (100 ms of a 5-s clip) over the clip length: one cropped clip


@dataclass(frozen=True)
class FilePrediction:
    """What a classifier says about one file."""

    file: str
    seconds: float  # the recording's length
    windows: int  # clip-length windows scored (1 for a clip no longer than the model's)
    peak_dbfs: float  # loudest sample, dB re full scale (-inf for digital silence)
    probabilities: Optional[np.ndarray]  # (num_classes,) averaged; None when silent
    class_names: Sequence[str]
    class_targets: Sequence[int]

    @property
    def silent(self) -> bool:
        return self.probabilities is None

    def top(self, k: int) -> list[tuple[str, int, float]]:
        """The ``k`` most probable classes as ``(name, dataset target, probability)``."""
        if self.probabilities is None:
            return []
        order = np.argsort(-self.probabilities)[:k]
        return [(self.class_names[i], int(self.class_targets[i]), float(self.probabilities[i]))
                for i in order]

    def as_dict(self, k: int) -> dict:
        """The JSON form ``ast-lab predict --json`` prints."""
        return {"file": self.file, "seconds": round(self.seconds, 3), "windows": self.windows,
                "peak_dbfs": None if math.isinf(self.peak_dbfs) else round(self.peak_dbfs, 1),
                "silent": self.silent, "error": None,
                "top": [{"class": name, "target": target, "probability": round(p, 4)}
                        for name, target, p in self.top(k)]}


@dataclass
class Classifier:
    """Trained models with the features they expect; their probabilities are averaged."""

    kind: str  # "ast" or "cnn"
    models: list[nn.Module]  # in eval mode, on the CPU
    norms: list[tuple[float, float]]  # (mean, std) in dB each model's features were scaled by
    fbank: FbankConfig
    clip_seconds: float
    class_names: list[str]
    class_targets: list[int]
    source: str  # where the models came from, for messages
    crop_frames: int = 0  # models trained on crops this wide score each window by the mean
    test_crops: int = 1  # of this many evenly spaced crops (``TrainConfig.crop_frames``)

    def __post_init__(self) -> None:
        if not self.models or len(self.models) != len(self.norms):
            raise ValueError(f"{self.source}: need one (mean, std) per model, and a model")

    @property
    def clip_samples(self) -> int:
        """Samples in one model input at ``fbank.sample_rate``."""
        return clip_samples(self.clip_seconds, self.fbank.sample_rate)

    def windows(self, wave: np.ndarray) -> np.ndarray:
        """``(n_windows, clip_samples)``: ``wave`` padded or cropped to one clip when it is at
        most ``CROP_TOLERANCE`` longer, else cut into clips that start every ``WINDOW_HOP``
        clip, the last ending at the end of ``wave``."""
        n = self.clip_samples
        if len(wave) <= n * (1 + CROP_TOLERANCE):
            return pad_or_crop(wave, n)[None]
        hop = max(1, int(n * WINDOW_HOP))
        starts = list(range(0, len(wave) - n, hop)) + [len(wave) - n]
        return np.stack([wave[s : s + n] for s in starts])

    def normalise(self, specs: torch.Tensor, model: int = 0) -> torch.Tensor:
        """Log-mels ``(W, n_mels, frames)`` in dB scaled by the training statistics of model
        number ``model``: what it reads, in standard units."""
        mean, std = self.norms[model]
        return (specs - mean) / std  # (W, n_mels, frames)

    def inputs(self, windows: np.ndarray, model: int = 0) -> torch.Tensor:
        """What model number ``model`` reads for ``windows`` ``(W, clip_samples)`` at
        ``fbank.sample_rate``: ``(W, n_mels, frames)``, normalised."""
        return self.normalise(fbank(windows, self.fbank), model)

    @torch.no_grad()
    def probabilities(self, windows: np.ndarray) -> np.ndarray:
        """``(num_classes,)`` class probabilities of ``windows`` ``(W, clip_samples)`` at
        ``fbank.sample_rate`` (``self.windows``), averaged over windows and models."""
        specs = fbank(windows, self.fbank)  # (W, n_mels, frames) in dB
        total = torch.zeros(len(self.class_names))
        for index, model in enumerate(self.models):
            inputs = self.normalise(specs, index).unsqueeze(1)  # (W, 1, n_mels, frames)
            logits = clip_logits(model, inputs, self.crop_frames, self.test_crops)  # (W, C)
            total += self.class_probabilities(logits.float()).mean(dim=0)
        return (total / len(self.models)).numpy()

    def class_probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Logits ``(W, num_classes)`` -> probabilities: a softmax, one class per clip."""
        return logits.softmax(dim=1)

    def classify_file(self, path: str | Path) -> FilePrediction:
        """Score one recording. ValueError naming the file when it cannot be read, is empty,
        or holds non-finite samples; a silent one comes back with ``silent`` set."""
        wave = load_audio(path, self.fbank.sample_rate)  # (samples,) mono at the model's rate
        peak = float(np.max(np.abs(wave)))
        peak_dbfs = 20 * math.log10(peak) if peak > 0 else -math.inf
        windows = self.windows(wave)  # (W, clip_samples)
        probabilities = None if peak_dbfs < SILENCE_DBFS else self.probabilities(windows)
        return FilePrediction(
            file=str(path), seconds=len(wave) / self.fbank.sample_rate,
            windows=len(windows), peak_dbfs=peak_dbfs, probabilities=probabilities,
            class_names=self.class_names, class_targets=self.class_targets)

    @classmethod
    def from_run(cls, run_dir: str | Path, fold: Optional[int] = None) -> "Classifier":
        """The fold models of a finished ``ast-lab train`` run (all folds, or ``fold``)."""
        run_dir = Path(run_dir)
        if not (run_dir / "results.json").is_file():
            raise ValueError(f"{run_dir} holds no results.json: not a finished run folder")
        saved = Results.load(run_dir)
        folds = saved.fold_ids if fold is None else [fold]
        if fold is not None and fold not in saved.fold_ids:
            raise ValueError(f"{run_dir} has no fold {fold}; it has folds {saved.fold_ids}")
        loaded = [load_best_model(run_dir, f, saved) for f in folds]
        best = load_checkpoint(fold_dir(run_dir, saved.model, folds[0]) / BEST)
        return cls(
            kind=saved.model, models=[m for m, _ in loaded], norms=[n for _, n in loaded],
            fbank=config_from_dict(FbankConfig, saved.configs["fbank"]),
            clip_seconds=float(best["run_config"]["data"]["clip_seconds"]),
            class_names=list(saved.class_names),
            class_targets=list(saved.class_targets or range(len(saved.class_names))),
            crop_frames=int(saved.configs["train"].get("crop_frames", 0)),
            test_crops=int(saved.configs["train"].get("test_crops", 1)),
            source=f"{run_dir} (fold{'s' if len(folds) > 1 else ''} "
                   f"{', '.join(map(str, folds))})")

