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


def longest_clip_seconds(metadata: Metadata) -> float:
    """Duration of the longest clip in seconds, rounded up to 0.1 s, from the file headers only."""
    longest = 0.0
    for index in range(len(metadata)):
        path = metadata.audio_path(index)
        try:
            info = sf.info(str(path))
        except (sf.SoundFileError, OSError) as err:
            message = f"{metadata.where(index)}: cannot read the header of {path}: {err}"
            raise ValueError(message) from err
        if info.samplerate <= 0:
            raise ValueError(f"{metadata.where(index)}: unreadable sample rate {info.samplerate}")
        longest = max(longest, info.frames / info.samplerate)
    return math.ceil(round(longest * 10, 6)) / 10
