"""Listed clips as fixed-length waveforms: read, check, resample, pad or crop.

Errors name the CSV line that lists the clip as well as the file, so a bad file in a
2,000-clip dataset is found at once.
"""

from __future__ import annotations

import math

import numpy as np
import soundfile as sf

from ..audio import load_audio, pad_or_crop
from .metadata import Metadata


def clip_samples(clip_seconds: float, sample_rate: int) -> int:
    """Number of samples of a clip of ``clip_seconds`` at ``sample_rate`` Hz."""
    return int(round(clip_seconds * sample_rate))


def load_clip(metadata: Metadata, index: int, sample_rate: int, clip_seconds: float) -> np.ndarray:
    """Clip ``index`` of ``metadata`` as float32 ``(clip_samples,)`` at ``sample_rate`` Hz.

    The file is read at its own rate (checked against ``metadata.expected_rate``; stereo is
    downmixed or refused as ``metadata.mono`` says), resampled, then zero-padded or cropped at
    the end to ``clip_seconds``. Raises ValueError naming the file and its CSV line.
    """
    try:
        path = metadata.audio_path(index)
        wave = load_audio(
            path, sample_rate, mono=metadata.mono, expected_rate=metadata.expected_rate
        )
    except (ValueError, OSError) as err:
        raise ValueError(f"{metadata.where(index)}: {err}") from err
    return pad_or_crop(wave, clip_samples(clip_seconds, sample_rate))


def clip_durations(metadata: Metadata) -> np.ndarray:
    """``(n_clips,)`` float64 duration of every clip in seconds, from the file headers only."""
    durations = np.empty(len(metadata))
    for index in range(len(metadata)):
        path = metadata.audio_path(index)
        try:
            info = sf.info(str(path))
        except (sf.SoundFileError, OSError) as err:
            message = f"{metadata.where(index)}: cannot read the header of {path}: {err}"
            raise ValueError(message) from err
        if info.samplerate <= 0:
            raise ValueError(f"{metadata.where(index)}: unreadable sample rate {info.samplerate}")
        durations[index] = info.frames / info.samplerate
    return durations


def dataset_clip_seconds(durations: np.ndarray) -> float:
    """The clip length a dataset is meant to have, in seconds.

    When at least half the clips share one length (to 10 ms), that is the dataset's length,
    and the few odd clips are padded or cropped to it: ESC-50 and ESC-10 are 5-s datasets
    even though 20 of ESC-10's clips run 3.64 s to 7.24 s. Otherwise (recordings of free
    length, such as spoken digits) it is the longest clip, rounded up to 0.1 s, so nothing is
    cropped.
    """
    if len(durations) == 0:
        raise ValueError("no clips to measure")
    centis = np.round(np.asarray(durations) * 100).astype(np.int64)
    values, counts = np.unique(centis, return_counts=True)
    if counts.max() * 2 >= len(centis):
        return float(values[counts.argmax()]) / 100
    return math.ceil(round(float(np.max(durations)) * 10, 6)) / 10


def length_report(durations: np.ndarray, clip_seconds: float) -> str:
    """How the clips fit ``clip_seconds``, for the features summary, e.g. "380 clips are
    5 s long; 12 shorter ones are zero-padded and 8 longer ones cropped"."""
    centis = np.round(np.asarray(durations) * 100)
    target = round(clip_seconds * 100)
    shorter, longer = int((centis < target).sum()), int((centis > target).sum())
    exact = len(centis) - shorter - longer
    return (f"{exact} clips are {clip_seconds:g} s long; {shorter} shorter ones are zero-padded "
            f"at the end and {longer} longer ones cropped to their first {clip_seconds:g} s")
