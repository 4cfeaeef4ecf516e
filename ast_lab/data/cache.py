"""The feature cache: compute a dataset's log-mel spectrograms once, reuse them memory-mapped.

Layout, per dataset and setting::

    <base>/<FbankConfig.raw_hash()>-<clip seconds>s-<metadata fingerprint>/
        features.npy    float32 (n_clips, n_mels, frames), un-normalised, in CSV order
        manifest.json   what the features were computed from; written last

``<base>`` is ``$AST_LAB_HOME/cache/<dataset name>-<hash of the root's absolute path>``: a
cache never lands inside a dataset folder, writable or not, so a dataset shared between users
or sessions stays exactly as it was delivered.
A cache is used only if its manifest matches the current settings *and* the current audio
files (names, sizes, modification times) and ``features.npy`` has the promised shape;
otherwise it is rebuilt. ``features.npy`` is written to a temporary file and renamed, and the
manifest goes last, so an interrupted or failed build never leaves a cache that looks valid;
the temporaries of a build that was killed are removed by the next one
(``ast_lab.atomic_files``). Before anything is computed, the planned size is checked against the
free disk and memory (``budget``), and a cache folder that cannot be written is refused with a one-line ValueError.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from ..config import FbankConfig
from ..features import fbank, frames_for_seconds
from ..progress import is_terminal
from ..atomic_files import remove_stale_temporaries, save_json, temporary_path
from .budget import check_cache_fits, clips_per_batch
from .clips import load_clip
from .metadata import Metadata
from .paths import CACHE_DIR, ast_lab_home, refused_writes_as_errors

CACHE_FORMAT = 1  # bump when the layout or the meaning of the files changes
FEATURES_FILE = "features.npy"
MANIFEST_FILE = "manifest.json"


def load_or_build_features(
    metadata: Metadata,
    fbank_cfg: FbankConfig,
    clip_seconds: float,
    *,
    name: str,
    batch_clips: int = 64,
    progress: bool = True,
) -> tuple[np.ndarray, Path]:
    """The features of every clip of ``metadata``, from the cache or computed now.

    Returns ``(features, cache_dir)``: ``features`` is a read-only memory map, float32
    ``(len(metadata), n_mels, frames)``, un-normalised (``fbank_cfg``'s normalisation fields are
    ignored; normalise later with training-fold statistics). ``name`` names the dataset in the
    fallback cache folder and the progress bar. Raises ValueError naming the file and CSV line
    of a clip that cannot be read (no cache is left behind then), naming the folder when the
    cache cannot be written, and giving the size when it would not fit on disk or in memory.
    """
    raw_cfg = dataclasses.replace(fbank_cfg, normalize="none", dataset_mean=None, dataset_std=None)
    cache_dir = feature_cache_dir(metadata, raw_cfg, clip_seconds, name)
    remove_stale_temporaries(cache_dir, (FEATURES_FILE, MANIFEST_FILE))
    manifest = expected_manifest(metadata, raw_cfg, clip_seconds)
    cached = read_cache(cache_dir, manifest)
    if cached is not None:
        return cached, cache_dir
    check_cache_fits(feature_shape(metadata, raw_cfg, clip_seconds), clip_seconds, cache_dir)

    def compute(path: Path) -> None:
        _compute_features(path, metadata, raw_cfg, clip_seconds, name, batch_clips, progress)

    _write_cache(cache_dir, manifest, compute)
    return np.load(cache_dir / FEATURES_FILE, mmap_mode="r"), cache_dir


def feature_cache_dir(
    metadata: Metadata, fbank_cfg: FbankConfig, clip_seconds: float, name: str
) -> Path:
    """Where the features of ``metadata`` with these settings are (or will be) cached."""
    key = f"{fbank_cfg.raw_hash()}-{clip_seconds:g}s-{metadata_fingerprint(metadata)[:10]}"
    return cache_base(metadata.root, name) / key


def cache_base(root: Path, name: str) -> Path:
    """The home cache folder of the dataset at ``root``: ``$AST_LAB_HOME/cache/<name>-<id>``,
    ``<id>`` a hash of the root's absolute path (two folders of one name never share one)."""
    root_id = hashlib.sha256(str(Path(root).resolve()).encode()).hexdigest()[:10]
    return ast_lab_home() / CACHE_DIR / f"{name}-{root_id}"


def metadata_fingerprint(metadata: Metadata) -> str:
    """Hex digest of the clip list: file names, folds, targets, categories, sources, root."""
    content = {
        "root": str(Path(metadata.root).resolve()),
        "filenames": metadata.filenames,
        "folds": metadata.folds.tolist(),
        "targets": metadata.targets.tolist(),
        "categories": metadata.categories,
        "src_files": metadata.src_files,
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def audio_fingerprint(metadata: Metadata) -> str:
    """Hex digest of every listed audio file's name, size in bytes and modification time (ns)."""
    digest = hashlib.sha256()
    for index, filename in enumerate(metadata.filenames):
        status = os.stat(metadata.audio_path(index))
        digest.update(f"{filename}\0{status.st_size}\0{status.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def feature_shape(
    metadata: Metadata, fbank_cfg: FbankConfig, clip_seconds: float
) -> tuple[int, int, int]:
    """``(n_clips, n_mels, frames)`` of the features of ``metadata``'s clips."""
    return len(metadata), fbank_cfg.n_mels, frames_for_seconds(clip_seconds, fbank_cfg)


def expected_manifest(metadata: Metadata, fbank_cfg: FbankConfig, clip_seconds: float) -> dict:
    """The manifest a valid cache of these clips and settings must have."""
    return {
        "format": CACHE_FORMAT,
        "fbank": dataclasses.asdict(fbank_cfg),
        "fbank_hash": fbank_cfg.raw_hash(),
        "clip_seconds": clip_seconds,
        "n_clips": len(metadata),
        "shape": list(feature_shape(metadata, fbank_cfg, clip_seconds)),
        "dtype": "float32",
        "metadata_fingerprint": metadata_fingerprint(metadata),
        "audio_fingerprint": audio_fingerprint(metadata),
    }


def read_cache(cache_dir: Path, manifest: dict) -> np.ndarray | None:
    """The cached features if ``cache_dir`` holds a complete cache matching ``manifest``;
    None if anything is missing, damaged or different."""
    try:
        stored = json.loads((cache_dir / MANIFEST_FILE).read_text())
        features = np.load(cache_dir / FEATURES_FILE, mmap_mode="r")
    except (OSError, ValueError, EOFError):  # missing, truncated or garbled
        return None
    if stored != json.loads(json.dumps(manifest)):  # compare as JSON: tuples become lists
        return None
    if list(features.shape) != manifest["shape"] or features.dtype != np.float32:
        return None
    return features


def _write_cache(cache_dir: Path, manifest: dict, write_features: Callable[[Path], None]) -> None:
    """Fill ``cache_dir`` atomically: ``write_features(path)`` writes features.npy to a temporary
    file that is then renamed, and the manifest goes last. On any failure (or interrupt) what
    was written is removed, so the folder never holds a manifest without its features."""
    partial = _start_writing(cache_dir)
    try:
        write_features(partial)
        os.replace(partial, cache_dir / FEATURES_FILE)
        save_json(manifest, cache_dir / MANIFEST_FILE)
    except BaseException:
        partial.unlink(missing_ok=True)
        (cache_dir / FEATURES_FILE).unlink(missing_ok=True)
        _remove_if_empty(cache_dir)
        raise


def _start_writing(cache_dir: Path) -> Path:
    """Make ``cache_dir``, remove its old cache (manifest first: without it nothing is
    trusted) and return a new temporary file for the features. A folder that cannot be written
    raises a ValueError naming it and the fix."""
    fix = f"set AST_LAB_HOME to a writable folder (the cache goes to $AST_LAB_HOME/{CACHE_DIR})"
    with refused_writes_as_errors("the feature cache", fix):
        cache_dir.mkdir(parents=True, exist_ok=True)
        for stale in (MANIFEST_FILE, FEATURES_FILE):
            (cache_dir / stale).unlink(missing_ok=True)
        return temporary_path(cache_dir, FEATURES_FILE)


def _compute_features(
    path: Path,
    metadata: Metadata,
    fbank_cfg: FbankConfig,
    clip_seconds: float,
    name: str,
    batch_clips: int,
    progress: bool,
) -> None:
    """Write the features of every clip to the .npy file ``path``, ``batch_clips`` at a time
    (fewer for long clips: ``budget.clips_per_batch``), computed on the GPU when there is one
    (``feature_device``)."""
    shape = feature_shape(metadata, fbank_cfg, clip_seconds)
    batch_clips = clips_per_batch(fbank_cfg, clip_seconds, batch_clips)
    device = feature_device()
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=shape)
    rate = fbank_cfg.sample_rate
    bar = tqdm(total=len(metadata), unit="clip", desc=f"features {name}",
               disable=not (progress and is_terminal()))  # no bar frames in a log file
    with bar:
        for start in range(0, len(metadata), batch_clips):
            indices = range(start, min(start + batch_clips, len(metadata)))
            clips = [load_clip(metadata, i, rate, clip_seconds) for i in indices]
            waves = np.stack(clips)  # (B, samples) at fbank_cfg.sample_rate
            specs = fbank(waves, fbank_cfg, device=device)  # (B, n_mels, frames)
            out[start : indices.stop] = specs.cpu().numpy()
            bar.update(len(indices))
    out.flush()
    del out


def feature_device() -> torch.device:
    """Where features are computed: CUDA when available (the FBANK is batched torch code, and
    the results are equal within float tolerance), else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass
