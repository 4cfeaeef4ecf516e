"""Audio players for notebooks: hear the sound beside its waveform or spectrogram.

A player is an HTML ``<audio>`` element with the sound embedded in the page as Ogg Vorbis, so
an executed notebook plays it without a kernel and without the file (about 10 kB per second of
16-kHz sound, a fifth of 16-bit WAV). ``player`` encodes any waveform; ``example_player`` embeds
a shipped example clip byte for byte, at its recorded 44.1 kHz; ``player_table`` lines several
up with their labels. Firefox, Chrome and Edge play Ogg Vorbis; a browser that does not shows
a player that stays silent.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Sequence

import numpy as np
import soundfile as sf
from IPython.display import HTML

from .examples import example_path

MIME = "audio/ogg"


def ogg_bytes(wave: np.ndarray, sample_rate: int) -> bytes:
    """A mono waveform ``(samples,)`` in [-1, 1] at ``sample_rate`` Hz as an Ogg Vorbis file.

    Samples outside [-1, 1] are clipped (a player would clip them anyway); ValueError for an
    empty, multi-channel or non-finite ``wave``.
    """
    wave = np.asarray(wave, dtype=np.float32)
    if wave.ndim != 1 or wave.size == 0:
        raise ValueError(f"a player needs a mono waveform (samples,), got shape {wave.shape}")
    if not np.isfinite(wave).all():
        raise ValueError("a player cannot play NaN or infinite samples")
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(wave, -1.0, 1.0), sample_rate, format="OGG", subtype="VORBIS")
    return buffer.getvalue()


def audio_element(data: bytes, label: str = "") -> str:
    """HTML of one labelled ``<audio controls>`` element playing the Ogg file ``data``."""
    source = f"data:{MIME};base64,{base64.b64encode(data).decode('ascii')}"
    caption = f"<span style='margin-right:0.6em'>{html.escape(label)}</span>" if label else ""
    return (f"<div style='display:flex;align-items:center'>{caption}"
            f"<audio controls preload='none' src='{source}'></audio></div>")


def player(wave: np.ndarray, sample_rate: int, label: str = "") -> HTML:
    """A player for ``wave`` ``(samples,)`` at ``sample_rate`` Hz, as the model hears it."""
    return HTML(audio_element(ogg_bytes(wave, sample_rate), label))


def example_player(name: str, label: str = "") -> HTML:
    """A player for the shipped example clip of class ``name``, the recording as it is."""
    return HTML(audio_element(example_path(name).read_bytes(), label or name))


def player_table(waves: Sequence[np.ndarray], labels: Sequence[str], sample_rate: int) -> HTML:
    """One labelled player per waveform ``(samples,)``, all at ``sample_rate`` Hz, in a column."""
    if len(waves) != len(labels):
        raise ValueError(f"{len(waves)} waveforms but {len(labels)} labels")
    rows = [audio_element(ogg_bytes(wave, sample_rate), label) for wave, label in zip(waves, labels)]
    return HTML("".join(rows))
