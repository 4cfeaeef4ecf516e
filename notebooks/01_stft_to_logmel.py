# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
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
#
# The AST's authors computed their features with Kaldi's conventions, which differ from
# librosa's in many small ways; no model trained here uses them, so that comparison is an
# optional section at the end.
#
# *This page was executed with its full settings (nothing here is slow); `make notebooks`
# refreshes it.*

# %%
import dataclasses
import warnings

import librosa
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import display

from ast_lab import fbank_plots, features, plotting
from ast_lab.config import FbankConfig
from ast_lab.data import synthesize
from ast_lab.examples import example_names, example_rate, example_sound, load_example
from ast_lab.listening import example_player, player, player_table
from ast_lab.resolution import config_for_window
from ast_lab.widgets import fbank_explorer
plt.rcParams["figure.dpi"] = 80  # many pictures: smaller ones keep the saved page under 3 MB

cfg = FbankConfig()  # 16 kHz, 25 ms window, 10 ms hop, n_fft 512, 128 mels
cfg

# %% [markdown]
# ## Listen first
# Two real recordings from ESC-10, the 10-class subset of ESC-50, shipped with the package
# (`ast_lab.examples`): a dog barking and rain. Play them. The bark is one short event in
# five seconds of near-silence; the rain fills the whole clip. Telling those two apart is
# what the rest of the project is about.
#
# The files are recorded at 44.1 kHz. The AST hears 16 kHz (`cfg.sample_rate`), so
# `load_example` resamples; the player plays the file as recorded. Credits for every clip are
# in `ast_lab/assets/sounds/ATTRIBUTION.md`.

# %%
for name in ("dog", "rain"):
    clip = load_example(name, cfg.sample_rate)  # (samples,) float32 at 16 kHz
    print(f"{name}: {example_sound(name).filename}, recorded at {example_rate(name):,} Hz, "
          f"{clip.shape[0]:,} samples at {cfg.sample_rate:,} Hz = {clip.shape[0] / cfg.sample_rate:.1f} s")
    plotting.plot_waveform(clip, cfg.sample_rate, title=f"{name} (ESC-10, fold 1)")
    plt.show()
    display(example_player(name))
    print(example_sound(name).credit())

# %% [markdown]
# ## A clean sound for the mechanics
# A real recording mixes many things at once. To see what each step of the transform does,
# a synthetic *rising chirp* (from the project's built-in sound set) is clearer: its pitch
# climbs, so its spectrogram has one visible slope. Two seconds at 16 kHz is 32,000 samples.

# %%
rng = np.random.default_rng(7)
wave = synthesize("rising_chirp", rng, seconds=2.0, sample_rate=cfg.sample_rate)
print(wave.shape, wave.dtype, f"peak {np.abs(wave).max():.3f}")
plotting.plot_waveform(wave, cfg.sample_rate, title="Rising chirp in background noise")
plt.show()
player(wave, cfg.sample_rate, label="rising chirp")

# %% [markdown]
# ## Frames: how many, and where
# Spectra are taken over short stretches of signal, **frames**, of `win_length` samples every
# `hop_length` samples (25 ms = 400 samples, 10 ms = 160 samples). Two conventions count them:
#
# * librosa (`center=True`, used everywhere here) pads `n_fft // 2` samples at both ends and
#   cuts spans of `n_fft` samples (the window sits in the middle of each), so frame *t* is
#   centred on sample *t·hop*: `1 + (N + 2·(n_fft // 2) − n_fft) // hop` frames. For an even
#   `n_fft`, as here, the padding and the span cancel and this is `1 + N // hop`; for an odd
#   one they do not.
# * Kaldi (`snip_edges`, what the AST authors used) starts at sample 0 and drops the tail that
#   does not fill a window: `1 + (N − win) // hop` frames (the optional section at the end
#   compares the two).
#
# A hop shorter than the window makes neighbouring frames **overlap**: every sample is seen by
# more than one frame. Below, four consecutive frames of the chirp, each drawn where it sits in
# the signal.

# %%
batch = torch.from_numpy(wave)[None]  # (batch=1, samples)
frames = features.frame_signal(batch, cfg.win_length, cfg.hop_length, n_fft=cfg.n_fft, center=True)
print("frames:", tuple(frames.shape), "= (batch, frames, win_length)")
starts = features.frame_starts(frames.shape[1], cfg.win_length, cfg.hop_length, cfg.n_fft,
                               center=True)[100:104]  # first sample of frames 100 to 103
overlap_ms = (cfg.win_length - cfg.hop_length) * 1000 / cfg.sample_rate
print(f"frames 100-103 start at samples {starts.tolist()}; neighbours share {overlap_ms:g} ms")
fbank_plots.plot_frames_in_time(wave, starts, cfg.win_length, cfg.sample_rate,
                                title="Frames 100 to 103 of the chirp");

# %% [markdown]
# ## Windows
# Cutting a frame out abruptly smears energy across the spectrum (leakage). A **window** tapers
# each frame towards zero at its edges. The four shapes below trade a narrow main lobe (sharp
# frequency resolution) against low side lobes (little leakage):
#
# * **rectangular**: no taper at all (the abrupt cut);
# * **Hann**: `0.5 − 0.5 cos(2πn/D)`, which reaches 0 at the edges;
# * **Hamming**: `0.54 − 0.46 cos(2πn/D)`, which stops at **0.08**, not 0. That step at the
#   edges is why its far side lobes stay up around −45 dB, while Hann's, which tapers to 0,
#   keep falling;
# * **povey**: Kaldi's default, Hann raised to the power 0.85. A number between 0 and 1 grows
#   when raised to a power below 1, so every sample between the edges is larger than Hann's:
#   the window is broader and flatter-topped, still 0 at the edges. The cell prints each
#   window's width at half height.
#
# A window is *periodic* (D = N: one period of a cosine of period N, librosa's and scipy's
# `fftbins=True`) or *symmetric* (D = N − 1: first and last sample equal, numpy's `np.hanning`,
# Kaldi's choice). All four below are periodic, as librosa uses them.

# %%
windows = {name: features.window_function(name, cfg.win_length, periodic=True)
           for name in ("rectangular", "hann", "hamming", "povey")}
print("first sample of each window:", {name: round(float(w[0]), 3) for name, w in windows.items()})
print("width at half height (samples):", {name: int((w >= 0.5).sum()) for name, w in windows.items()})
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
# Shown in dB, the chirp's rising line and its noise floor are plain to see. First, one frame:
# cut out bare (rectangular), its single tone leaks into every bin; Hann-windowed, the energy
# stays near the tone and the noise floor shows between.

# %%
window = features.make_window(cfg)
frame = frames[0, 100]  # (win_length,): one frame of the chirp
spectra = {name: features.power_spectrum(frame[None, None], taper, cfg.n_fft)[0, 0]  # (bins,)
           for name, taper in (("rectangular", torch.ones_like(window)), ("hann", window))}
plotting.plot_frame(frame, window, spectra, cfg.sample_rate, cfg.n_fft);

# %%
power = features.power_spectrum(frames, window, cfg.n_fft)  # (batch, frames, n_fft//2 + 1)
print("power spectrum:", tuple(power.shape), "= (batch, frames, bins)")
plotting.plot_spectrogram(10 * torch.log10(power[0].T + 1e-10), hop_length=cfg.hop_length,
                          sample_rate=cfg.sample_rate, ylabel="FFT bin (31.25 Hz each)",
                          title="Power spectrum (linear frequency)");

# %% [markdown]
# ## A short window or a long one
# The window's length decides what a spectrogram can resolve. Below, the dog's bark (from the
# recording heard above) with an 8 ms and a 64 ms window, each with the smallest FFT that
# holds it (`resolution.config_for_window`), on one colour scale. The short window places the
# bark's start sharply in time, in coarse frequency blocks (the title gives the bin spacing);
# the long window resolves thin horizontal lines in frequency but smears the start over its
# 64 ms, so the bark seems to begin earlier. The AST's 25 ms is in between; exercise 4
# measures the trade.

# %%
dog = load_example("dog", cfg.sample_rate)  # (samples,) at 16 kHz
loudest = int(np.abs(dog).argmax())
first = max(loudest - cfg.sample_rate // 4, 0)
bark = dog[first: first + cfg.sample_rate // 2]  # (8000,): 0.5 s around the loudest sample
fbank_plots.plot_window_lengths(bark, [config_for_window(cfg, ms) for ms in (8.0, 64.0)],
                                max_hz=4000, start_s=first / cfg.sample_rate);

# %% [markdown]
# ## The mel filterbank
# Hearing resolves low frequencies finely and high ones coarsely. The **mel scale** models
# that; 128 triangular filters equally spaced in mel pool the 257 FFT bins into 128 bands.
# A filterbank is three independent choices, each a field of `FbankConfig`:
#
# * the **scale** (`mel_scale`): HTK's `2595·log10(1 + f/700)`, or Slaney's, linear below
#   1 kHz and logarithmic above;
# * the **normalisation** (`mel_norm`): Slaney's scales each triangle to unit area, so that wide
#   high bands do not dominate; `None` leaves every peak at 1. Despite the shared name it does
#   not depend on the Slaney *scale*: either scale can have either norm;
# * the **domain** (`mel_domain`): triangles linear in Hz (librosa) or in mel (Kaldi).
#
# librosa's default is Slaney scale + Slaney norm + Hz; Kaldi's filterbank, which the AST uses,
# is HTK scale + no norm + mel. The two scales side by side:

# %%
hz = np.linspace(0, cfg.nyquist, 400)
plotting.plot_mel_scales(cfg.nyquist, {scale: features.hz_to_mel(hz, scale) for scale in ("htk", "slaney")});

# %% [markdown]
# Each filter is a continuous triangle; the spectrum only meets it at the FFT bins, 31.25 Hz
# apart (the dots). Where a triangle is narrow, its peak falls between bins, so the largest
# weight it applies is below its peak. Ours must equal librosa's, filter for filter.

# %%
fb = features.mel_filterbank(cfg)  # (n_mels, n_fft//2 + 1)
fbank_plots.plot_filterbank(cfg, every=4, title="Every 4th of 128 Slaney mel filters");

# %%
reference_fb = librosa.filters.mel(sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels)
print("max |ours - librosa| =", float(np.abs(fb.numpy() - reference_fb).max()))
assert np.allclose(fb.numpy(), reference_fb, rtol=1e-6, atol=1e-10)

# %% [markdown]
# ## Mel power, then the log
# Pooling power into mel bands is one matrix product: the filterbank `(n_mels, bins)` times the
# power spectrogram `(bins, frames)` gives the mel spectrogram `(n_mels, frames)`; each mel
# value is a weighted sum of one frame's bins. Loudness is perceived roughly logarithmically,
# and the values span many orders of magnitude, so we then take `10·log10` (dB) and clip
# everything more than `top_db` = 80 dB below the loudest cell. The picture shows the product
# in dB.

# %%
mel = features.apply_mel_filterbank(power, fb)  # (batch, n_mels, frames)
logmel = features.to_log(mel, "db", top_db=cfg.top_db)  # (batch, n_mels, frames), dB
band_hz = features.mel_band_edges(cfg)[1:-1]  # (n_mels,) centre of each band, Hz
print("filterbank", tuple(fb.shape), "@ power", tuple(power[0].T.shape), "=", tuple(mel[0].shape))
fbank_plots.plot_filterbank_product(fb, power[0].T, cfg.sample_rate, cfg.hop_length)
plt.show()
player(wave, cfg.sample_rate, label="rising chirp")

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
# ## The same chain on real sounds
# Now the dog and the rain. The bark is one bright burst about 0.3 s long, just after 2 s,
# that reaches every band, on a floor that is dark because the rest of the recording is
# silent; the rain is a grainy texture over the whole clip, brightest around 2 to 3 kHz. Each player plays the 16-kHz signal the
# spectrogram was computed from: what the model hears. And librosa agrees on real sound too.

# %%
real = {name: load_example(name, cfg.sample_rate) for name in ("dog", "rain")}  # (samples,) each
for name, clip in real.items():
    spec = features.fbank(clip, cfg)  # (n_mels, frames), dB
    reference = librosa.power_to_db(librosa.feature.melspectrogram(
        y=clip, sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length,
        win_length=cfg.win_length, n_mels=cfg.n_mels), ref=1.0, amin=1e-10, top_db=80.0)
    print(f"{name}: {tuple(spec.shape)}, max |ours - librosa| = {np.abs(spec.numpy() - reference).max():.1e} dB")
    assert np.allclose(spec.numpy(), reference, atol=1e-3)
    plotting.plot_spectrogram(spec, hop_length=cfg.hop_length, sample_rate=cfg.sample_rate,
                              title=f"{name}: log-mel spectrogram (dB)", band_hz=band_hz)
    plt.show()
    display(player(clip, cfg.sample_rate, label=f"{name}, 16 kHz"))

# %% [markdown]
# ## Normalisation
# Networks train best on inputs near zero mean and unit variance. *Per-sample* normalisation
# uses each clip's own statistics; *dataset* normalisation uses one mean and standard deviation
# computed on the training folds only (never the test fold) and stored in the config. Both
# compute `(x − mean) / std`.
#
# The AST's authors divide by **twice** the standard deviation, `(x − mean) / (2·std)`, with
# AudioSet's statistics. That halves the spread: the values get a standard deviation of 0.5,
# and more of them fall between −1 and 1 (`features.checkpoint_normalize`, used to feed the
# authors' pretrained weights). It is a choice of scale, not a different idea; the models
# trained here from scratch divide by one std. The cell prints both on the chirp.

# %%
per_sample = features.fbank(wave, dataclasses.replace(cfg, normalize="per_sample"))
two_sigma = features.checkpoint_normalize(torch.from_numpy(ours), float(ours.mean()),
                                          float(ours.std()))  # the AST's scaling, this clip's stats
for name, values in (("(x - mean) / std", per_sample.numpy()),
                     ("(x - mean) / (2 std)", two_sigma.numpy())):
    print(f"{name:21} mean {values.mean():+.3f}, std {values.std():.3f}, "
          f"{np.mean(np.abs(values) <= 1):.0%} of values in [-1, 1]")
fig, axes = plt.subplots(1, 2, figsize=(11, 3))
plotting.plot_spectrogram(ours, hop_length=cfg.hop_length, sample_rate=cfg.sample_rate, ax=axes[0],
                          title="dB")
plotting.plot_spectrogram(per_sample, hop_length=cfg.hop_length, sample_rate=cfg.sample_rate,
                          ax=axes[1], title="per-sample normalised", unit="std units")
fig.tight_layout()

# %% [markdown]
# ## Ten real classes
# One clip of each ESC-10 class, all from fold 1. Look before you listen: which are events
# (a bark, a sneeze, a rooster's call), which are textures (rain, waves, fire), which are
# periodic (a clock's ticks, a helicopter's blades, a chainsaw's engine)? Then play them.
# The pictures are small, so they use coarser settings than above (64 mels, a 20 ms hop):
# even at half the resolution the classes look different. All ten share one colour scale, so
# equal colours are equal levels in dB.

# %%
names = example_names()
clips = [load_example(name, cfg.sample_rate) for name in names]  # 10 x (samples,), 16 kHz
coarse = dataclasses.replace(cfg, n_mels=64, hop_ms=20.0)  # (64, 251) per 5-s clip
plotting.plot_spectrogram_grid([features.fbank(clip, coarse) for clip in clips], names,
                               hop_length=coarse.hop_length, sample_rate=coarse.sample_rate, ncols=5,
                               unit="dB")
plt.show()
player_table(clips, names, cfg.sample_rate)

# %% [markdown]
# ## Explore
# The explorer works on the dog's bark, a short event, so the trade-off between time and
# frequency is easy to see (and to hear: the player plays the clip). Move the sliders (the
# picture redraws when you let go): a longer window sharpens frequency and smears the bark
# over more frames; a smaller hop adds frames; fewer mels coarsen the image. The mel scale,
# the area norm and the triangles' domain switch separately, and `log` switches between dB and
# Kaldi's natural log. The floor (`top_db`) only clips dB images, so it is disabled while the
# log is ln. `n_fft` "auto" is the smallest power of two that holds the window; a fixed size
# shorter than the window is raised to fit. The line under the plot gives the frame count, the
# output shape and the `n_fft` used. The explorer needs a running kernel; on a page that only
# shows saved outputs, the pictures above stand in for it.

# %%
fbank_explorer(real["dog"], cfg)

# %% [markdown]
# ## Exercises
# Write each function below in place of its `raise NotImplementedError`, then run the cell:
# the grader runs it on several inputs, edge cases included, compares it with
# `ast_lab.features` and names the first difference with a hint. (Worked solutions:
# `ast_lab/exercises/solutions.py`; try first.)
#
# **1. The frame count, both conventions.** `center=True` is librosa's, `center=False` Kaldi's
# snip-edges.

# %%
from ast_lab.exercises.logmel import check_frame_count, check_hz_to_mel, check_triangle


def frame_count(n_samples: int, win_length: int, hop_length: int, n_fft: int, center: bool) -> int:
    """Number of frames of a signal of ``n_samples`` (all lengths in samples)."""
    raise NotImplementedError  # your code here


check_frame_count(frame_count)

# %% [markdown]
# **2. Hz to mel, HTK's formula**, for an array of frequencies of any shape.

# %%
def hz_to_mel_htk(freq_hz: np.ndarray) -> np.ndarray:
    """Frequencies in Hz (any shape) -> mel on HTK's scale, float64, same shape."""
    raise NotImplementedError  # your code here


check_hz_to_mel(hz_to_mel_htk)

# %% [markdown]
# **3. One triangular filter**, linear in Hz, with peak 1 at the centre and no area
# normalisation, evaluated at any frequencies.

# %%
def triangular_filter(freqs_hz: np.ndarray, left_hz: float, centre_hz: float,
                      right_hz: float) -> np.ndarray:
    """Weights ``(n_freqs,)``: 0 outside (left, right), rising to 1 at the centre, then falling."""
    raise NotImplementedError  # your code here


check_triangle(triangular_filter)

# %% [markdown]
# **4. An experiment: how long should a window be?** A window of *T* seconds sharpens frequency
# to about 1/*T* and blurs time over about *T*. Measure the trade on two test signals: two
# tones 50 Hz apart (1000 and 1050 Hz), and two clicks 30 ms apart. First write
# `window_config`: the same settings with another window, and an FFT long enough to hold it
# (a window longer than `n_fft` is refused: 512 samples hold at most 32 ms at 16 kHz).

# %%
from ast_lab.exercises.logmel import check_resolution_reading, check_window_config


def window_config(cfg: FbankConfig, win_ms: float) -> FbankConfig:
    """``cfg`` with a ``win_ms`` window and ``n_fft`` the smallest power of two that holds it."""
    raise NotImplementedError  # your code here


window_feedback = check_window_config(window_config)
window_feedback

# %% [markdown]
# Now the measurement, with your `window_config` once it is right (the package's
# `config_for_window` until then). For each window the table gives the dip between the two
# tones in the spectrum and between the two clicks over time: a dip of 3 dB or more means
# the pair is seen as two. The picture shows the curves the dips are read from.

# %%
from ast_lab.resolution import (WINDOWS_MS, config_for_window, format_table, plot_resolution,
                                resolution_table)

make_config = window_config if window_feedback.correct else config_for_window
print(f"using {make_config.__name__}")
print(format_table(resolution_table(make_config, cfg, WINDOWS_MS)))
plot_resolution(make_config, cfg, WINDOWS_MS);

# %% [markdown]
# Read the table, then fill in what it shows:

# %%
two_tones_from_ms = ...  # the shortest window in the table that shows the two tones apart
two_clicks_up_to_ms = ...  # the longest window in the table that shows the two clicks apart
check_resolution_reading(two_tones_from_ms, two_clicks_up_to_ms)

# %% [markdown]
# <details><summary>Discussion (open after answering)</summary>
#
# No window in the list separates both pairs: the windows long enough to split the tones
# smear the two clicks into one event, and the windows short enough to split the clicks
# merge the tones into one line. The AST's 25 ms sides with time: it keeps clicks 30 ms apart
# and merges tones 50 Hz apart. The mel filterbank then pools frequency further: with the 64
# mels the trained models here use, neighbouring bands near 1 kHz are already 50 Hz apart,
# and further apart above, so a longer window would buy them little. For speech and
# environmental sound, where onsets matter more than fine pitch, that is the usual choice;
# music analysis often uses longer windows (librosa's default, 2048 samples at 22.05 kHz, is
# 93 ms).
# </details>

# %% [markdown]
# ## Optional: Kaldi's conventions, as the AST authors computed their features
# No model trained in this project uses them; read this section to compare with the authors'
# features or to load their weights. `FbankConfig.kaldi_like()` holds every setting below.
#
# ### Frame counts
# Kaldi's snip-edges framing gives fewer frames than centred framing: for ESC-50's 5 s clips,
# the cell prints both counts. The AST then pads (or crops) every clip to a **fixed length
# chosen per dataset**, its recipes' `target_length`: 512 frames for ESC-50, 1024 for
# AudioSet's 10 s. The length is a setting, not a rule such as "the next power of two"; here
# it is `FbankConfig.target_frames`.

# %%
five_seconds = 5 * cfg.sample_rate
for center in (True, False):
    n = features.num_frames(five_seconds, cfg.win_length, cfg.hop_length, cfg.n_fft, center)
    print(f"center={center!s:5}: {n} frames")
print("the AST recipe pads ESC-50 clips to", FbankConfig.kaldi_like().target_frames, "frames")
ten_seconds = features.frames_for_seconds(10.0, FbankConfig.kaldi_like(target_frames=None))
print(f"10 s, Kaldi: {ten_seconds} frames (AudioSet's target_length is 1024)")
print("librosa agrees on the centred count:",
      librosa.feature.melspectrogram(y=np.zeros(five_seconds), sr=cfg.sample_rate, n_fft=cfg.n_fft,
                                     hop_length=cfg.hop_length, win_length=cfg.win_length).shape[1])

# %% [markdown]
# Where do the frames sit? Centred frame *t* is centred on sample *t·hop*, so the first one
# reaches 12.5 ms into the zero padding before the signal starts; Kaldi's first frame starts
# at sample 0. Both then step 10 ms.

# %%
starts = {f"center={center} ({name})": features.frame_starts(5, cfg.win_length, cfg.hop_length,
                                                               cfg.n_fft, center)
          for center, name in ((True, "librosa"), (False, "Kaldi snip-edges"))}
plotting.plot_frame_layout(starts, cfg.win_length, cfg.sample_rate, wave=wave,
                           title="The first five frames of each convention over the waveform");

# %% [markdown]
# ### The paper's "Hamming"
# The AST paper says it uses a *Hamming* window, but its code calls
# `torchaudio.compliance.kaldi.fbank(..., window_type='hanning')`: a **symmetric Hann**
# window. Our `FbankConfig.kaldi_like()` follows the code (`window="hann", periodic=False`).

# %% [markdown]
# ### The whole recipe
# `FbankConfig.kaldi_like()` is what the AST authors fed their model: symmetric Hann,
# pre-emphasis 0.97, per-frame DC removal, snip-edges framing, HTK mel from 20 Hz with
# triangles in mel space and no area norm, natural log, padded to 512 frames. Below, the same
# clip both ways, side by side.
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
print("librosa-like:", tuple(ours.shape), " kaldi-like:", tuple(kaldi_spec.shape))
fig, axes = plt.subplots(1, 2, figsize=(12, 3))  # not sharey: each panel labels its own bands
plotting.plot_spectrogram(ours, hop_length=cfg.hop_length, sample_rate=cfg.sample_rate, ax=axes[0],
                          title="librosa-like (Slaney, dB)", band_hz=band_hz)
plotting.plot_spectrogram(kaldi_spec, hop_length=kaldi.hop_length, sample_rate=kaldi.sample_rate,
                          ax=axes[1], unit="ln(power)", title="Kaldi-like (HTK from 20 Hz, ln)",
                          band_hz=features.mel_band_edges(kaldi)[1:-1])
fig.tight_layout()

# %% [markdown]
# ### Padding to a fixed length, and what the padding sounds like
# `FbankConfig.target_frames` pads (or crops) every spectrogram to that many frames, before
# normalising, as the AST does; `pad_value` is what the new frames hold. `None` means the
# spectrogram's own minimum, i.e. silence in its units. The AST pads with **0 in ln units**
# (`kaldi_like()` copies that with `pad_value=0.0`). But ln(power) = 0 means power 1, and
# silence here sits at the floor ln(ε) = ln(1.19e-7) ≈ −15.9: the padding is *loud*, louder
# than most of the clip, a bright block after every short clip, not a silent one.

# %%
padded = features.fbank(wave, FbankConfig.kaldi_like(target_frames=256))  # (n_mels, 256), ln
print(f"clip: {kaldi_spec.shape[1]} frames, values {kaldi_spec.min():.1f} .. {kaldi_spec.max():.1f}"
      f" ln(power); floor ln(eps) = {np.log(np.finfo(np.float32).eps):.1f}; pad value 0.0")
plotting.plot_spectrogram(padded, hop_length=kaldi.hop_length, sample_rate=kaldi.sample_rate,
                          unit="ln(power)", title="Kaldi-like, padded to 256 frames with 0 (ln)");

# %% [markdown]
# ## Summary
# We built the FBANK one step at a time: overlapping frames, a window (whose length trades
# time against frequency resolution), the power spectrum, a mel filterbank applied as one
# matrix product, the log and normalisation, and checked each step against librosa, on a chirp
# and on real recordings. The optional section showed that the Kaldi recipe the AST's authors
# used differs from librosa's in its values (window, mel scale, norm and domain, log, padding)
# and in its frame count (the counts it printed). Every one of these choices is a field of
# `FbankConfig`.
#
# **The one idea to keep:** a spectrogram is a stack of choices, and each one (window, framing,
# mel scale, log, pad value) changes the numbers the model sees; a model trained on one recipe
# must be fed the same recipe.
#
# ## Questions to think about
# Each has a short discussion to unfold; think first.
#
# 1. With 128 mels over a 512-point FFT, Kaldi's lowest filter catches no FFT bin (optional
#    section). Which of n_fft, n_mels and fmin would you change to fix it, and what does each
#    cost?
#
# <details><summary>Discussion</summary>
#
# The lowest HTK triangles are narrower than the 31.25 Hz between FFT bins, so one can fall
# between two bins. A longer FFT (1024: bins 15.6 Hz apart) gives every triangle a bin, at
# twice the FFT work, but the window is still 25 ms: the extra bins interpolate the same
# spectrum, so neighbouring low bands become near copies rather than new information. Fewer
# mels (64) widen every band, which fixes the bottom and coarsens the whole spectrogram. A
# higher `fmin` drops the narrowest bands and, with them, the lowest frequencies, which carry
# little in ESC-50 but matter for some sounds (engines, thunder). The empty band itself does
# no harm: after normalisation it is a constant row that carries no information.
# </details>
#
# 2. The AST pads short clips with 0 in ln units, louder than most of the clip (optional
#    section). What could a network learn from that bright block, and would the spectrogram's
#    minimum be better?
#
# <details><summary>Discussion</summary>
#
# The block tells the network how long the recording was. Where every clip has the same
# length (ESC-50: 498 frames padded to 512) it is the same 14 frames in every input, and the
# network learns to ignore it. Where lengths differ and correlate with the class, the length
# becomes a shortcut the network can use instead of the sound, and its sharp edge is a
# feature no real recording has. Padding with the spectrogram's minimum makes the padding look
# like silence, which real clips contain too, so it is the safer choice; a padding mask in
# attention (notebook 03, exercise 3) removes the question altogether.
# </details>
#
# 3. A 25 ms window is 400 samples, the FFT 512. What do the 112 zeros add to the spectrum, and
#    what can they not add?
#
# <details><summary>Discussion</summary>
#
# They sample the window's spectrum more densely: 257 bins 31.25 Hz apart instead of 201 bins
# 40 Hz apart, a smoother picture of the same thing. They cannot make the picture sharper:
# the main lobe's width is set by the 25 ms of signal, not by the zeros, so two tones 50 Hz
# apart stay one line (exercise 4) however much you pad.
# </details>
#
# 4. Why must the dataset mean and standard deviation come from the training folds only?
#
# <details><summary>Discussion</summary>
#
# Anything fitted to data, a normalisation as much as the weights, is part of the model. If
# the test fold's recordings shape it, the test score no longer measures recordings the model
# has never met. For a mean and a standard deviation the effect is usually small, but the rule
# has no size threshold, and the habit prevents the bigger leaks (a vocabulary, a threshold, a
# feature selection fitted on all the data). Each fold's model therefore carries its own
# statistics, as the shipped model's card does.
# </details>
#
# ## Further reading
# * Gong, Chung, Glass, *AST: Audio Spectrogram Transformer* (Interspeech 2021,
#   arXiv:2104.01778), §2.1: the 128-band log-mel input, 25 ms window every 10 ms.
# * Kaldi's `compute-fbank-feats` and its options (`src/feat/feature-fbank.h`,
#   `feature-window.h`: `snip-edges`, `window-type=povey`, `preemphasis-coefficient`,
#   `remove-dc-offset`), and `torchaudio.compliance.kaldi.fbank`, which the AST calls.
# * Young et al., *The HTK Book*, §5.4 "Filterbank Analysis": the HTK mel formula and
#   triangles in mel.
# * Slaney, *Auditory Toolbox* (Interval Research Technical Report 1998-010), `mfcc.m`: the
#   Slaney mel scale and area normalisation; librosa's `filters.mel` (`htk`, `norm`).
# * Harris, "On the use of windows for harmonic analysis with the discrete Fourier transform"
#   (Proc. IEEE 66(1), 1978), §IV–V: main lobes, side lobes, Hann against Hamming.
