"""ast_lab.features: frame arithmetic, each FBANK stage, the Kaldi recipe, normalisation, errors.

The comparison with librosa over a grid of settings is in test_features_vs_librosa.py.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest
import scipy.signal
import torch

from ast_lab import features as fx
from ast_lab.config import FbankConfig

FLOAT32_EPS = float(np.finfo(np.float32).eps)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def kaldi_mel(freq_hz):
    """Kaldi's mel formula, written independently of ours (which uses 2595 * log10)."""
    return 1127.0 * np.log(1.0 + np.asarray(freq_hz, dtype=np.float64) / 700.0)


def kaldi_mel_inverse(mel):
    return 700.0 * (np.exp(np.asarray(mel, dtype=np.float64) / 1127.0) - 1.0)


# ---------------------------------------------------------------------------- frame arithmetic


def test_num_frames_for_five_seconds_at_16k():
    assert fx.num_frames(80_000, 400, 160, 512, center=True) == 501
    assert fx.num_frames(80_000, 400, 160, 512, center=False) == 498


@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize(
    "n_fft, win_length, hop", [(512, 400, 160), (8, 5, 3), (7, 7, 2), (16, 9, 16)]
)
def test_num_frames_counts_the_frames_frame_signal_makes(center, n_fft, win_length, hop):
    for n_samples in range(win_length, win_length + 3 * hop + 2):
        wave = torch.zeros(1, n_samples)
        frames = fx.frame_signal(wave, win_length, hop, n_fft=n_fft, center=center)
        n_frames = fx.num_frames(n_samples, win_length, hop, n_fft, center)
        assert frames.shape == (1, n_frames, win_length)
        if not center:  # every snipped frame lies inside the signal, and one more would not fit
            assert (n_frames - 1) * hop + win_length <= n_samples < n_frames * hop + win_length


def test_num_frames_rejects_impossible_inputs():
    with pytest.raises(ValueError, match="shorter than one window"):
        fx.num_frames(399, 400, 160, 512, center=False)
    with pytest.raises(ValueError, match="hop_length"):
        fx.num_frames(1000, 400, 0, 512, center=True)
    with pytest.raises(ValueError, match="longer than n_fft"):
        fx.num_frames(1000, 600, 160, 512, center=True)


@pytest.mark.parametrize(
    "n, target", [(998, 1024), (498, 512), (512, 512), (513, 1024), (1, 1), (3, 4)]
)
def test_paper_target_frames_is_the_next_power_of_two(n, target):
    assert fx.paper_target_frames(n) == target


def test_paper_target_frames_rejects_zero():
    with pytest.raises(ValueError):
        fx.paper_target_frames(0)


def test_frames_for_seconds():
    assert fx.frames_for_seconds(5.0, FbankConfig()) == 501
    assert fx.frames_for_seconds(5.0, FbankConfig.kaldi_like()) == 512  # padded as in the paper
    assert fx.frames_for_seconds(5.0, FbankConfig.kaldi_like(target_frames=None)) == 498
    audioset = fx.frames_for_seconds(10.0, FbankConfig.kaldi_like(target_frames=None))
    assert audioset == 998 and fx.paper_target_frames(audioset) == 1024


# ---------------------------------------------------------------------------- framing


@pytest.mark.parametrize("center", [True, False])
def test_frame_signal_takes_the_right_samples(center):
    n_fft, win, hop, n = 16, 10, 4, 50
    wave = torch.arange(1.0, n + 1).reshape(1, n)
    frames = fx.frame_signal(wave, win, hop, n_fft=n_fft, center=center)
    padded = np.concatenate([np.zeros(n_fft // 2), np.arange(1.0, n + 1), np.zeros(n_fft // 2)])
    for t in range(frames.shape[1]):
        if center:  # librosa: n_fft-long frame t starts at t*hop in the padded signal,
            # with the window in its middle
            start = t * hop + (n_fft - win) // 2
            expected = padded[start : start + win]
        else:
            expected = np.arange(1.0, n + 1)[t * hop : t * hop + win]
        np.testing.assert_array_equal(frames[0, t].numpy(), expected)


def test_frame_signal_reflect_padding_mirrors_the_edges():
    wave = torch.arange(1.0, 21).reshape(1, 20)
    frames = fx.frame_signal(wave, 8, 4, n_fft=8, center=True, pad_mode="reflect")
    np.testing.assert_array_equal(frames[0, 0].numpy(), [5, 4, 3, 2, 1, 2, 3, 4])
    with pytest.raises(ValueError, match="reflect"):
        fx.frame_signal(torch.ones(1, 4), 4, 2, n_fft=8, center=True, pad_mode="reflect")


def test_remove_dc_and_preemphasis_per_frame():
    frames = torch.tensor([[[1.0, 2.0, 3.0, 6.0]]], dtype=torch.float64)
    np.testing.assert_allclose(fx.remove_dc_offset(frames).numpy().ravel(), [-2, -1, 0, 3])
    k = 0.97
    np.testing.assert_allclose(
        fx.preemphasize(frames, k).numpy().ravel(), [1 - k, 2 - k * 1, 3 - k * 2, 6 - k * 3]
    )


# ---------------------------------------------------------------------------- windows


@pytest.mark.parametrize("length", [1, 2, 7, 400, 512])
def test_windows_match_scipy_and_numpy(length):
    get = scipy.signal.get_window
    cases = {
        ("hann", True): get("hann", length, fftbins=True),
        ("hann", False): np.hanning(length),
        ("hamming", True): get("hamming", length, fftbins=True),
        ("hamming", False): np.hamming(length),
        ("povey", False): np.hanning(length) ** 0.85,
        ("rectangular", False): np.ones(length),
    }
    for (name, periodic), expected in cases.items():
        ours = fx.window_function(name, length, periodic=periodic).numpy()
        np.testing.assert_allclose(
            ours, expected, rtol=1e-12, atol=1e-15, err_msg=f"{name} {periodic}"
        )


def test_kaldi_window_is_symmetric_hann_and_librosa_window_periodic():
    kaldi = fx.make_window(FbankConfig.kaldi_like())
    assert kaldi.shape == (400,)
    torch.testing.assert_close(kaldi, kaldi.flip(0), rtol=0, atol=1e-15)
    assert kaldi[0] == 0 and kaldi[-1] == 0
    librosa_like = fx.make_window(FbankConfig.librosa_like())
    assert not torch.allclose(librosa_like, librosa_like.flip(0))
    assert librosa_like[0] == 0 and librosa_like[200] == 1.0  # periodic Hann peaks at length / 2


# ---------------------------------------------------------------------------- mel scale and filters


@pytest.mark.parametrize("scale", ["htk", "slaney"])
def test_mel_scale_round_trips(scale):
    freqs = np.array([0.0, 20.0, 500.0, 999.0, 1000.0, 1001.0, 4000.0, 22050.0])
    round_trip = fx.mel_to_hz(fx.hz_to_mel(freqs, scale), scale)
    np.testing.assert_allclose(round_trip, freqs, rtol=1e-12, atol=1e-9)


def test_mel_scale_landmarks():
    assert fx.hz_to_mel(1000.0, "slaney") == pytest.approx(15.0)
    assert fx.hz_to_mel(500.0, "slaney") == pytest.approx(7.5)  # linear below 1 kHz
    assert fx.hz_to_mel(6400.0, "slaney") == pytest.approx(15.0 + 27.0)  # 27 mels per x6.4
    ratio = fx.hz_to_mel([700.0, 3000.0], "htk") / kaldi_mel([700.0, 3000.0])
    np.testing.assert_allclose(ratio, 2595 / 1127 / math.log(10))  # the same curve, scaled
    with pytest.raises(ValueError, match="mel scale"):
        fx.hz_to_mel(100.0, "bark")


def test_kaldi_filters_peak_at_one_at_htk_mel_centres():
    cfg = FbankConfig.kaldi_like(n_mels=23)
    mels = np.linspace(kaldi_mel(20.0), kaldi_mel(8000.0), 23 + 2)
    centres = kaldi_mel_inverse(mels[1:-1])
    response = fx.triangular_filters(centres, cfg)  # (n_mels, n_mels)
    np.testing.assert_allclose(response, np.eye(23), atol=1e-9)
    # triangles are linear in mel: halfway (in mel) up the rising edge the weight is 0.5
    halfway = kaldi_mel_inverse((mels[:-2] + mels[1:-1]) / 2)
    np.testing.assert_allclose(np.diag(fx.triangular_filters(halfway, cfg)), 0.5, atol=1e-9)


def test_kaldi_filterbank_shape_edges_and_nyquist_bin():
    with pytest.warns(UserWarning, match=r"filters \[3\]"):
        bank = fx.mel_filterbank(FbankConfig.kaldi_like())
    assert bank.shape == (128, 257) and bank.dtype == torch.float32
    assert torch.all(bank[:, 0] == 0)  # 0 Hz is below fmin = 20 Hz
    assert torch.all(bank[:, -1] == 0)  # Kaldi ignores the Nyquist bin; the top filter ends there
    assert bank.max() <= 1.0
    # The AST recipe's one dead band: filter 3 spans 63.0-93.0 Hz, between bins 2 (62.5 Hz)
    # and 3 (93.75 Hz). torchaudio keeps it (all zero, so log(eps) in every frame).
    mels = np.linspace(kaldi_mel(20.0), kaldi_mel(8000.0), 130)
    left, right = kaldi_mel_inverse(mels[[3, 5]])
    assert 62.5 < left < right < 93.75
    assert torch.all(bank[3] == 0) and torch.all(torch.cat([bank[:3], bank[4:]]).amax(dim=1) > 0)


def test_slaney_norm_gives_unit_area_in_hz():
    cfg = FbankConfig(n_fft=8192, n_mels=20, sample_rate=16000)  # fine bins: sum ~ area
    freqs = np.fft.rfftfreq(cfg.n_fft, 1 / cfg.sample_rate)
    area = fx.triangular_filters(freqs, cfg).sum(axis=1) * (freqs[1] - freqs[0])
    np.testing.assert_allclose(area, 1.0, rtol=2e-3)


def test_empty_filters_warn_every_time():
    cfg = FbankConfig(sample_rate=8000, n_fft=256, n_mels=128, mel_scale="htk")  # librosa warns too
    with pytest.warns(UserWarning, match="Empty filters"):
        fx.mel_filterbank(cfg)
    for _ in range(2):  # the cached filterbank must not swallow the warning
        with pytest.warns(UserWarning, match="Empty filters"):
            fx.fbank(np.zeros(4000, dtype=np.float32), cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fx.mel_filterbank(FbankConfig())


@pytest.mark.parametrize("filters_per_block", [1, 7, 16, 500])
@pytest.mark.parametrize(
    "cfg",
    [
        FbankConfig(),
        FbankConfig(n_mels=40, mel_scale="htk", fmin=300.0, fmax=3000.0),
        FbankConfig(sample_rate=8000, n_fft=256, n_mels=128, mel_scale="htk"),
    ],
)
def test_banded_mel_blocks_equal_the_dense_matmul(cfg, filters_per_block):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the last config has empty filters on purpose
        bank = fx.mel_filterbank(cfg)
    spectrum = torch.rand(3, 11, cfg.n_fft // 2 + 1, generator=torch.Generator().manual_seed(0))
    blocks = fx.mel_blocks(bank, filters_per_block)
    dense = fx.apply_mel_filterbank(spectrum, bank)  # (3, n_mels, 11)
    banded = fx.apply_mel_blocks(spectrum, blocks, cfg.n_mels)
    torch.testing.assert_close(banded, dense, rtol=1e-5, atol=0)
    covered = sum((b.stop - b.start) * (f.stop - f.start) for f, b, _ in blocks)
    assert covered <= bank.numel()


def test_mel_blocks_skip_all_zero_filters():
    bank = torch.zeros(6, 10)
    bank[4, 2:5] = 1.0
    blocks = fx.mel_blocks(bank, filters_per_block=2)
    assert [(f, b) for f, b, _ in blocks] == [(slice(4, 6), slice(2, 5))]
    mel = fx.apply_mel_blocks(torch.ones(1, 3, 10), blocks, 6)
    assert mel[0, :, 0].tolist() == [0, 0, 0, 0, 3, 0]


# ---------------------------------------------------------------------------- the Kaldi recipe


def tiny_kaldi(**overrides) -> FbankConfig:
    """Kaldi order of operations on 8-sample frames at 8 kHz: bins at 0, 1, 2, 3, 4 kHz."""
    settings = dict(sample_rate=8000, win_ms=1.0, hop_ms=1.0, n_fft=8, window="rectangular",
                    n_mels=1, fmin=0.0, target_frames=None)
    return FbankConfig.kaldi_like(**{**settings, **overrides})


def test_kaldi_dc_signal_by_hand():
    cfg = tiny_kaldi(remove_dc=False, preemphasis=0.0, log="none")
    frames = fx.frame_signal(torch.full((1, 16), 0.5), 8, 8, n_fft=8, center=False)  # (1, 2, 8)
    power = fx.power_spectrum(frames, fx.make_window(cfg), 8)
    dc_power = (8 * 0.5) ** 2
    np.testing.assert_array_equal(power.numpy(), np.tile([dc_power, 0, 0, 0, 0], (1, 2, 1)))
    # with DC removal every frame is zero, so every log-mel value is the float32-eps floor
    out = fx.fbank(np.full(32, 0.5, dtype=np.float32), tiny_kaldi())
    assert out.shape == (1, 4)
    np.testing.assert_array_equal(out.numpy(), np.full((1, 4), np.log(np.float32(FLOAT32_EPS))))


def test_kaldi_cosine_with_preemphasis_by_hand():
    k = 0.97
    cosine = np.cos(np.pi * np.arange(16) / 2)  # 2 kHz at 8 kHz: [1, 0, -1, 0, ...], bin 2 of 8
    # pre-emphasis with y[0] = (1 - k) x[0] gives y = [1-k, -k, -1, k, 1, -k, -1, k]: a period-4
    # sequence (DFT 4 + 4ik at bin 2, 0 elsewhere) plus -k at n = 0 (adds -k to every bin)
    power_by_hand = np.array([k**2, k**2, (4 - k) ** 2 + 16 * k**2, k**2, k**2])
    cfg = tiny_kaldi(log="none")
    frames = fx.preemphasize(fx.remove_dc_offset(
        fx.frame_signal(torch.from_numpy(cosine)[None], 8, 8, n_fft=8, center=False)), k)
    power = fx.power_spectrum(frames, fx.make_window(cfg), 8)
    np.testing.assert_allclose(
        power.numpy(), np.tile(power_by_hand, (1, 2, 1)), rtol=1e-6, atol=1e-6
    )
    # one filter from 0 Hz to 4 kHz, triangle linear in mel, centre at half the mel range
    top = kaldi_mel(4000.0)
    weights = np.minimum(kaldi_mel([0, 1000, 2000, 3000, 4000]) / (top / 2),
                         (top - kaldi_mel([0, 1000, 2000, 3000, 4000])) / (top / 2))
    expected = np.log(weights @ power_by_hand)
    out = fx.fbank(cosine.astype(np.float32), tiny_kaldi())  # (1, 2)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    # DC removal happens before pre-emphasis, so an added offset changes nothing
    shifted = fx.fbank((cosine + 0.5).astype(np.float32), tiny_kaldi())
    np.testing.assert_allclose(shifted.numpy(), out.numpy(), rtol=1e-6)


def test_kaldi_preset_on_five_seconds():
    wave = np.random.default_rng(0).standard_normal(80_000).astype(np.float32) * 0.1
    with pytest.warns(UserWarning, match="Empty filters"):  # the dead band 3, see above
        raw = fx.fbank(wave, FbankConfig.kaldi_like(target_frames=None))
        padded = fx.fbank(wave, FbankConfig.kaldi_like())
    assert raw.shape == (128, 498) and raw.dtype == torch.float32
    assert padded.shape == (128, 512)
    assert torch.equal(padded[:, :498], raw) and torch.all(padded[:, 498:] == 0.0)
    # natural log of power: white noise at std 0.1 lands well above the log(eps) floor in a
    # typical frame of every band, except the dead band, which sits exactly on it
    floor = np.log(np.float32(FLOAT32_EPS))
    live_bands = torch.cat([raw[:3], raw[4:]])
    assert torch.all(raw[3] == floor) and live_bands.median(dim=1).values.min() > floor + 1


# ---------------------------------------------------------------------------- log, pad, normalise


def test_to_log_db_top_db_and_ln_floor():
    mel = torch.tensor([[[1.0, 1e-3, 1e-9, 0.0]], [[100.0, 1.0, 1e-4, 1e-12]]])  # (2, 1, 4)
    db = fx.to_log(mel, "db", amin=1e-10)
    np.testing.assert_allclose(db.numpy().ravel(), [0, -30, -90, -100, 20, 0, -40, -100], atol=1e-4)
    clipped = fx.to_log(mel, "db", top_db=50.0)  # each spectrogram clipped at its own max - 50
    np.testing.assert_allclose(
        clipped.numpy().ravel(), [0, -30, -50, -50, 20, 0, -30, -30], atol=1e-4
    )
    ln = fx.to_log(mel, "ln", log_floor=FLOAT32_EPS)
    np.testing.assert_allclose(ln[0, 0, 3].item(), math.log(FLOAT32_EPS), rtol=1e-6)
    np.testing.assert_allclose(ln[1, 0, 0].item(), math.log(100.0), rtol=1e-6)
    assert torch.equal(fx.to_log(mel, "none"), mel)
    with pytest.raises(ValueError, match="log kind"):
        fx.to_log(mel, "log2")


def test_pad_or_crop_frames():
    spec = torch.arange(12.0).reshape(1, 2, 6)  # (batch, n_mels, frames)
    assert torch.equal(fx.pad_or_crop_frames(spec, 4), spec[..., :4])
    padded = fx.pad_or_crop_frames(spec, 8, pad_value=-5.0)
    assert padded.shape == (1, 2, 8) and torch.all(padded[..., 6:] == -5.0)
    assert torch.equal(padded[..., :6], spec)
    two = torch.stack([spec[0], spec[0] + 100])  # (2, 2, 6): minimum per spectrogram
    by_min = fx.pad_or_crop_frames(two, 7)
    assert by_min[0, :, 6].tolist() == [0.0, 0.0] and by_min[1, :, 6].tolist() == [100.0, 100.0]
    assert fx.pad_or_crop_frames(spec[0], 9).shape == (2, 9)


def test_normalize_modes():
    spec = torch.randn(3, 4, 5, generator=torch.Generator().manual_seed(0)) * 7 + 3
    assert torch.equal(fx.normalize(spec, FbankConfig()), spec)
    per = fx.normalize(spec, FbankConfig(normalize="per_sample"))
    np.testing.assert_allclose(per.mean(dim=(1, 2)).numpy(), 0, atol=1e-6)
    np.testing.assert_allclose(per.std(dim=(1, 2), correction=0).numpy(), 1, atol=1e-6)
    silent = fx.normalize(torch.full((1, 4, 5), -100.0), FbankConfig(normalize="per_sample"))
    assert torch.all(silent == 0)
    ds = fx.normalize(spec, FbankConfig(normalize="dataset", dataset_mean=3.0, dataset_std=7.0))
    torch.testing.assert_close(ds, (spec - 3.0) / 7.0)
    with pytest.raises(ValueError, match="dataset_mean"):
        fx.normalize(spec, FbankConfig(normalize="dataset"))
    with pytest.raises(ValueError, match="dataset_std"):
        fx.normalize(spec, FbankConfig(normalize="dataset", dataset_mean=0.0, dataset_std=0.0))


def test_checkpoint_normalize_divides_by_twice_the_std():
    # AudioSet's statistics as the AST authors ship them: the mean maps to 0, mean + 2 std to 1
    spec = torch.tensor([[[-4.2677393, -4.2677393 + 2 * 4.5689974, -4.2677393 - 4.5689974]]])
    scaled = fx.checkpoint_normalize(spec, mean=-4.2677393, std=4.5689974)
    torch.testing.assert_close(scaled, torch.tensor([[[0.0, 1.0, -0.5]]]))
    with pytest.raises(ValueError, match="std must be positive"):
        fx.checkpoint_normalize(spec, mean=0.0, std=0.0)


def test_dataset_stats_matches_numpy_over_uneven_chunks():
    rng = np.random.default_rng(1)
    chunks = [rng.normal(1e4, 3.0, size=(n, 8, 10)).astype(np.float32) for n in (1, 5, 2, 9)]
    everything = np.concatenate(chunks).astype(np.float64)
    mean, std = fx.dataset_stats(chunks)
    assert mean == pytest.approx(everything.mean(), rel=1e-12)
    assert std == pytest.approx(everything.std(), rel=1e-9)
    assert fx.dataset_stats(torch.from_numpy(chunks[3])) == pytest.approx(
        (chunks[3].astype(np.float64).mean(), chunks[3].astype(np.float64).std()), rel=1e-9)
    assert fx.dataset_stats(c for c in chunks) == pytest.approx((mean, std))
    with pytest.raises(ValueError, match="no values"):
        fx.dataset_stats([])
    with pytest.raises(ValueError, match="NaN"):
        fx.dataset_stats([np.array([1.0, np.nan])])


# ---------------------------------------------------------------------------- fbank as a whole


def noise(shape, seed=0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(shape) * 0.1).astype(np.float32)


def test_fbank_shapes_batching_and_input_types():
    cfg = FbankConfig()
    waves = noise((3, 8000))
    batch = fx.fbank(waves, cfg)
    assert batch.shape == (3, 128, 51) and batch.dtype == torch.float32
    assert batch.device.type == "cpu"
    one = fx.fbank(waves[1], cfg)
    assert one.shape == (128, 51)
    torch.testing.assert_close(batch[1], one, rtol=0, atol=1e-4)  # batched == one at a time
    torch.testing.assert_close(fx.fbank(torch.from_numpy(waves), cfg, device="cpu"), batch)
    torch.testing.assert_close(fx.fbank(waves.astype(np.float64), cfg), batch)
    ints = (waves * 32768).round().clip(-32768, 32767).astype(np.int16)
    torch.testing.assert_close(fx.fbank(ints, cfg), fx.fbank(ints / np.float32(32768), cfg))


def test_fbank_chunks_give_the_same_result(monkeypatch):
    waves = noise((5, 8000), seed=3)
    whole = fx.fbank(waves, FbankConfig())  # one chunk
    monkeypatch.setitem(fx.CHUNK_VALUES, "cpu", 2 * 51 * 512)  # two clips per chunk: 3 chunks
    torch.testing.assert_close(fx.fbank(waves, FbankConfig()), whole, rtol=1e-6, atol=1e-5)


def test_fbank_target_frames_and_normalisation_are_applied():
    cfg = FbankConfig(target_frames=60, normalize="per_sample")
    out = fx.fbank(noise((2, 8000)), cfg)
    assert out.shape == (2, 128, 60)
    np.testing.assert_allclose(out.mean(dim=(1, 2)).numpy(), 0, atol=1e-5)
    unnormalised = fx.fbank(noise((2, 8000)), dataclasses.replace(cfg, normalize="none"))
    minimum = unnormalised.amin(dim=(1, 2), keepdim=True)  # (2, 1, 1)
    assert torch.equal(unnormalised[:, :, 51:], minimum.expand(2, 128, 9))


def test_dither_adds_noise_only_when_asked():
    silence = np.zeros(4000, dtype=np.float32)
    plain = fx.fbank(silence, FbankConfig(top_db=None))
    assert torch.all(plain == -100.0)  # 10 log10(amin)
    torch.manual_seed(0)  # a narrow band's power is chi-square with few degrees of freedom:
    # unseeded, one cell in thousands of runs falls to the -100 dB floor by chance
    dithered = fx.fbank(silence, FbankConfig(top_db=None, dither=1e-3))
    assert torch.all(dithered > -100.0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_fbank_on_cuda_matches_cpu():
    waves = noise((2, 16000))
    cpu = fx.fbank(waves, FbankConfig())
    on_gpu = fx.fbank(torch.from_numpy(waves).cuda(), FbankConfig())
    assert on_gpu.device.type == "cuda"
    torch.testing.assert_close(on_gpu.cpu(), cpu, rtol=0, atol=1e-3)
    assert fx.fbank(waves, FbankConfig(), device="cuda").device.type == "cuda"


# ---------------------------------------------------------------------------- bad input


def test_huge_but_finite_samples_are_not_mistaken_for_inf():
    huge = torch.full((1, 1000), 3e38)  # finite in float32, but their float32 sum overflows
    fx.check_waveforms(huge, FbankConfig())
    huge[0, 500] = float("nan")
    with pytest.raises(ValueError, match="NaN or Inf"):
        fx.check_waveforms(huge, FbankConfig())


@pytest.mark.parametrize(
    "wave, message",
    [
        (np.zeros(0, dtype=np.float32), "empty"),
        (np.zeros((0, 1000), dtype=np.float32), "empty"),
        (np.zeros(399, dtype=np.float32), "shorter than one window"),
        (np.array([0.0] * 500 + [np.nan] + [0.0] * 500, dtype=np.float32), "NaN or Inf"),
        (np.array([0.0] * 500 + [np.inf] + [0.0] * 500, dtype=np.float32), "NaN or Inf"),
        (np.zeros((2, 2, 1000), dtype=np.float32), "shape"),
        (np.float32(0.5), "shape"),
    ],
)
def test_fbank_rejects_bad_waveforms(wave, message):
    with pytest.raises(ValueError, match=message):
        fx.fbank(wave, FbankConfig())


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(win_ms=40.0), "longer than n_fft"),
        (dict(fmax=9000.0), "above the Nyquist"),
        (dict(fmin=-1.0), "fmin"),
        (dict(fmin=5000.0, fmax=4000.0), "fmin"),
        (dict(sample_rate=0), "sample_rate"),
        (dict(sample_rate=-16000), "sample_rate"),
        (dict(n_fft=0), "n_fft"),
        (dict(n_mels=0), "n_mels"),
        (dict(hop_ms=0.0), "hop_length"),
        (dict(win_ms=0.0), "win_length"),
        (dict(power=0.0), "power"),
        (dict(window="blackman"), "window"),
        (dict(mel_scale="bark"), "mel_scale"),
        (dict(log="log2"), "log"),
        (dict(target_frames=0), "target_frames"),
    ],
)
def test_bad_configs_are_rejected_with_the_field_named(overrides, message):
    cfg = FbankConfig(**overrides)
    with pytest.raises(ValueError, match=message):
        fx.check_config(cfg)
    with pytest.raises(ValueError, match=message):
        fx.fbank(noise(16000), cfg)
