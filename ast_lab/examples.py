"""Real example sounds shipped with the package: one ESC-10 clip per class, from fold 1.

Ten 5-s recordings (Ogg Vorbis, 44.1 kHz, mono, about 120 kB each), byte for byte the files of
ESC-10's fold 1, chosen by ``scripts/pick_example_sounds.py``: for each class, the first fold-1
clip of the upstream licence list whose licence is CC0 or CC-BY. ``sounds.json`` beside them
records each clip's class, ESC-50 target, Freesound source, author and licence, and
``ATTRIBUTION.md`` says the same for people. The shipped model (``ast_lab.shipped``) was trained
on folds 2-5, so these are sounds it never heard.

    >>> wave = load_example("dog")                 # float32 (80000,) at 16 kHz
    >>> wave, rate = load_example("rain", None), example_rate("rain")  # the file's own rate
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import soundfile as sf

from .audio import load_audio

SOUNDS_DIR = Path(__file__).resolve().parent / "assets" / "sounds"
MANIFEST = "sounds.json"


@dataclass(frozen=True)
class ExampleSound:
    """One shipped clip and where it came from."""

    name: str  # the ESC-10 class, "dog"
    filename: str  # the ESC-50 file name, "1-100032-A-0.ogg"
    target: int  # ESC-50's target number of the class
    fold: int  # ESC-50's fold (always 1 here)
    source_title: str  # the Freesound recording it was cut from
    url: str  # its Freesound page
    author: str  # its Freesound author
    licence: str  # "CC0" or "CC-BY"

    @property
    def path(self) -> Path:
        return SOUNDS_DIR / self.filename

    def credit(self) -> str:
        """One attribution line: ``"dog: "rose_bark.wav" by nfrae (CC0), <url>"``."""
        return f'{self.name}: "{self.source_title}" by {self.author} ({self.licence}), {self.url}'


def example_sounds(folder: Path = SOUNDS_DIR) -> list[ExampleSound]:
    """Every shipped clip, in the order ``sounds.json`` lists them (ESC-10's class order)."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        raise FileNotFoundError(f"{manifest} is missing: the package was installed without its "
                                "example sounds")
    return [ExampleSound(**entry) for entry in json.loads(manifest.read_text())["sounds"]]


def example_names() -> list[str]:
    """The class names of the shipped clips: ``["dog", "rooster", ...]``."""
    return [sound.name for sound in example_sounds()]


def example_sound(name: str) -> ExampleSound:
    """The shipped clip of class ``name``; ValueError listing the names otherwise."""
    for sound in example_sounds():
        if sound.name == name:
            return sound
    raise ValueError(f"no example sound {name!r}; choose one of {example_names()}")


def example_path(name: str) -> Path:
    """The file of the shipped clip of class ``name``."""
    return example_sound(name).path


def example_rate(name: str) -> int:
    """The file's own sample rate in Hz (44,100 for ESC-10)."""
    return int(sf.info(str(example_path(name))).samplerate)


def load_example(name: str, sample_rate: Optional[int] = 16_000) -> np.ndarray:
    """The clip of class ``name`` as float32 mono ``(samples,)`` in [-1, 1], resampled to
    ``sample_rate`` Hz (None keeps the file's rate, ``example_rate(name)``)."""
    return load_audio(example_path(name), sample_rate)
