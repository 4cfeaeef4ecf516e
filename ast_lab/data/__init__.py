"""Data: ESC-50 and datasets in its layout, the synthetic sound set, folds, feature cache, Datasets.

One module per concept, in the order the data flows:

    paths      where things live (``$AST_LAB_HOME``, the ESC-50 folder layout)
    download   fetch and extract ESC-50 (resumable, verified, safe)
    synthetic  the built-in 12-class sound set, written in the ESC-50 layout
    csv_reader the CSV's rows, whatever encoding a spreadsheet saved it in
    metadata   read and validate ``meta/esc50.csv`` -> ``Metadata``
    splits     test fold + stratified, source-grouped validation split -> ``Split``
    clips      one listed clip as a fixed-length waveform; the dataset's clip length
    budget     what a feature cache will cost, checked before it is built
    cache      compute features once, reuse them memory-mapped
    sources    ``load_dataset(DataConfig, FbankConfig) -> FeatureSet``
    dataset    torch ``FeatureDataset`` / ``AudioDataset``, ``train_stats``
    tensors    a split's clips as tensors on the training device -> ``ClipTensors``
"""

from .cache import load_or_build_features
from .clips import load_clip
from .dataset import AudioDataset, FeatureDataset, train_stats
from .download import ESC50_URL, DownloadError, download_esc50
from .metadata import Metadata, load_metadata
from .paths import ast_lab_home
from .sources import FeatureSet, load_dataset
from .splits import Split, fold_split
from .synthetic import SYNTHETIC_CLASSES, make_synthetic_dataset, synthesize
from .tensors import ClipTensors, clip_tensors

__all__ = [
    "AudioDataset",
    "ClipTensors",
    "DownloadError",
    "ESC50_URL",
    "FeatureDataset",
    "FeatureSet",
    "Metadata",
    "SYNTHETIC_CLASSES",
    "Split",
    "ast_lab_home",
    "clip_tensors",
    "download_esc50",
    "fold_split",
    "load_clip",
    "load_dataset",
    "load_metadata",
    "load_or_build_features",
    "make_synthetic_dataset",
    "synthesize",
    "train_stats",
]
