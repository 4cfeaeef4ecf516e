"""What a pretrained checkpoint reads: Kaldi FBANK, a fixed number of frames, its normalisation.

The AST authors, and Hugging Face's ``ASTFeatureExtractor`` after them, compute the input as

1. Kaldi FBANK (``torchaudio.compliance.kaldi.fbank`` with a Hann window): our
   ``FbankConfig.kaldi_like`` with the checkpoint's mel bins and sample rate;
2. padded with frames of zeros (in log units, before normalising) or cut to ``max_length``
   frames: ``target_frames`` and ``pad_value=0``;
3. ``(x - mean) / (2 * std)`` with the checkpoint's training statistics (AudioSet's -4.27 and
   4.57). Twice the std puts most values within [-1, 1]; a model trained so reads nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ...config import FbankConfig
from ...features import fbank
from ...features.normalization import CHECKPOINT_STD_SCALE, checkpoint_normalize


@dataclass(frozen=True)
class CheckpointInputs:
    """The feature pipeline a checkpoint was trained with."""

    fbank: FbankConfig  # Kaldi FBANK padded/cropped to the checkpoint's frames, not normalised
    mean: float  # of the log-mel values (natural log) the checkpoint was trained on
    std: float  # their std; inputs are divided by twice this

    @property
    def norm(self) -> tuple[float, float]:
        """``(mean, 2 * std)``: what ``ast_lab.classifier.Classifier.norms`` subtracts and
        divides by."""
        return self.mean, CHECKPOINT_STD_SCALE * self.std

    def normalise(self, spec: torch.Tensor) -> torch.Tensor:
        """Log-mels ``(..., n_mels, frames)`` -> ``(x - mean) / (2 * std)``, same shape."""
        return checkpoint_normalize(spec, self.mean, self.std)

    def features(self, waveforms: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Waveforms ``(batch, samples)`` in [-1, 1] at ``fbank.sample_rate`` -> the model's
        input ``(batch, n_mels, frames)``."""
        return self.normalise(fbank(waveforms, self.fbank))


def kaldi_fft_size(sample_rate: int, win_ms: float = 25.0) -> int:
    """Kaldi's FFT size: the window's samples rounded up to a power of two (512 at 16 kHz)."""
    win_length = int(round(win_ms * sample_rate / 1000.0))
    return 1 << (win_length - 1).bit_length()


def kaldi_inputs(
    n_mels: int, sample_rate: int, n_frames: int, mean: float, std: float
) -> CheckpointInputs:
    """The authors' pipeline: Kaldi FBANK of ``n_mels`` bins at ``sample_rate`` Hz, ``n_frames``
    frames (zero-padded), normalised by ``mean`` and ``2 * std``."""
    cfg = FbankConfig.kaldi_like(n_mels=n_mels, sample_rate=sample_rate,
                                 n_fft=kaldi_fft_size(sample_rate), target_frames=n_frames,
                                 pad_value=0.0)
    return CheckpointInputs(fbank=cfg, mean=mean, std=std)
