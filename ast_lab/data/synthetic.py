"""The built-in synthetic sound set: 12 classes told apart by spectro-temporal shape alone.

It is the default data of the demo, the notebooks and CI: generated in seconds, written in
exactly the ESC-50 layout (``meta/esc50.csv`` + ``audio/*.wav``, 16-bit PCM, 5 folds), so
every code path that reads ESC-50 runs on it.

Each class is a *shape* in the spectrogram: a horizontal line (steady tone), a line going up
or down or up-then-down (chirps), parallel lines (harmonic stack), vertical lines (click
train), a block (noise band), a block going up (noise sweep), a dashed line (AM tone), a wavy
line (vibrato), a line fading out after a click (impulse decay), a line jumping between two
heights (two-tone alternation). Everything a global statistic could latch onto is nuisance,
drawn at random per clip: pitch (any class spans the same frequency range), onset, duration,
peak level and background-noise SNR. So loudness, brightness or length alone do not say which
class a clip is; the shape does.

Clips come in pairs (takes "A" and "B") from one *source*: same class, fold and pitch/shape
parameters, different onset, duration, level, noise. Like ESC-50's clips cut from one
recording, takes of a source must stay on one side of a train/validation split.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf

from ..config import DataConfig
from .metadata import ESC50_COLUMNS
from .paths import audio_dir, metadata_csv

GENERATOR_VERSION = 1  # bump when the sounds change, so existing sets are regenerated
PARAMS_FILE = "synthetic.json"  # records how a folder's set was made
FOLDS = (1, 2, 3, 4, 5)
TAKES = ("A", "B")  # clips per source
MAX_FREQ_FRACTION = 0.45  # keep every component below 0.45 * sample_rate (under Nyquist)
FADE_SECONDS = 0.002  # raised-cosine edges of each event, so tones start without a click
EVENT_SECONDS = (0.45, 0.9)  # event duration, as a fraction of the clip length
PEAK_DB = (-30.0, -3.0)  # clip peak level, dB re full scale
SNR_DB = (10.0, 30.0)  # event RMS over background-noise RMS, dB
SYNTHETIC_SECONDS = 1.0  # default clip length: long enough for every shape, cheap to train on

Renderer = Callable[[np.random.Generator, int, int], np.ndarray]


# ---------------------------------------------------------------------------- building blocks


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    """A frequency or ratio drawn uniformly on a log scale, so each octave is equally likely."""
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def _ramp(n: int) -> np.ndarray:
    """0 -> 1 over ``n`` samples, ``(n,)``."""
    return np.linspace(0.0, 1.0, n)


def _sine(freq_hz: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """A sinusoid following the frequency track ``freq_hz`` ``(..., n)`` (Hz per sample),
    phase-continuous, random start phase per row; same shape."""
    freq_hz = np.minimum(freq_hz, MAX_FREQ_FRACTION * sample_rate)
    start = rng.uniform(0.0, 2 * np.pi, size=freq_hz.shape[:-1] + (1,))
    return np.sin(2 * np.pi * np.cumsum(freq_hz, axis=-1) / sample_rate + start)


def _band(
    centre_hz: np.ndarray, half_width_octaves: float, rng: np.random.Generator, sample_rate: int
) -> np.ndarray:
    """Noise-like band: 48 sinusoids spread uniformly in log-frequency around ``centre_hz``
    ``(n,)`` (Hz per sample), ``(n,)``."""
    offsets = rng.uniform(-half_width_octaves, half_width_octaves, size=(48, 1))  # octaves
    return _sine(centre_hz[None, :] * 2.0**offsets, sample_rate, rng).sum(axis=0)


def _decaying_noise(
    rng: np.random.Generator, n: int, sample_rate: int, tau_seconds: float
) -> np.ndarray:
    """White noise with an exponential envelope of time constant ``tau_seconds``, ``(n,)``."""
    t = np.arange(n) / sample_rate
    return rng.standard_normal(n) * np.exp(-t / tau_seconds)


# ---------------------------------------------------------------------------- the classes
# Each renderer draws its shape parameters from ``rng`` and returns an event of ``n`` samples
# at ``sample_rate`` Hz, at an arbitrary scale (``synthesize`` sets the level).


def _steady_tone(rng: np.random.Generator, n: int, sample_rate: int) -> np.ndarray:
    return _sine(np.full(n, _log_uniform(rng, 200, 4000)), sample_rate, rng)


def _glide(
    shape: Callable[[np.ndarray], np.ndarray], rng: np.random.Generator, n: int, sample_rate: int
) -> np.ndarray:
    """A tone whose log-frequency follows ``shape(0..1)`` between a low and a 2.5-4x higher one."""
    low, ratio = _log_uniform(rng, 200, 1500), _log_uniform(rng, 2.5, 4.0)
    return _sine(low * ratio ** shape(_ramp(n)), sample_rate, rng)


def _harmonic_stack(rng: np.random.Generator, n: int, sample_rate: int) -> np.ndarray:
    f0 = _log_uniform(rng, 150, 700)
    k = np.arange(1, min(8, int(MAX_FREQ_FRACTION * sample_rate / f0)) + 1)  # harmonic numbers
    amplitude = k ** -rng.uniform(0.3, 1.0)  # random spectral tilt
    return amplitude @ _sine(np.outer(k * f0, np.ones(n)), sample_rate, rng)


def _click_train(rng: np.random.Generator, n: int, sample_rate: int) -> np.ndarray:
    period = int(sample_rate / rng.uniform(8, 16))  # samples between clicks
    impulses = np.zeros(n)
    impulses[::period] = 1.0
    click = _decaying_noise(rng, int(0.01 * sample_rate), sample_rate, tau_seconds=0.001)
    return np.convolve(impulses, click)[:n]


def _noise_band(rng: np.random.Generator, n: int, sample_rate: int) -> np.ndarray:
    return _band(np.full(n, _log_uniform(rng, 500, 3500)), 0.5, rng, sample_rate)


def _noise_sweep(rng: np.random.Generator, n: int, sample_rate: int) -> np.ndarray:
    low, ratio = _log_uniform(rng, 300, 1200), _log_uniform(rng, 2.5, 4.0)
    return _band(low * ratio ** _ramp(n), 0.3, rng, sample_rate)


def _am_tone(rng: np.random.Generator, n: int, sample_rate: int) -> np.ndarray:
    carrier = _sine(np.full(n, _log_uniform(rng, 300, 4000)), sample_rate, rng)
    rate = rng.uniform(6, 12)  # Hz
    return carrier * 0.5 * (1 - np.cos(2 * np.pi * rate * np.arange(n) / sample_rate))


def _fm_vibrato(rng: np.random.Generator, n: int, sample_rate: int) -> np.ndarray:
    f0, rate, depth = _log_uniform(rng, 400, 3500), rng.uniform(4, 8), rng.uniform(0.08, 0.15)
    wobble = np.sin(2 * np.pi * rate * np.arange(n) / sample_rate + rng.uniform(0, 2 * np.pi))
    return _sine(f0 * (1 + depth * wobble), sample_rate, rng)


def _impulse_decay(rng: np.random.Generator, n: int, sample_rate: int) -> np.ndarray:
    """A click, then a resonance decaying by 40 dB over the event (a struck object)."""
    tone = _sine(np.full(n, _log_uniform(rng, 300, 4000)), sample_rate, rng)
    tau = n / sample_rate / np.log(100.0)  # seconds; exp(-n / (tau * sr)) = 1/100 = -40 dB
    click = _decaying_noise(rng, n, sample_rate, tau_seconds=0.002)
    return tone * np.exp(-np.arange(n) / (tau * sample_rate)) + click


def _two_tone_alternation(rng: np.random.Generator, n: int, sample_rate: int) -> np.ndarray:
    low, ratio, rate = _log_uniform(rng, 300, 2500), rng.uniform(1.3, 1.7), rng.uniform(3, 6)
    phase = 2 * np.pi * rate * np.arange(n) / sample_rate + rng.uniform(0, 2 * np.pi)
    return _sine(np.where(np.sin(phase) >= 0, low * ratio, low), sample_rate, rng)


RENDERERS: dict[str, Renderer] = {
    "steady_tone": _steady_tone,
    "rising_chirp": partial(_glide, lambda r: r),
    "falling_chirp": partial(_glide, lambda r: 1 - r),
    "arch_chirp": partial(_glide, lambda r: np.sin(np.pi * r)),
    "harmonic_stack": _harmonic_stack,
    "click_train": _click_train,
    "noise_band": _noise_band,
    "noise_sweep": _noise_sweep,
    "am_tone": _am_tone,
    "fm_vibrato": _fm_vibrato,
    "impulse_decay": _impulse_decay,
    "two_tone_alternation": _two_tone_alternation,
}
SYNTHETIC_CLASSES: tuple[str, ...] = tuple(RENDERERS)  # class names, in target order


# ---------------------------------------------------------------------------- one clip


def _fade(n: int, sample_rate: int) -> np.ndarray:
    """Raised-cosine fade-in and fade-out of ``FADE_SECONDS`` each, ``(n,)``."""
    edge = min(int(FADE_SECONDS * sample_rate), n // 2)
    envelope = np.ones(n)
    if edge > 0:
        rise = 0.5 - 0.5 * np.cos(np.pi * np.arange(edge) / edge)
        envelope[:edge], envelope[n - edge :] = rise, rise[::-1]
    return envelope


def synthesize(
    class_name: str,
    rng: np.random.Generator,
    seconds: float,
    sample_rate: int,
    *,
    take_rng: np.random.Generator | None = None,
) -> np.ndarray:
    """One example of ``class_name``: float32 ``(round(seconds * sample_rate),)`` in [-1, 1].

    The class's shape parameters (pitch, sweep range, rates) come from ``rng``; the nuisance
    (event duration 45-90 % of the clip, onset, background white noise at 10-30 dB SNR, peak
    level -30 to -3 dBFS) from ``take_rng`` (default: ``rng``). Two calls with ``rng`` seeded
    alike and different ``take_rng`` give two takes of one source.
    """
    if class_name not in RENDERERS:
        raise ValueError(f"unknown synthetic class {class_name!r}; choose from {SYNTHETIC_CLASSES}")
    take_rng = rng if take_rng is None else take_rng
    n = int(round(seconds * sample_rate))
    n_event = max(1, int(round(take_rng.uniform(*EVENT_SECONDS) * n)))
    onset = int(take_rng.integers(0, n - n_event + 1))
    event = RENDERERS[class_name](rng, n_event, sample_rate) * _fade(n_event, sample_rate)
    noise_rms = 10 ** (-take_rng.uniform(*SNR_DB) / 20)  # relative to the event's RMS of 1
    clip = take_rng.standard_normal(n) * noise_rms
    clip[onset : onset + n_event] += event / np.sqrt(np.mean(event**2))
    peak = 10 ** (take_rng.uniform(*PEAK_DB) / 20)
    return (clip * (peak / np.abs(clip).max())).astype(np.float32)


# ---------------------------------------------------------------------------- the data set


def make_synthetic_dataset(
    root: str | Path,
    *,
    n_per_class_per_fold: int = DataConfig.synthetic_per_class_per_fold,
    seconds: float = SYNTHETIC_SECONDS,
    sample_rate: int = 16_000,
    seed: int = 0,
) -> Path:
    """Write the synthetic set to ``root`` in the ESC-50 layout and return ``root``.

    ``len(SYNTHETIC_CLASSES) * 5 * n_per_class_per_fold`` clips (2,880 by default) of ``seconds``
    at ``sample_rate`` Hz, balanced over classes and folds, byte-identical for the same
    arguments. If ``root`` already holds a complete set made with the same arguments it is
    reused; otherwise the set is generated in a temporary folder beside ``root`` and renamed
    into place, so ``root`` is never half-written. A non-empty ``root`` without a parameter file
    (so not made here) is refused rather than overwritten.
    """
    if n_per_class_per_fold < 1 or seconds <= 0 or sample_rate <= 0:
        raise ValueError("n_per_class_per_fold, seconds and sample_rate must be positive")
    root = Path(root)
    params = {
        "generator_version": GENERATOR_VERSION,
        "classes": list(SYNTHETIC_CLASSES),
        "n_per_class_per_fold": n_per_class_per_fold,
        "seconds": seconds,
        "sample_rate": sample_rate,
        "seed": seed,
    }
    if synthetic_params(root) == params:
        return root
    if root.exists() and any(root.iterdir()) and not (root / PARAMS_FILE).is_file():
        raise ValueError(
            f"{root} is not empty and holds no synthetic set ({PARAMS_FILE}); choose another folder"
        )
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
    try:
        _write_dataset(staging, params)
        _replace_folder(staging, root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return root


def synthetic_params(root: str | Path) -> dict | None:
    """The parameters of the complete synthetic set in ``root``, or None if there is none
    (no readable parameter file, no CSV, or another number of audio files than it promises)."""
    root = Path(root)
    try:
        params = json.loads((root / PARAMS_FILE).read_text())
        n_expected = len(params["classes"]) * len(FOLDS) * params["n_per_class_per_fold"]
        complete = metadata_csv(root).is_file() and len(os.listdir(audio_dir(root))) == n_expected
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return params if complete else None


def _write_dataset(folder: Path, params: dict) -> None:
    """Render every clip into ``folder``/audio, then the CSV, then the parameter file.

    The clips are rendered on a thread per core: every clip draws from its own seeded
    generators and NumPy and soundfile release the GIL while they compute and write, so the
    files are the same as one thread's, in about half the time on 2 cores.
    """
    audio_dir(folder).mkdir(parents=True)
    jobs = [
        (target, class_name, fold, k)
        for target, class_name in enumerate(params["classes"])
        for fold in FOLDS
        for k in range(params["n_per_class_per_fold"])
    ]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        rows = list(pool.map(partial(_write_clip, folder, params), *zip(*jobs)))
    metadata_csv(folder).parent.mkdir()
    with open(metadata_csv(folder), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(ESC50_COLUMNS)
        writer.writerows(rows)
    (folder / PARAMS_FILE).write_text(json.dumps(params, indent=2) + "\n")


def _write_clip(folder: Path, params: dict, target: int, class_name: str, fold: int,
                k: int) -> list:
    """Render and write clip ``k`` of ``class_name`` in ``fold``; its row of the CSV."""
    source, take = divmod(k, len(TAKES))
    src_file = f"{params['seed']}{target:02d}{fold}{source:03d}"  # unique per source
    filename = f"{fold}-{src_file}-{TAKES[take]}-{target}.wav"
    source_seed = [params["seed"], target, fold, source]
    wave = synthesize(
        class_name,
        np.random.default_rng(source_seed),
        params["seconds"],
        params["sample_rate"],
        take_rng=np.random.default_rng(source_seed + [take]),
    )
    sf.write(audio_dir(folder) / filename, wave, params["sample_rate"], subtype="PCM_16")
    return [filename, fold, target, class_name, False, src_file, TAKES[take]]


def _replace_folder(new: Path, target: Path) -> None:
    """Move ``new`` to ``target``, replacing an existing (synthetic) ``target`` as a whole."""
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
        os.replace(target, old / target.name)
        os.replace(new, target)
        shutil.rmtree(old)
    else:
        os.replace(new, target)
