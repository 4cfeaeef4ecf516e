# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · From a waveform to a log-mel spectrogram
#
# The Audio Spectrogram Transformer never sees sound: it sees a **log-mel filterbank**
# (FBANK), an image of energy over time and frequency. This notebook builds one step by
# step with `ast_lab.features` and, at every step where a reference exists, checks our numbers
# against librosa.
#
# waveform → frames → window → power spectrum → mel filterbank → log → normalise

# %%
import dataclasses
import warnings

import librosa
import matplotlib.pyplot as plt
import numpy as np
import torch

from ast_lab import features, plotting
from ast_lab.config import FbankConfig
from ast_lab.data import SYNTHETIC_CLASSES, synthesize
from ast_lab.widgets import fbank_explorer

cfg = FbankConfig()  # 16 kHz, 25 ms window, 10 ms hop, n_fft 512, 128 mels
cfg

# %% [markdown]
# ## A sound to look at
# The project ships a synthetic sound set whose classes differ only in spectro-temporal shape.
# A *rising chirp* is a good first subject: its pitch climbs, so its spectrogram has a
# visible slope. Two seconds at 16 kHz is 32,000 samples.

# %%
rng = np.random.default_rng(7)
wave = synthesize("rising_chirp", rng, seconds=2.0, sample_rate=cfg.sample_rate)
print(wave.shape, wave.dtype, f"peak {np.abs(wave).max():.3f}")
plotting.plot_waveform(wave, cfg.sample_rate, title="Rising chirp in background noise");

# %% [markdown]
# ## Frames: how many, and where
# Spectra are taken over short stretches of signal, **frames**, of `win_length` samples every
# `hop_length` samples (25 ms = 400 samples, 10 ms = 160 samples). Two conventions count them:
#
# * librosa (`center=True`) pads half an FFT at both ends, so frame *t* is centred on sample
#   *t·hop*: `1 + N // hop` frames.
# * Kaldi (`snip_edges`, what the AST authors used) starts at sample 0 and drops the tail that
#   does not fill a window: `1 + (N − win) // hop` frames.
#
# For ESC-50's 5 s clips that is 501 versus 498 frames; the paper pads 498 up to 512
# (and AudioSet's 10 s, 998 frames, up to 1024).

# %%
five_seconds = 5 * cfg.sample_rate
for center in (True, False):
    n = features.num_frames(five_seconds, cfg.win_length, cfg.hop_length, cfg.n_fft, center)
    print(f"center={center!s:5}: {n} frames -> padded to {features.paper_target_frames(n)}")
ten_seconds = features.frames_for_seconds(10.0, FbankConfig.kaldi_like(target_frames=None))
print(f"10 s, Kaldi: {ten_seconds} frames -> padded to {features.paper_target_frames(ten_seconds)}")
print("librosa agrees on the centred count:",
      librosa.feature.melspectrogram(y=np.zeros(five_seconds), sr=cfg.sample_rate, n_fft=cfg.n_fft,
                                     hop_length=cfg.hop_length, win_length=cfg.win_length).shape[1])

# %%
batch = torch.from_numpy(wave)[None]  # (batch=1, samples)
frames = features.frame_signal(batch, cfg.win_length, cfg.hop_length, n_fft=cfg.n_fft, center=True)
print("frames:", tuple(frames.shape), "= (batch, frames, win_length)")
plotting.plot_frames(frames[0, 100:104], cfg.sample_rate, title="Four consecutive frames (25 ms each, 10 ms apart)");

# %% [markdown]
# ## Windows, and the paper's "Hamming"
# Cutting a frame out abruptly smears energy across the spectrum (leakage). A **window** tapers
# each frame to zero at its edges. The four shapes below trade a narrow main lobe (sharp
# frequency resolution) against low side lobes (little leakage).
#
# The AST paper says it uses a *Hamming* window, but its code calls
# `torchaudio.compliance.kaldi.fbank(..., window_type='hanning')`: a **symmetric Hann**
# window. Our `FbankConfig.kaldi_like()` follows the code. Hann's side lobes fall away fast;
# Hamming's first side lobe is lower but the rest stay flat around −45 dB.

# %%
windows = {name: features.window_function(name, cfg.win_length, periodic=True)
           for name in ("rectangular", "hann", "hamming", "povey")}
plotting.plot_windows(windows, cfg.n_fft);

# %%
for name in ("hann", "hamming"):
    ours = features.window_function(name, cfg.win_length, periodic=True).numpy()
    reference = librosa.filters.get_window(name, cfg.win_length, fftbins=True)
    print(f"{name:8} max |ours - librosa| = {np.abs(ours - reference).max():.2e}")
    assert np.allclose(ours, reference, atol=1e-6)

# %% [markdown]
# ## The power spectrum
# Each windowed frame goes through a real FFT of `n_fft` = 512 points (zero-padded from 400),
# giving 257 frequency bins 31.25 Hz apart. Squared magnitudes are the **power spectrum**.
# Shown in dB, the chirp's rising line and its noise floor are plain to see.

# %%
window = features.make_window(cfg)
power = features.power_spectrum(frames, window, cfg.n_fft)  # (batch, frames, n_fft//2 + 1)
print("power spectrum:", tuple(power.shape), "= (batch, frames, bins)")
plotting.plot_spectrogram(10 * torch.log10(power[0].T + 1e-10), hop_length=cfg.hop_length,
                          sample_rate=cfg.sample_rate, ylabel="FFT bin (31.25 Hz each)",
                          title="Power spectrum (linear frequency)");

# %% [markdown]
# ## The mel filterbank
# Hearing resolves low frequencies finely and high ones coarsely. The **mel scale** models
# that; 128 triangular filters equally spaced in mel pool the 257 FFT bins into 128 bands.
# Two mel formulas exist (HTK's `2595·log10(1 + f/700)` and Slaney's, linear below 1 kHz),
# and Slaney's normalisation scales each triangle to unit area, so wide high bands do not
# dominate. Ours must equal librosa's, filter for filter.

# %%
fb = features.mel_filterbank(cfg)  # (n_mels, n_fft//2 + 1)
plotting.plot_filterbank(fb, cfg.sample_rate, every=4, title="Every 4th of 128 Slaney mel filters");

# %%
reference_fb = librosa.filters.mel(sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels)
print("max |ours - librosa| =", float(np.abs(fb.numpy() - reference_fb).max()))
assert np.allclose(fb.numpy(), reference_fb, rtol=1e-6, atol=1e-10)

# %% [markdown]
# ## Mel power, then the log
# A matrix product pools power into mel bands. Loudness is perceived roughly
# logarithmically, and the values span many orders of magnitude, so we take
# `10·log10` (dB) and clip everything more than `top_db` = 80 dB below the loudest cell.

# %%
mel = features.apply_mel_filterbank(power, fb)  # (batch, n_mels, frames)
logmel = features.to_log(mel, "db", top_db=cfg.top_db)  # (batch, n_mels, frames), dB
plotting.plot_spectrogram(logmel[0], hop_length=cfg.hop_length, sample_rate=cfg.sample_rate,
                          title="Log-mel spectrogram (dB)");

# %% [markdown]
# The whole chain is `features.fbank`. With the same settings it reproduces librosa's
# `melspectrogram` + `power_to_db`: the mel power to 1e-4 of the clip's peak, the dB values to
# 1e-3 dB (the test suite checks this over a grid of rates, FFT sizes, windows and scales).

# %%
ours = features.fbank(wave, cfg).numpy()  # (n_mels, frames), dB
reference_power = librosa.feature.melspectrogram(
    y=wave, sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length,
    win_length=cfg.win_length, n_mels=cfg.n_mels)
reference = librosa.power_to_db(reference_power, ref=1.0, amin=1e-10, top_db=80.0)
print("shape ours / librosa:", ours.shape, reference.shape)
print(f"max |ours - librosa| = {np.abs(ours - reference).max():.2e} dB")
assert np.allclose(ours, reference, atol=1e-3)
assert np.allclose(ours, logmel[0].numpy(), atol=1e-4)  # the step-by-step chain is fbank

# %% [markdown]
# ## Normalisation
# Networks train best on inputs near zero mean and unit variance. *Per-sample* normalisation
# uses each clip's own statistics; *dataset* normalisation uses one mean and standard deviation
# computed on the training folds only (never the test fold) and stored in the config.

# %%
per_sample = features.fbank(wave, dataclasses.replace(cfg, normalize="per_sample"))
print(f"per-sample: mean {per_sample.mean():.3f}, std {per_sample.std(correction=0):.3f}")
fig, axes = plt.subplots(1, 2, figsize=(11, 3))
plotting.plot_spectrogram(ours, hop_length=cfg.hop_length, sample_rate=cfg.sample_rate, ax=axes[0],
                          title="dB")
plotting.plot_spectrogram(per_sample, hop_length=cfg.hop_length, sample_rate=cfg.sample_rate,
                          ax=axes[1], title="per-sample normalised", unit="std units")
fig.tight_layout()

# %% [markdown]
# ## The AST recipe (Kaldi conventions)
# `FbankConfig.kaldi_like()` is what the AST authors fed their model: symmetric Hann,
# pre-emphasis 0.97, per-frame DC removal, snip-edges framing, HTK mel from 20 Hz with
# triangles in mel space, natural log, padded to a power-of-two frame count. The picture
# barely changes; the numbers (and the frame count) do.
#
# One surprise: with 128 mels over a 512-point FFT, the lowest triangles (20–100 Hz) are
# narrower than the 31.25 Hz bin spacing, and filter 3 catches no bin at all. In the
# authors' features that band is always ln(ε). We warn, as librosa does, rather than hide it.

# %%
kaldi = FbankConfig.kaldi_like(target_frames=None)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    kaldi_spec = features.fbank(wave, kaldi)
for warning in caught:
    print("warning:", warning.message)
print("librosa-like:", tuple(features.fbank(wave, cfg).shape), " kaldi-like:", tuple(kaldi_spec.shape))
plotting.plot_spectrogram(kaldi_spec, hop_length=kaldi.hop_length, sample_rate=kaldi.sample_rate,
                          unit="ln(power)", title="Kaldi-style FBANK (natural log)");

# %% [markdown]
# ## Every class of the built-in set
# Each class is a shape: lines, slopes, stacks, clicks, bands. Loudness, pitch and onset vary
# from clip to clip, so only the shape tells the class.

# %%
clips = np.stack([synthesize(name, np.random.default_rng(1), seconds=1.0, sample_rate=cfg.sample_rate)
                  for name in SYNTHETIC_CLASSES])  # (classes, samples)
plotting.plot_spectrogram_grid(features.fbank(clips, cfg), SYNTHETIC_CLASSES,
                               hop_length=cfg.hop_length, sample_rate=cfg.sample_rate);

# %% [markdown]
# ## Explore
# Move the sliders: a longer window sharpens frequency and blurs time; a smaller hop adds
# frames; fewer mels coarsen the image. The line under the plot gives the frame count and
# the output shape. (A window longer than `n_fft` is refused with the reason.)

# %%
fbank_explorer(wave, cfg)
