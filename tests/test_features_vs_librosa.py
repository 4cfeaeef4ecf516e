"""Our FBANK against librosa over a covering grid of settings and signals.

Each case draws one value per axis so that every value of every axis appears (checked by
``test_grid_covers_every_value``) without running the full product. Tolerances:

* filterbank: equal to ``librosa.filters.mel`` to rtol 1e-6 (atol 1e-12 where librosa has zeros);
* mel power: |ours - librosa| <= 1e-4 x the clip's peak power (both float32);
* dB: within 1e-3 dB wherever the power is within 80 dB of the clip's peak (top_db=None), and
  within 1e-3 dB everywhere with top_db=80 clipping on both sides;
* frame counts: equal.

``center=False`` cases use win_length == n_fft: our ``center=False`` is Kaldi's snip_edges (frames
of win_length samples), librosa's spans n_fft samples, and the two coincide only then.
"""

from __future__ import annotations

import random
import warnings
from dataclasses import dataclass

import librosa
import numpy as np
import pytest
import torch

from ast_lab import features as fx
from ast_lab.audio import load_audio, pad_or_crop
from ast_lab.config import FbankConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")

AXES: dict[str, list] = {
    "sample_rate": [8000, 16000, 22050, 44100],
    "n_fft": [256, 512, 1024, 2048],
    "win_fraction": [1.0, 0.75, 0.5],  # win_length = n_fft * fraction (1.0 when not centred)
    "window": ["hann", "hamming"],
    "mel_scale": ["htk", "slaney"],
    "mel_norm": [None, "slaney"],
    "power": [1.0, 2.0],
    "center": [True, False],
    "pad_mode": ["constant", "reflect"],
    "n_mels": [32, 64, 128],
    "band": ["full", "narrow"],  # fmin=0, fmax=None, or fmin=50 Hz, fmax=0.4 * sample_rate
    "signal": ["noise", "chirp", "silence", "int16", "fsdd"],
}
N_CASES = 48
FSDD_FILES = ["3_jackson_12.wav", "7_theo_40.wav", "0_nicolas_3.wav", "9_yweweler_25.wav"]


@dataclass(frozen=True)
class Case:
    sample_rate: int
    n_fft: int
    win_fraction: float
    window: str
    mel_scale: str
    mel_norm: str | None
    power: float
    center: bool
    pad_mode: str
    n_mels: int
    band: str
    signal: str
    seconds: float
    seed: int

    @property
    def win_length(self) -> int:
        return int(self.n_fft * self.win_fraction) if self.center else self.n_fft

    @property
    def hop_length(self) -> int:
        return max(1, self.win_length // 3)

    @property
    def fmin(self) -> float:
        return 0.0 if self.band == "full" else 50.0

    @property
    def fmax(self) -> float | None:
        return None if self.band == "full" else 0.4 * self.sample_rate

    def config(self, **overrides) -> FbankConfig:
        cfg = FbankConfig(
            sample_rate=self.sample_rate,
            win_ms=1000.0 * self.win_length / self.sample_rate,
            hop_ms=1000.0 * self.hop_length / self.sample_rate,
            n_fft=self.n_fft, n_mels=self.n_mels, fmin=self.fmin, fmax=self.fmax,
            window=self.window, periodic=True, center=self.center, pad_mode=self.pad_mode,
            mel_scale=self.mel_scale, mel_norm=self.mel_norm, mel_domain="hz", power=self.power,
            log="db", top_db=None, amin=1e-10, **overrides,
        )
        assert (cfg.win_length, cfg.hop_length) == (self.win_length, self.hop_length)
        return cfg

    def librosa_kwargs(self) -> dict:
        return dict(sr=self.sample_rate, n_fft=self.n_fft, hop_length=self.hop_length,
                    win_length=self.win_length, window=self.window, center=self.center,
                    pad_mode=self.pad_mode, power=self.power, n_mels=self.n_mels, fmin=self.fmin,
                    fmax=self.fmax, htk=self.mel_scale == "htk", norm=self.mel_norm)

    def __str__(self) -> str:
        centring = f"center-{self.pad_mode}" if self.center else "snip"
        return (
            f"{self.signal}-{self.sample_rate}Hz-nfft{self.n_fft}-win{self.win_length}-"
            f"{self.window}-{self.mel_scale}-norm{self.mel_norm}-p{self.power:g}-{centring}-"
            f"{self.n_mels}mels-{self.band}"
        )


def make_cases() -> list[Case]:
    rng = random.Random(2021)
    columns = {}
    for name, values in AXES.items():  # each value repeated evenly, then shuffled per axis
        column = (values * (N_CASES // len(values) + 1))[:N_CASES]
        rng.shuffle(column)
        columns[name] = column
    return [
        Case(**{name: columns[name][i] for name in AXES}, seconds=rng.uniform(0.3, 1.0), seed=i)
        for i in range(N_CASES)
    ]


CASES = make_cases()


def test_grid_covers_every_value():
    for name, values in AXES.items():
        seen = {getattr(case, name) for case in CASES}
        assert seen == set(values), name
    assert {case.win_length == case.n_fft for case in CASES if not case.center} == {True}


def signal_for(case: Case, request) -> tuple[np.ndarray, np.ndarray]:
    """(what we feed fbank, the same samples as float32 for librosa)."""
    sr, n = case.sample_rate, int(case.seconds * case.sample_rate)
    rng = np.random.default_rng(case.seed)
    t = np.arange(n) / sr
    if case.signal == "noise":  # rising from -40 dB so the clip has a dynamic range
        wave = rng.standard_normal(n) * 0.3 * np.logspace(-2, 0, n)
    elif case.signal == "chirp":  # linear sweep 50 Hz -> 0.45 sr
        f0, f1 = 50.0, 0.45 * sr
        wave = 0.8 * np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * case.seconds)))
    elif case.signal == "silence":
        wave = np.zeros(n)
    elif case.signal == "int16":
        ints = np.clip(rng.standard_normal(n) * 6000, -32768, 32767).astype(np.int16)
        return ints, ints.astype(np.float32) / 32768
    else:
        fsdd_dir = request.getfixturevalue("fsdd_dir")
        name = FSDD_FILES[case.seed % len(FSDD_FILES)]
        digit = load_audio(fsdd_dir / "audio" / name, sample_rate=sr, expected_rate=8000)
        wave = pad_or_crop(digit, n)
    wave = wave.astype(np.float32)
    return wave, wave


def case_params() -> list:
    return [
        pytest.param(case, id=str(case), marks=[pytest.mark.fsdd] if case.signal == "fsdd" else [])
        for case in CASES
    ]


def librosa_filterbank(case: Case) -> tuple[np.ndarray, bool]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bank = librosa.filters.mel(sr=case.sample_rate, n_fft=case.n_fft, n_mels=case.n_mels,
                                   fmin=case.fmin, fmax=case.fmax, htk=case.mel_scale == "htk",
                                   norm=case.mel_norm)
    return bank, any("Empty filters" in str(w.message) for w in caught)


@pytest.mark.parametrize("case", case_params())
def test_matches_librosa(case: Case, request):
    ours_in, librosa_in = signal_for(case, request)
    cfg = case.config()

    expected_bank, librosa_warned = librosa_filterbank(case)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bank = fx.mel_filterbank(cfg).numpy()
        mel_power = fx.fbank(ours_in, FbankConfig(**{**vars(cfg), "log": "none"})).numpy()
        db = fx.fbank(ours_in, cfg).numpy()
        db_clipped = fx.fbank(ours_in, FbankConfig(**{**vars(cfg), "top_db": 80.0})).numpy()
    assert any("Empty filters" in str(w.message) for w in caught) == librosa_warned
    np.testing.assert_allclose(bank, expected_bank, rtol=1e-6, atol=1e-12)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # empty filters, already compared above
        expected_power = librosa.feature.melspectrogram(y=librosa_in, **case.librosa_kwargs())
    assert mel_power.shape == expected_power.shape == db.shape
    n_frames = fx.num_frames(
        len(librosa_in), case.win_length, case.hop_length, case.n_fft, case.center
    )
    assert expected_power.shape == (case.n_mels, n_frames)

    peak = expected_power.max()
    assert np.abs(mel_power - expected_power).max() <= 1e-4 * peak

    expected_db = librosa.power_to_db(expected_power, ref=1.0, amin=1e-10, top_db=None)
    within_80_db = expected_power >= peak * 1e-8
    np.testing.assert_allclose(db[within_80_db], expected_db[within_80_db], rtol=0, atol=1e-3)

    expected_clipped = librosa.power_to_db(expected_power, ref=1.0, amin=1e-10, top_db=80.0)
    np.testing.assert_allclose(db_clipped, expected_clipped, rtol=0, atol=1e-3)


@pytest.mark.parametrize("scale", ["htk", "slaney"])
def test_mel_scale_matches_librosa(scale):
    freqs = np.array([0.0, 20.0, 440.0, 999.9, 1000.0, 3000.0, 8000.0, 22050.0])
    htk = scale == "htk"
    mels = fx.hz_to_mel(freqs, scale)
    np.testing.assert_allclose(mels, librosa.hz_to_mel(freqs, htk=htk), rtol=1e-12)
    hz = fx.mel_to_hz(mels, scale)
    np.testing.assert_allclose(hz, librosa.mel_to_hz(mels, htk=htk), rtol=1e-12)


def test_batched_fbank_matches_librosa_clip_by_clip():
    """One batched call against librosa on each clip, torch input, default (librosa-like) config."""
    rng = np.random.default_rng(7)
    levels = np.array([[0.01], [0.1], [0.5], [0.9]])
    clips = (rng.standard_normal((4, 12_000)) * levels).astype(np.float32)
    ours = fx.fbank(torch.from_numpy(clips), FbankConfig()).numpy()  # (4, 128, 76)
    for clip, our_db in zip(clips, ours):
        power = librosa.feature.melspectrogram(
            y=clip, sr=16000, n_fft=512, hop_length=160, win_length=400
        )
        expected = librosa.power_to_db(power, ref=1.0, amin=1e-10, top_db=80.0)
        np.testing.assert_allclose(our_db, expected, rtol=0, atol=1e-3)
