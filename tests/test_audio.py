"""ast_lab.audio: reading files, mono, resampling, pad/crop, int-to-float scaling."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from ast_lab.audio import as_float_waveform, load_audio, pad_or_crop, resample


def tone(freq: float, sr: int, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_frequency(wave: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    return float(np.fft.rfftfreq(len(wave), 1 / sr)[spectrum.argmax()])


@pytest.mark.parametrize("ext, subtype", [("wav", "PCM_16"), ("flac", "PCM_16"), ("wav", "FLOAT")])
def test_lossless_files_round_trip(tmp_path, ext, subtype):
    wave = tone(440.0, 8000, 0.25)
    path = tmp_path / f"tone.{ext}"
    sf.write(path, wave, 8000, subtype=subtype)
    loaded = load_audio(path)
    assert loaded.dtype == np.float32 and loaded.shape == wave.shape
    quantum = 1 / 32768 if subtype == "PCM_16" else 0.0
    np.testing.assert_allclose(loaded, wave, rtol=0, atol=quantum)


def test_ogg_keeps_the_tone(tmp_path):
    wave = tone(440.0, 16000, 0.5)
    path = tmp_path / "tone.ogg"
    sf.write(path, wave, 16000)
    loaded = load_audio(path)
    assert loaded.dtype == np.float32 and loaded.ndim == 1
    assert abs(len(loaded) - len(wave)) <= 1
    assert abs(peak_frequency(loaded, 16000) - 440.0) <= 2.0
    assert np.abs(loaded).max() <= 1.0


def test_int16_file_is_scaled_by_32768(tmp_path):
    ints = np.array([-32768, -16384, 0, 1, 16384, 32767] * 50, dtype=np.int16)
    path = tmp_path / "ints.wav"
    sf.write(path, ints, 8000, subtype="PCM_16")
    np.testing.assert_array_equal(load_audio(path), ints.astype(np.float32) / 32768)


def test_stereo_is_downmixed_or_rejected(tmp_path):
    left, right = tone(300.0, 8000, 0.2, 0.4), tone(700.0, 8000, 0.2, 0.2)
    path = tmp_path / "stereo.flac"
    sf.write(path, np.stack([left, right], axis=1), 8000, subtype="PCM_24")
    np.testing.assert_allclose(load_audio(path), (left + right) / 2, atol=2 / 2**23)
    with pytest.raises(ValueError, match=r"stereo\.flac.*2 channels"):
        load_audio(path, mono="require")


def test_expected_rate_is_checked(tmp_path):
    path = tmp_path / "rate.wav"
    sf.write(path, tone(440.0, 22050, 0.1), 22050)
    assert load_audio(path, expected_rate=22050).shape == (2205,)
    with pytest.raises(ValueError, match=r"rate\.wav.*22050 Hz.*16000"):
        load_audio(path, expected_rate=16000)


def test_loud_float_file_is_clipped_to_unit_range(tmp_path):
    path = tmp_path / "loud.wav"
    sf.write(path, np.array([1.5, -2.0, 0.25] * 100, dtype=np.float32), 8000, subtype="FLOAT")
    loaded = load_audio(path)
    assert loaded.max() == 1.0 and loaded.min() == -1.0 and loaded[2] == 0.25


def test_load_with_resampling_44k1_to_16k_keeps_frequency(tmp_path):
    path = tmp_path / "tone44k.wav"
    sf.write(path, tone(1000.0, 44100, 1.0), 44100, subtype="FLOAT")
    loaded = load_audio(path, sample_rate=16000)
    assert loaded.shape == (16000,)
    assert abs(peak_frequency(loaded, 16000) - 1000.0) <= 1.0
    # amplitude survives the anti-aliasing filter (0.5 peak, checked away from the edges)
    assert abs(np.abs(loaded[1000:-1000]).max() - 0.5) < 0.01


def test_resample_removes_what_would_alias():
    high = tone(10_000.0, 44100, 0.5)  # above the 8 kHz Nyquist of 16 kHz
    out = resample(high, 44100, 16000)
    assert np.sqrt(np.mean(out[500:-500] ** 2)) < 0.01 * np.sqrt(np.mean(high**2))  # > 40 dB down


def test_resample_lengths_and_identity():
    wave = tone(200.0, 8000, 0.3)
    np.testing.assert_array_equal(resample(wave, 8000, 8000), wave)
    assert resample(wave, 8000, 16000).shape == (4800,)
    stereo = np.stack([wave, wave])
    assert resample(stereo, 8000, 22050).shape == (2, int(np.ceil(2400 * 22050 / 8000)))
    with pytest.raises(ValueError, match="orig_sr"):
        resample(wave, 0, 16000)
    with pytest.raises(ValueError, match="target_sr"):
        resample(wave, 8000, -1)


def test_missing_empty_corrupt_and_truncated_files_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.wav"):
        load_audio(tmp_path / "nothere.wav")

    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.wav"):
        load_audio(empty)

    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(np.random.default_rng(0).bytes(2000))
    with pytest.raises(ValueError, match=r"corrupt\.wav"):
        load_audio(corrupt)

    good = tmp_path / "good.wav"
    sf.write(good, tone(440.0, 8000, 0.5), 8000, subtype="PCM_16")
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ValueError, match=r"truncated.*truncated\.wav"):
        load_audio(truncated)

    flac = tmp_path / "good.flac"
    sf.write(flac, tone(440.0, 8000, 0.5), 8000)
    cut_flac = tmp_path / "cut.flac"
    cut_flac.write_bytes(flac.read_bytes()[: flac.stat().st_size // 2])
    with pytest.raises(ValueError, match=r"cut\.flac"):
        load_audio(cut_flac)

    no_samples = tmp_path / "no_samples.wav"
    sf.write(no_samples, np.zeros(0, dtype=np.float32), 8000)
    with pytest.raises(ValueError, match=r"no samples.*no_samples\.wav"):
        load_audio(no_samples)


def test_bad_mono_option_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="mono"):
        load_audio(tmp_path / "x.wav", mono="left")


def test_pad_or_crop():
    wave = np.arange(1, 11, dtype=np.float32)
    np.testing.assert_array_equal(pad_or_crop(wave, 4), [1, 2, 3, 4])
    np.testing.assert_array_equal(pad_or_crop(wave, 4, offset=3), [4, 5, 6, 7])
    np.testing.assert_array_equal(pad_or_crop(wave, 13), list(range(1, 11)) + [0, 0, 0])
    np.testing.assert_array_equal(pad_or_crop(wave, 5, offset=8), [9, 10, 0, 0, 0])
    assert pad_or_crop(np.ones((3, 7)), 9).shape == (3, 9)
    with pytest.raises(ValueError, match="n_samples"):
        pad_or_crop(wave, 0)
    with pytest.raises(ValueError, match="offset"):
        pad_or_crop(wave, 3, offset=-1)


def test_as_float_waveform_scales_integers_and_keeps_floats():
    ints16 = np.array([-32768, 0, 16384, 32767], dtype=np.int16)
    expected = [-1.0, 0.0, 0.5, 32767 / 32768]
    np.testing.assert_array_equal(as_float_waveform(ints16).numpy(), expected)
    ints32 = np.array([-(2**31), 2**30], dtype=np.int32)
    np.testing.assert_array_equal(as_float_waveform(ints32).numpy(), [-1.0, 0.5])
    torch16 = torch.tensor([-32768, 16384], dtype=torch.int16)
    assert torch.equal(as_float_waveform(torch16), torch.tensor([-1.0, 0.5]))
    doubles = np.array([0.1, -0.7])
    out = as_float_waveform(doubles)
    assert out.dtype == torch.float32 and torch.allclose(out, torch.tensor([0.1, -0.7]))
    assert as_float_waveform(torch.zeros(2, 5, dtype=torch.float64)).shape == (2, 5)
    with pytest.raises(ValueError, match="uint8"):
        as_float_waveform(np.zeros(4, dtype=np.uint8))
    with pytest.raises(ValueError, match="int64"):
        as_float_waveform(torch.zeros(4, dtype=torch.int64))
