"""Listed clips as fixed-length waveforms: read, check, resample, pad or crop; and, from the
file headers alone, the length a dataset's clips should have, the clips whose lengths stand
out (``length_warning``) and what loading will do to them (``loading_report``, for the
features summary).

Errors name the CSV line that lists the clip as well as the file, so a bad file in a
2,000-clip dataset is found at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import soundfile as sf

from ..audio import load_audio, pad_or_crop
from .metadata import Metadata

LENGTH_TOLERANCE = 0.01  # s; a clip this close to the clip length counts as that long
# A clip this many times longer or shorter than the typical one stands out. 3, not 2: spoken
# digits span 0.14 s to 1.31 s around a median of 0.42 s, and none of those is a mistake.
OUTLIER_RATIO = 3.0
MAX_NAMED = 3  # how many outlier clips a warning names


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


@dataclass(frozen=True)
class ClipHeaders:
    """What the file headers of a dataset's clips say, one entry per clip, in metadata order."""

    filenames: list[str]  # file names inside audio/
    rates: np.ndarray  # (n_clips,) int64 sample rate of each file, Hz
    channels: np.ndarray  # (n_clips,) int64 channel count of each file
    frames: np.ndarray  # (n_clips,) int64 samples per channel of each file

    @property
    def durations(self) -> np.ndarray:
        """(n_clips,) float64 length of each clip in seconds."""
        return self.frames / self.rates


def read_headers(metadata: Metadata) -> ClipHeaders:
    """Rate, channels and length of every clip of ``metadata``, one header read per file
    (no audio is decoded). Raises ValueError naming the CSV line of an unreadable header."""
    rates, channels, frames = (np.empty(len(metadata), dtype=np.int64) for _ in range(3))
    for index in range(len(metadata)):
        path = metadata.audio_path(index)
        try:
            info = sf.info(str(path))
        except (sf.SoundFileError, OSError) as err:
            message = f"{metadata.where(index)}: cannot read the header of {path}: {err}"
            raise ValueError(message) from err
        if info.samplerate <= 0:
            raise ValueError(f"{metadata.where(index)}: unreadable sample rate {info.samplerate}")
        rates[index], channels[index], frames[index] = info.samplerate, info.channels, info.frames
    return ClipHeaders(list(metadata.filenames), rates, channels, frames)


def clip_durations(metadata: Metadata) -> np.ndarray:
    """``(n_clips,)`` float64 duration of every clip in seconds, from the file headers only."""
    return read_headers(metadata).durations


def dataset_clip_seconds(durations: np.ndarray) -> float:
    """The clip length a dataset is meant to have, in seconds.

    When at least half the clips share one length (to 10 ms), that is the dataset's length,
    and the few odd clips are padded or cropped to it: ESC-50 and ESC-10 are 5-s datasets
    even though 20 of ESC-10's clips run 3.64 s to 7.24 s. Otherwise (recordings of free
    length, such as spoken digits) it is the longest clip, rounded up to 0.1 s, leaving out
    the clips over ``OUTLIER_RATIO`` times the 90th-percentile length (the length nine clips
    in ten do not exceed): only those are cropped, and as the percentile ignores the longest
    tenth, a few long clips never decide the length. (The longest clip itself would let one
    10-minute file pad 59 five-second ones to 10 minutes; the median would crop half the clips
    of a free-length set.)
    """
    if len(durations) == 0:
        raise ValueError("no clips to measure")
    durations = np.asarray(durations, dtype=np.float64)
    centis = np.round(durations * 100).astype(np.int64)
    values, counts = np.unique(centis, return_counts=True)
    if counts.max() * 2 >= len(centis):
        return float(values[counts.argmax()]) / 100
    typical_long = np.quantile(durations, 0.9, method="inverted_cdf")
    longest_kept = durations[durations <= OUTLIER_RATIO * typical_long].max()
    return math.ceil(round(float(longest_kept) * 10, 6)) / 10


def length_outliers(durations: np.ndarray) -> np.ndarray:
    """Indices of the clips whose length is over ``OUTLIER_RATIO`` times the median length or
    under the median over ``OUTLIER_RATIO``, farthest first: the lengths that disagree widely
    with the others."""
    durations = np.asarray(durations, dtype=np.float64)
    ratio = np.maximum(durations, 1e-9) / max(float(np.median(durations)), 1e-9)
    far = np.flatnonzero((ratio > OUTLIER_RATIO) | (ratio < 1 / OUTLIER_RATIO))
    return far[np.argsort(-np.abs(np.log(ratio[far])), kind="stable")]


def length_warning(headers: ClipHeaders, clip_seconds: float, where: str) -> str | None:
    """A warning naming the clips whose lengths disagree widely with the others
    (``length_outliers``: a few names, farthest first, and a count), or None when all agree.
    ``where`` names the dataset (its CSV)."""
    durations = headers.durations
    far = length_outliers(durations)
    if len(far) == 0:
        return None
    named = ", ".join(f"{headers.filenames[i]} ({durations[i]:.2f} s)" for i in far[:MAX_NAMED])
    more = f" and {len(far) - MAX_NAMED} more" if len(far) > MAX_NAMED else ""
    return (f"{where}: clip lengths disagree widely: {len(far)} of {len(durations)} clips are "
            f"over {OUTLIER_RATIO:g} times longer or shorter than the median "
            f"({np.median(durations):.2f} s): {named}{more}; all clips are padded or cropped to "
            f"{clip_seconds:g} s (set the length with --seconds / DataConfig.clip_seconds)")


def length_report(durations: np.ndarray, filenames: Sequence[str], clip_seconds: float,
                  tolerance: float = LENGTH_TOLERANCE) -> str:
    """How the clips fit ``clip_seconds``, for the features summary, e.g. "383 clips are 5 s
    long to within 10 ms; 9 shorter ones are zero-padded at the end and 8 longer ones cropped
    to their first 5 s; shortest 3.64 s (4-164661-B-12.ogg), longest 7.24 s (...)".

    A clip within ``tolerance`` seconds of ``clip_seconds`` counts as that long (a 5.004-s
    clip loses 4 ms, not a sound); only the others count as shorter or longer.
    """
    durations = np.asarray(durations, dtype=np.float64)
    if len(durations) == 0:
        raise ValueError("no clips to measure")
    off = durations - clip_seconds
    slack = tolerance + 1e-6  # 1 us, far below one sample: 5.01 s is within 10 ms of 5 s
    shorter, longer = int((off < -slack).sum()), int((off > slack).sum())
    fit = len(durations) - shorter - longer
    low, high = int(np.argmin(durations)), int(np.argmax(durations))
    if durations[low] == durations[high]:
        extremes = f"every clip is {durations[low]:.2f} s"
    else:
        extremes = (f"shortest {durations[low]:.2f} s ({filenames[low]}), "
                    f"longest {durations[high]:.2f} s ({filenames[high]})")
    return (f"{fit} clips are {clip_seconds:g} s long to within {tolerance * 1000:g} ms; "
            f"{shorter} shorter ones are zero-padded at the end and {longer} longer ones cropped "
            f"to their first {clip_seconds:g} s; {extremes}")


def count_clips(n: int, kind: str = "") -> str:
    """"1 clip", "3 clips", "2 stereo clips": ``n`` clips, ``kind`` before the noun."""
    return f"{n} {kind + ' ' if kind else ''}clip{'' if n == 1 else 's'}"


def rate_report(rates: np.ndarray, sample_rate: int) -> str:
    """The files' sample rates, most common first, and what became of them, e.g. "1959 clips
    at 44100 Hz and 41 clips at 48000 Hz, resampled to 16000 Hz"."""
    values, counts = np.unique(np.asarray(rates), return_counts=True)
    groups = [f"{count_clips(counts[i])} at {values[i]} Hz"
              for i in np.argsort(-counts, kind="stable")]
    if len(groups) == 1:
        read = f"all {groups[0]}"
    else:
        read = f"{', '.join(groups[:-1])} and {groups[-1]}"
    if (values == sample_rate).all():
        return f"{read}, the feature rate (not resampled)"
    return f"{read}, resampled to {sample_rate} Hz"


def channel_report(channels: np.ndarray) -> str:
    """How many files have several channels, all averaged to mono by the loader, e.g. "91
    stereo clips averaged to mono"; "all mono" when none has."""
    channels = np.asarray(channels)
    kinds, counts = np.unique(channels[channels > 1], return_counts=True)
    if len(kinds) == 0:
        return "all mono"
    several = [count_clips(n, "stereo" if c == 2 else f"{c}-channel") for c, n in zip(kinds, counts)]
    return f"{', '.join(several)} averaged to mono"


def loading_report(headers: ClipHeaders, clip_seconds: float, sample_rate: int) -> str:
    """The features summary's account of what the loader did to the clips: padding and
    cropping to ``clip_seconds``, resampling to ``sample_rate`` Hz, downmixing."""
    lengths = length_report(headers.durations, headers.filenames, clip_seconds)
    return (f"clips padded or cropped to {clip_seconds:g} s ({lengths}); "
            f"{rate_report(headers.rates, sample_rate)}; {channel_report(headers.channels)}")
