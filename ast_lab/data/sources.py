"""One loader, three sources: the synthetic set, ESC-50, and any folder in the ESC-50 layout.

``load_dataset(DataConfig(...), FbankConfig(...))`` finds (or makes, or downloads) the data,
validates its metadata, builds or reuses the feature cache and returns a ``FeatureSet``.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import DataConfig, FbankConfig
from .cache import load_or_build_features
from .clips import dataset_clip_seconds, length_warning, read_headers
from .download import download_esc50
from .metadata import Metadata, load_metadata
from .paths import (
    default_esc50_root, default_synthetic_root, metadata_csv, refused_writes_as_errors,
)
from .synthetic import SYNTHETIC_SECONDS, make_synthetic_dataset, synthetic_params

ESC50_CLIP_SECONDS = 5.0  # every ESC-50 clip is 5 s long


@dataclass(eq=False)
class FeatureSet:
    """A dataset's cached features with its metadata; ``features[i]`` is clip ``metadata[i]``."""

    features: np.ndarray  # float32 (n_clips, n_mels, frames), memory-mapped, un-normalised
    metadata: Metadata
    fbank: FbankConfig  # the settings the features were computed with
    clip_seconds: float  # every clip was padded or cropped to this length before the FBANK
    cache_dir: Path
    name: str  # "synthetic", "esc50", "esc10", or the folder's name
    data_cfg: DataConfig  # how it was loaded (source, root, split settings), saved with results

    def __len__(self) -> int:
        return len(self.metadata)

    @property
    def targets(self) -> np.ndarray:
        """(n_clips,) int64 class index of each clip."""
        return self.metadata.targets

    @property
    def folds(self) -> np.ndarray:
        """(n_clips,) int64 fold id of each clip."""
        return self.metadata.folds

    @property
    def num_classes(self) -> int:
        return self.metadata.num_classes

    @property
    def class_names(self) -> list[str]:
        return self.metadata.class_names

    @property
    def fold_ids(self) -> tuple[int, ...]:
        return self.metadata.fold_ids

    @property
    def n_mels(self) -> int:
        return int(self.features.shape[1])

    @property
    def n_frames(self) -> int:
        return int(self.features.shape[2])

    def without_fold(self, fold: int) -> "FeatureSet":
        """The set with every clip of ``fold`` removed, for tuning: cross-validating on it
        scores each choice on validation folds while ``fold`` stays unseen. Classes keep their
        indices; the features are copied into memory (``(n_kept, n_mels, frames)``)."""
        if fold not in self.fold_ids:
            raise ValueError(f"unknown fold {fold!r}; the data has folds {list(self.fold_ids)}")
        keep = np.flatnonzero(self.folds != fold)
        return dataclasses.replace(
            self,
            features=np.asarray(self.features[keep]),
            metadata=self.metadata.subset(keep),
            name=f"{self.name}-without-fold{fold}",
        )


def load_dataset(
    data_cfg: DataConfig, fbank_cfg: FbankConfig, *, download: bool = False, progress: bool = True
) -> FeatureSet:
    """Resolve, validate and featurise the dataset ``data_cfg`` describes.

    synthetic: ``data_cfg.root`` or ``$AST_LAB_HOME/synthetic``; generated with
    ``data_cfg.synthetic_per_class_per_fold`` unless it already holds that set. esc50: ``data_cfg.root`` or
    ``$AST_LAB_HOME/ESC-50-master``; downloaded if missing and ``download`` is True, else a
    ValueError saying how to get it. folder: ``data_cfg.root`` is required.
    Clips are padded/cropped to ``data_cfg.clip_seconds``, or to the source's own length when
    None: 5 s for ESC-50, the generated length for the synthetic set, and for a folder the length
    most clips share, or else the longest clip that is not an outlier
    (``checked_clip_seconds``). ``data_cfg.esc10`` keeps the ESC-10 clips, classes 0..9.
    """
    root = resolve_root(data_cfg, download=download, progress=progress)
    metadata = load_metadata(root, esc50=data_cfg.source == "esc50")
    if data_cfg.esc10:
        metadata = metadata.esc10_only()
    clip_seconds = checked_clip_seconds(data_cfg, metadata)
    name = dataset_name(data_cfg, root)
    features, cache_dir = load_or_build_features(
        metadata, fbank_cfg, clip_seconds, name=name, progress=progress
    )
    return FeatureSet(features, metadata, fbank_cfg, clip_seconds, cache_dir, name, data_cfg)


def resolve_root(data_cfg: DataConfig, *, download: bool = False, progress: bool = True) -> Path:
    """The folder of ``data_cfg``'s dataset, generating or downloading it where allowed."""
    if data_cfg.source == "synthetic":
        root = Path(data_cfg.root) if data_cfg.root else default_synthetic_root()
        fix = "pass a writable --root (DataConfig.root) or set AST_LAB_HOME to a writable folder"
        with refused_writes_as_errors("the synthetic set", fix):
            return make_synthetic_dataset(  # reuses a complete set made with these settings
                root,
                n_per_class_per_fold=data_cfg.synthetic_per_class_per_fold,
                seconds=data_cfg.clip_seconds or SYNTHETIC_SECONDS,
            )
    if data_cfg.source == "esc50":
        root = Path(data_cfg.root) if data_cfg.root else default_esc50_root()
        if download:
            return download_esc50(root, progress=progress)
        if not metadata_csv(root).is_file():
            raise ValueError(
                f"ESC-50 not found in {root} (no meta/esc50.csv). Download it with "
                "`ast-lab features --data esc50 --download` (or load_dataset(..., download=True)), "
                "or unzip https://github.com/karolpiczak/ESC-50/archive/master.zip yourself and "
                "pass its ESC-50-master folder as --root / DataConfig.root"
            )
        return root
    if data_cfg.source == "folder":
        if not data_cfg.root:
            raise ValueError(
                "source='folder' needs DataConfig.root (--root): a folder with meta/esc50.csv "
                "and audio/"
            )
        return Path(data_cfg.root)
    raise ValueError(f"unknown data source {data_cfg.source!r}; choose synthetic, esc50 or folder")


def default_clip_seconds(source: str, metadata: Metadata) -> float:
    """The clip length in seconds a source uses when ``DataConfig.clip_seconds`` is None."""
    if source == "esc50":
        return ESC50_CLIP_SECONDS
    if source == "synthetic":
        return float(synthetic_params(metadata.root)["seconds"])
    return dataset_clip_seconds(read_headers(metadata).durations)


def checked_clip_seconds(data_cfg: DataConfig, metadata: Metadata) -> float:
    """The length in seconds every clip is padded or cropped to: ``data_cfg.clip_seconds``, or
    the source's own (``default_clip_seconds``). A folder's clips, of lengths nobody checked,
    are measured from their file headers (nothing is decoded), and those whose lengths disagree
    widely with the others are named in a warning (``clips.length_warning``); ESC-50's and the
    synthetic set's lengths are known."""
    seconds = data_cfg.clip_seconds
    if data_cfg.source == "folder":
        headers = read_headers(metadata)
        seconds = dataset_clip_seconds(headers.durations) if seconds is None else seconds
        warning = length_warning(headers, seconds, str(metadata.csv_path))
        if warning is not None:
            warnings.warn(warning, stacklevel=3)
    elif seconds is None:
        seconds = default_clip_seconds(data_cfg.source, metadata)
    if not seconds > 0:
        raise ValueError(f"clip_seconds must be positive, got {seconds}")
    return seconds


def dataset_name(data_cfg: DataConfig, root: Path) -> str:
    """Short name of the dataset, used in cache folders and messages."""
    if data_cfg.source == "folder":
        name = Path(root).resolve().name
    else:
        name = data_cfg.source
    return "esc10" if data_cfg.esc10 and name == "esc50" else name
