"""PyTorch datasets: cached features (the usual path) or raw audio (for waveform augmentation).

Both return ``(spectrogram float32 (1, n_mels, frames), target int)``, the leading 1 being the
channel axis the models expect. Normalisation is "none", "per_sample" (each spectrogram by its
own mean and std) or "dataset" (by a mean and std that ``train_stats`` computes on the
*training* clips only, so nothing about the validation or test folds leaks into training).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Literal, Optional, Sequence, Union

import numpy as np
import torch
from torch.utils.data import Dataset

from ..config import FbankConfig
from ..features import dataset_stats, fbank, normalize as normalize_spec
from .clips import load_clip
from .metadata import Metadata

if TYPE_CHECKING:
    from .sources import FeatureSet

Normalization = Literal["none", "per_sample", "dataset"]
STATS_CHUNK_CLIPS = 256  # clips read at once by train_stats, to bound memory


def train_stats(
    feature_set: Union["FeatureSet", np.ndarray], indices: Sequence[int]
) -> tuple[float, float]:
    """Scalar mean and std of the features of the clips ``indices`` (use the training split).

    ``feature_set`` is a FeatureSet or a ``(n_clips, n_mels, frames)`` array; the clips are read
    in chunks, so a memory-mapped cache is never loaded whole.
    """
    features = getattr(feature_set, "features", feature_set)
    order = np.sort(np.asarray(indices, dtype=np.int64))
    if order.size == 0:
        raise ValueError("train_stats needs at least one clip")
    starts = range(0, order.size, STATS_CHUNK_CLIPS)
    return dataset_stats(features[order[i : i + STATS_CHUNK_CLIPS]] for i in starts)


def normalization_config(
    normalize: Normalization,
    mean: Optional[float],
    std: Optional[float],
    base: Optional[FbankConfig] = None,
) -> FbankConfig:
    """``base`` (default FbankConfig) with its normalisation fields set; checks mean/std."""
    if normalize not in ("none", "per_sample", "dataset"):
        raise ValueError(f"normalize must be 'none', 'per_sample' or 'dataset', got {normalize!r}")
    if normalize == "dataset" and (mean is None or std is None):
        raise ValueError(
            "normalize='dataset' needs mean and std: pass train_stats(feature_set, split.train)"
        )
    if normalize == "dataset" and not std > 0:
        raise ValueError(f"std must be positive, got {std}")
    return dataclasses.replace(
        base or FbankConfig(), normalize=normalize, dataset_mean=mean, dataset_std=std
    )


class FeatureDataset(Dataset):
    """Cached spectrograms of the clips ``indices``, normalised, with their targets.

    ``features`` is a FeatureSet (``targets`` may then be None) or an array
    ``(n_clips, n_mels, frames)`` with ``targets`` ``(n_clips,)``; ``indices`` select clips
    (default: all). Item ``i`` is ``(float32 tensor (1, n_mels, frames), target of clip
    indices[i])``. A memory-mapped array is re-opened from its file in each DataLoader worker
    instead of being copied into it.
    """

    def __init__(
        self,
        features: Union["FeatureSet", np.ndarray],
        targets: Optional[Sequence[int]] = None,
        indices: Optional[Sequence[int]] = None,
        *,
        normalize: Normalization = "dataset",
        mean: Optional[float] = None,
        std: Optional[float] = None,
    ) -> None:
        array = getattr(features, "features", features)
        if targets is None:
            if not hasattr(features, "targets"):
                raise ValueError("targets are required when features is an array")
            targets = features.targets
        self.targets = np.asarray(targets, dtype=np.int64)
        if array.ndim != 3 or len(self.targets) != len(array):
            raise ValueError(
                f"need features (n_clips, n_mels, frames) and targets (n_clips,); got "
                f"{tuple(array.shape)} and {tuple(self.targets.shape)}"
            )
        self.indices = _indices_or_all(indices, len(array))
        self.norm_cfg = normalization_config(normalize, mean, std)
        self._array: Optional[np.ndarray] = array
        self._path = _reopenable_path(array)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        clip = self.indices[i]
        spec = torch.from_numpy(np.array(self._features()[clip], dtype=np.float32))  # (M, F)
        spec = normalize_spec(spec, self.norm_cfg).unsqueeze(0)  # (1, n_mels, frames)
        return spec, int(self.targets[clip])

    def _features(self) -> np.ndarray:
        if self._array is None:  # in a worker process: map the file again
            self._array = np.load(self._path, mmap_mode="r")
        return self._array

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        if self._path is not None:
            state["_array"] = None  # send the file name, not the data
        return state


def _indices_or_all(indices: Optional[Sequence[int]], n_clips: int) -> np.ndarray:
    """int64 clip indices: ``indices``, or all ``n_clips`` clips when None."""
    return np.arange(n_clips) if indices is None else np.asarray(indices, dtype=np.int64)


def _reopenable_path(array: np.ndarray) -> Optional[Path]:
    """The .npy file ``array`` maps, if it is the whole file; None for in-memory arrays."""
    filename = getattr(array, "filename", None)
    if not isinstance(array, np.memmap) or not filename or not str(filename).endswith(".npy"):
        return None
    whole = np.load(filename, mmap_mode="r")
    return Path(filename) if (whole.shape, whole.dtype) == (array.shape, array.dtype) else None


class AudioDataset(Dataset):
    """Spectrograms computed on the fly from the audio of the clips ``indices``.

    Use it when the waveform is to be augmented: ``transform`` maps a float32 waveform
    ``(samples,)`` at ``fbank_cfg.sample_rate`` to another (e.g. random gain or shift) before
    the FBANK. Items are as ``FeatureDataset``'s; normalisation as there.
    """

    def __init__(
        self,
        metadata: Metadata,
        fbank_cfg: FbankConfig,
        clip_seconds: float,
        indices: Optional[Sequence[int]] = None,
        *,
        transform: Optional[Callable[[np.ndarray], np.ndarray]] = None,
        normalize: Normalization = "none",
        mean: Optional[float] = None,
        std: Optional[float] = None,
    ) -> None:
        self.metadata = metadata
        self.clip_seconds = clip_seconds
        self.indices = _indices_or_all(indices, len(metadata))
        self.transform = transform
        self.cfg = normalization_config(normalize, mean, std, base=fbank_cfg)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        clip = self.indices[i]
        wave = load_clip(self.metadata, clip, self.cfg.sample_rate, self.clip_seconds)  # (samples,)
        if self.transform is not None:
            wave = self.transform(wave)
        spec = fbank(wave, self.cfg)  # (n_mels, frames), normalised as self.cfg says
        return spec.unsqueeze(0), int(self.metadata.targets[clip])
