"""What a feature cache will cost, checked before a single clip is decoded.

A cache is ``n_clips x n_mels x frames`` float32 values: its size follows from the CSV and the
settings alone. It is written to disk, and training later holds a split of it in memory
(``tensors.clip_tensors``), so a cache larger than the free disk space or the available memory
is refused up front with a ValueError that says how big it is and what shrinks it, instead of
dying halfway through with an allocator traceback. Building computes a few clips at a time,
as many as fit in ``BATCH_BYTES``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..config import FbankConfig
from ..features import frames_for_seconds
from .clips import clip_samples

FLOAT32_BYTES = 4
BATCH_BYTES = 256 * 2**20  # bytes of waveforms and spectrograms one build batch may hold
SHRINK_HINT = ("shorten the clips with --seconds (DataConfig.clip_seconds) or use fewer mel "
               "bands (--n-mels)")


def format_bytes(n_bytes: float) -> str:
    """``n_bytes`` for people: "812 MiB", "1.8 GiB"."""
    if n_bytes >= 2**30:
        return f"{n_bytes / 2**30:.1f} GiB"
    return f"{n_bytes / 2**20:.0f} MiB"


def cache_bytes(shape: tuple[int, int, int]) -> int:
    """Bytes of a float32 feature cache of ``shape`` ``(n_clips, n_mels, frames)``."""
    n_clips, n_mels, frames = shape
    return n_clips * n_mels * frames * FLOAT32_BYTES


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation: Linux's MemAvailable, else the physical
    memory; None where neither can be read."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # the file counts kB
    except OSError:
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def free_disk(folder: Path) -> int:
    """Free bytes on the disk that holds ``folder`` (or its nearest existing parent)."""
    existing = Path(folder).absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    return shutil.disk_usage(existing).free


def check_cache_fits(shape: tuple[int, int, int], clip_seconds: float, cache_dir: Path) -> None:
    """Refuse (ValueError) a cache of ``shape`` that the disk at ``cache_dir`` or the available
    memory cannot hold; the message gives both sizes and the options that shrink it."""
    size = cache_bytes(shape)
    n_clips, n_mels, frames = shape
    planned = (f"the feature cache of {n_clips} clips x {n_mels} mels x {frames} frames "
               f"(clips padded or cropped to {clip_seconds:g} s) needs {format_bytes(size)}")
    disk = free_disk(cache_dir)
    if size > disk:
        raise ValueError(
            f"{planned}, but only {format_bytes(disk)} is free on the disk of {cache_dir}: "
            f"{SHRINK_HINT}, or set AST_LAB_HOME to a folder on a larger disk"
        )
    memory = available_memory()
    if memory is not None and size > memory:
        raise ValueError(
            f"{planned}, but only {format_bytes(memory)} of memory is available to train on it "
            f"(cache folder {cache_dir}): {SHRINK_HINT}"
        )


def clips_per_batch(fbank_cfg: FbankConfig, clip_seconds: float, most: int) -> int:
    """How many clips of ``clip_seconds`` one build batch computes: at most ``most``, and no
    more than fit in ``BATCH_BYTES`` with their waveforms and spectrograms (never fewer than
    one), so a dataset of long clips is built in small batches instead of running out of
    memory."""
    samples = clip_samples(clip_seconds, fbank_cfg.sample_rate)
    spectrogram = fbank_cfg.n_mels * frames_for_seconds(clip_seconds, fbank_cfg)
    per_clip = (samples + 2 * spectrogram) * FLOAT32_BYTES  # the spectrograms are copied once
    return max(1, min(most, BATCH_BYTES // per_clip))
