"""Graders for notebook 01 (``01_stft_to_logmel``): frame counts, Hz to mel, one mel triangle,
and the window experiment (a config for any window length; what the experiment shows).

The references are ``ast_lab.features``' own ``num_frames``, ``hz_to_mel`` and
``triangular_filters``, and ``ast_lab.resolution``; the hints name the commonest slips.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ast_lab import features
from ast_lab.config import FbankConfig
from ast_lab.exercises.grading import (Case, Feedback, Mistake, as_array, close, differs_by, grade,
                                       grade_reading)
from ast_lab.resolution import WINDOWS_MS, config_for_window, resolution_table

# ---------------------------------------------------------------------------- frame count

# (n_samples, win_length, hop_length, n_fft, center): label
FRAME_CASES = [
    Case("5 s at 16 kHz, centred (librosa)", (80_000, 400, 160, 512, True)),
    Case("5 s at 16 kHz, snip-edges (Kaldi)", (80_000, 400, 160, 512, False)),
    Case("a signal exactly one window long, snip-edges", (400, 400, 160, 512, False)),
    Case("a tail that exactly fills one more window, snip-edges", (400 + 3 * 160, 400, 160, 512, False)),
    Case("a hop longer than the window, snip-edges", (1_000, 200, 300, 256, False)),
    Case("a signal one window long, centred", (400, 400, 160, 512, True)),
    Case("an odd n_fft of 301, centred", (1_000, 200, 100, 301, True)),
]


def _other_convention(case: Case, expected, got) -> bool:
    n_samples, win, hop, n_fft, center = case.args
    return got == features.num_frames(n_samples, win, hop, n_fft, not center)


def _centred_with_window(case: Case, expected, got) -> bool:
    n_samples, win, hop, n_fft, center = case.args
    return center and got == 1 + (n_samples + 2 * (n_fft // 2) - win) // hop


def _snipped_with_n_fft(case: Case, expected, got) -> bool:
    n_samples, win, hop, n_fft, center = case.args
    return not center and got == 1 + (n_samples - n_fft) // hop


FRAME_MISTAKES = [
    Mistake("that is the other convention's count: center=True pads n_fft // 2 samples at both "
            "ends (librosa), center=False starts at sample 0 and drops the tail (Kaldi "
            "snip-edges).", _other_convention),
    Mistake("centred frames span n_fft samples of the padded signal: use "
            "1 + (N + 2·(n_fft // 2) − n_fft) // hop, with n_fft, not win_length.",
            _centred_with_window),
    Mistake("snip-edges frames hold win_length samples (n_fft only zero-pads each one): "
            "use 1 + (N − win_length) // hop.", _snipped_with_n_fft),
    Mistake("your frame count is one short: did you drop the last full frame? The first frame "
            "counts too: 1 + (samples after the first frame's start that fit) // hop.",
            lambda case, expected, got: differs_by(expected, got, -1)),
    Mistake(lambda case, expected, got: (
        "your frame count is one too many: a tail shorter than a window is dropped (floor "
        "division, not ceil)." if not case.args[4] else
        "your frame count is one too many: with an odd n_fft the padding is 2·(n_fft // 2) = "
        "n_fft − 1 samples, so 1 + N // hop overcounts; write it with n_fft."),
        lambda case, expected, got: differs_by(expected, got, 1)),
]


def check_frame_count(frame_count: Callable[[int, int, int, int, bool], int]) -> Feedback:
    """Grade ``frame_count(n_samples, win_length, hop_length, n_fft, center) -> int`` against
    ``features.num_frames``, for both conventions and their edge cases."""
    return grade("frame count", frame_count, features.num_frames, FRAME_CASES, FRAME_MISTAKES,
                 fallback_hint="center=True: 1 + (N + 2·(n_fft // 2) − n_fft) // hop; "
                               "center=False: 1 + (N − win_length) // hop.")


# ---------------------------------------------------------------------------- Hz to mel (HTK)

MEL_CASES = [
    Case("frequencies 0, 700, 1000, 4000 and 8000 Hz", (np.array([0.0, 700.0, 1000.0, 4000.0, 8000.0]),)),
    Case("a single frequency, 440 Hz, as a 0-d array", (np.array(440.0),)),
    Case("a (2, 3) array of frequencies", (np.array([[20.0, 100.0, 300.0], [2000.0, 6000.0, 22050.0]]),)),
]


def _htk_reference(freq_hz: np.ndarray) -> np.ndarray:
    return features.hz_to_mel(freq_hz, "htk")


def _scaled(log: Callable, factor: float) -> Mistake:
    """A mistake that uses ``factor · log(1 + f/700)``."""
    name = "ln" if log is np.log else "log10"
    right = "log10 with 2595, or ln with 1127 (Kaldi's form)"
    return Mistake(f"you used {name} with {factor:g}: use {right}.",
                   lambda case, expected, got: close(factor * log(1 + as_array(case.args[0]) / 700), got))


def _without_the_one(freq_hz: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return 2595 * np.log10(as_array(freq_hz) / 700)


MEL_MISTAKES = [
    _scaled(np.log, 2595.0),
    _scaled(np.log10, 1127.0),
    Mistake("the formula is 2595·log10(1 + f/700): without the 1, 0 Hz maps to −∞ instead of 0 mel.",
            lambda case, expected, got: close(_without_the_one(case.args[0]), got)),
    Mistake("that is Slaney's mel scale (linear below 1 kHz); this exercise asks for HTK's "
            "2595·log10(1 + f/700).",
            lambda case, expected, got: close(features.hz_to_mel(case.args[0], "slaney"), got)),
]


def check_hz_to_mel(hz_to_mel_htk: Callable[[np.ndarray], np.ndarray]) -> Feedback:
    """Grade ``hz_to_mel_htk(freq_hz) -> mel`` (same shape) against ``features.hz_to_mel(f, "htk")``."""
    return grade("Hz to mel (HTK)", hz_to_mel_htk, _htk_reference, MEL_CASES, MEL_MISTAKES,
                 fallback_hint="mel = 2595·log10(1 + f/700), element by element (np.log10 works "
                               "on arrays of any shape).")


# ---------------------------------------------------------------------------- one triangle

BANK = FbankConfig(n_mels=40, mel_norm=None)  # 16 kHz, Slaney mel, triangles linear in Hz
BIN_FREQS = np.fft.rfftfreq(BANK.n_fft, d=1.0 / BANK.sample_rate)  # (257,) Hz


def _triangle_case(label: str, m: int, freqs_hz: np.ndarray = BIN_FREQS) -> Case:
    left, centre, right = features.mel_band_edges(BANK)[m : m + 3]
    return Case(label, (freqs_hz, float(left), float(centre), float(right)))


def _edges_case(m: int) -> Case:
    left, centre, right = features.mel_band_edges(BANK)[m : m + 3]
    freqs = np.array([left - 50.0, left, (left + centre) / 2, centre, (centre + right) / 2, right,
                      right + 50.0])
    return _triangle_case(f"filter {m}'s own edges, centre and midpoints", m, freqs)


TRIANGLE_CASES = [
    _triangle_case("filter 10 of 40 at the FFT bins of a 512-point FFT", 10),
    _triangle_case("the last of 40 filters (its right edge is Nyquist)", BANK.n_mels - 1),
    _triangle_case("filter 0 (it starts at 0 Hz)", 0),
    _edges_case(20),
]


def _triangle_reference(freqs_hz: np.ndarray, left: float, centre: float, right: float) -> np.ndarray:
    """Row m of ``features.triangular_filters`` for the filter whose edges these are."""
    edges = features.mel_band_edges(BANK)
    m = int(np.argmin(np.abs(edges[:-2] - left) + np.abs(edges[2:] - right)))
    return features.triangular_filters(freqs_hz, BANK)[m]


def _in_mel(case: Case, expected, got) -> bool:
    freqs, left, centre, right = case.args
    mel = lambda f: features.hz_to_mel(f, BANK.mel_scale)  # noqa: E731
    f, lo, c, hi = mel(freqs), mel(left), mel(centre), mel(right)
    return close(np.maximum(0, np.minimum((f - lo) / (c - lo), (hi - f) / (hi - c))), got)


TRIANGLE_MISTAKES = [
    Mistake("your weights go negative outside the triangle: clip at 0, "
            "max(0, min(rising, falling)).", lambda case, expected, got: (as_array(got) < -1e-9).any()),
    Mistake("your peak is not 1: that is Slaney's area normalisation (× 2 / (right − left)); "
            "this exercise asks for the plain triangle, 1 at the centre.",
            lambda case, expected, got: close(expected * 2 / (case.args[3] - case.args[1]), got)),
    Mistake("your triangle is linear in mel (Kaldi's choice); this one is linear in Hz, as "
            "librosa's.", _in_mel),
    Mistake("weights above 1: take the minimum of the rising and the falling slope, so the "
            "peak is exactly 1 at the centre.", lambda case, expected, got: (as_array(got) > 1 + 1e-9).any()),
]


def check_triangle(triangular_filter: Callable[[np.ndarray, float, float, float], np.ndarray]) -> Feedback:
    """Grade ``triangular_filter(freqs_hz, left_hz, centre_hz, right_hz) -> (n_freqs,)`` against
    a row of ``features.triangular_filters`` (no area normalisation, linear in Hz)."""
    return grade("one mel triangle", triangular_filter, _triangle_reference, TRIANGLE_CASES,
                 TRIANGLE_MISTAKES,
                 fallback_hint="rising (f − left)/(centre − left), falling (right − f)/(right − "
                               "centre); the weight is the smaller of the two, and 0 outside.")


# ---------------------------------------------------------------------------- the window experiment

def _settings(result):
    """What a window config decides: ``(win_length, n_fft, hop_length, n_mels)`` in samples and
    bands; anything but an ``FbankConfig`` is passed on, to be reported as it is."""
    if not isinstance(result, FbankConfig):
        return result
    return result.win_length, result.n_fft, result.hop_length, result.n_mels


# (cfg, win_ms)
WINDOW_CASES = [
    Case("25 ms at 16 kHz (400 samples)", (FbankConfig(), 25.0)),
    Case("64 ms at 16 kHz (1,024 samples, exactly a power of two)", (FbankConfig(), 64.0)),
    Case("100 ms at 16 kHz (1,600 samples)", (FbankConfig(), 100.0)),
    Case("8 ms at 16 kHz (128 samples)", (FbankConfig(), 8.0)),
    Case("25 ms at 44.1 kHz with 64 mels", (FbankConfig(sample_rate=44_100, n_mels=64), 25.0)),
]


def _window_reference(cfg: FbankConfig, win_ms: float):
    return _settings(config_for_window(cfg, win_ms))


def _fft_off_by(factor: float) -> Callable:
    def matches(case: Case, expected, got) -> bool:
        return got[0] == expected[0] and got[1] == expected[1] * factor
    return matches


WINDOW_MISTAKES = [
    Mistake("your n_fft is still the old one: a window longer than n_fft is refused (the FFT "
            "must hold the whole window). Set n_fft as well as win_ms.",
            lambda case, expected, got: got[1] == case.args[0].n_fft and expected[1] != got[1]),
    Mistake("n_fft should be a power of two (the FFT is fastest there, and FbankConfig's "
            "comment asks for one): the smallest power of two >= the window in samples.",
            lambda case, expected, got: got[1] == expected[0] and expected[0] != expected[1]),
    Mistake("a window that is already a power of two (1,024 samples) fits an FFT of its own "
            "size: 1 << (n - 1).bit_length(), not 1 << n.bit_length().", _fft_off_by(2)),
    Mistake("your n_fft is half what the window needs: it must be >= the window length.",
            _fft_off_by(0.5)),
    Mistake("keep the hop and the mel bands as they were: this experiment changes the window "
            "only.", lambda case, expected, got: tuple(got[:2]) == tuple(expected[:2])),
]


def check_window_config(window_config: Callable[[FbankConfig, float], FbankConfig]) -> Feedback:
    """Grade ``window_config(cfg, win_ms) -> FbankConfig`` against
    ``resolution.config_for_window``: the window, an n_fft that holds it, all else unchanged."""
    def settings(cfg: FbankConfig, win_ms: float):
        return _settings(window_config(cfg, win_ms))

    return grade("a config for any window", settings, _window_reference, WINDOW_CASES, WINDOW_MISTAKES,
                 fallback_hint="dataclasses.replace(cfg, win_ms=win_ms, n_fft=...) with n_fft the "
                               "smallest power of two >= round(win_ms * sample_rate / 1000).")


def check_resolution_reading(two_tones_from_ms: float, two_clicks_up_to_ms: float) -> Feedback:
    """Check the window lengths read off ``resolution_table`` (``WINDOWS_MS``): the shortest
    window that shows the two tones apart, and the longest that shows the two clicks apart."""
    rows = resolution_table(config_for_window, FbankConfig(), WINDOWS_MS)
    tones = min(row.win_ms for row in rows if row.tones_resolved)
    clicks = max(row.win_ms for row in rows if row.clicks_resolved)
    return grade_reading(
        "time against frequency", {"two_tones_from_ms": two_tones_from_ms,
                                   "two_clicks_up_to_ms": two_clicks_up_to_ms},
        {"two_tones_from_ms": tones, "two_clicks_up_to_ms": clicks},
        {"two_tones_from_ms": "the first row, from the top, whose tone column says (two).",
         "two_clicks_up_to_ms": "the last row, from the top, whose click column says (two)."},
        conclusion=f"right: the tones need a window of {tones:g} ms or more, the clicks one of "
                   f"{clicks:g} ms or less, so no window in the list shows both pairs apart. A "
                   f"window sharp in frequency is blurred in time, and the other way round.")
