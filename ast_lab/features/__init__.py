"""Our FBANK: waveform -> frames -> window -> |FFT|^p -> mel filterbank -> log -> normalise.

One implementation, batched torch, on CPU or CUDA. Every choice that differs between librosa and
Kaldi is a field of ``FbankConfig``; the two presets differ only in values. With
``librosa_like()`` settings the output matches ``librosa.feature.melspectrogram`` +
``power_to_db`` (tests/test_features_vs_librosa.py); ``kaldi_like()`` follows
``torchaudio.compliance.kaldi.fbank`` as the AST authors call it. Notebook 01 walks through the
steps. The modules, in the order the data flows (B clips, N samples, F frames, W window
samples, K = n_fft//2 + 1 FFT bins, M mel bands):

    settings       check_config, check_waveforms, fmax_hz: what a config may hold
    framing        frame arithmetic (num_frames, frames_for_seconds), windows, frame_signal,
                   dither, DC removal, pre-emphasis                   (B, N) -> (B, F, W)
    mel            mel scales (Hz <-> mel), triangular filterbanks, applying them
                                                                      (B, F, K) -> (B, M, F)
    pipeline       power_spectrum, to_log, pad_or_crop_frames, and ``fbank`` chaining it all
    normalization  per clip, per dataset (``dataset_stats``), per checkpoint (mean and 2 std)

Everything public is importable from here: ``from ast_lab.features import fbank``.
"""

from .framing import (
    POVEY_EXPONENT,
    add_dither,
    frame_signal,
    frame_starts,
    frames_for_seconds,
    make_window,
    num_frames,
    paper_target_frames,
    preemphasize,
    remove_dc_offset,
    window_function,
)
from .mel import (
    MEL_BLOCK_FILTERS,
    MelBlock,
    apply_mel_blocks,
    apply_mel_filterbank,
    hz_to_mel,
    mel_band_edges,
    mel_band_edges_in_mel,
    mel_blocks,
    mel_filterbank,
    mel_to_hz,
    triangular_filters,
)
from .normalization import PER_SAMPLE_STD_FLOOR, checkpoint_normalize, dataset_stats, normalize
from .pipeline import CHUNK_VALUES, fbank, log_mel, pad_or_crop_frames, power_spectrum, to_log
from .settings import WINDOWS, check_config, check_waveforms, fmax_hz

__all__ = [
    "CHUNK_VALUES", "MEL_BLOCK_FILTERS", "MelBlock", "PER_SAMPLE_STD_FLOOR", "POVEY_EXPONENT",
    "WINDOWS", "add_dither", "apply_mel_blocks", "apply_mel_filterbank", "check_config",
    "check_waveforms", "checkpoint_normalize", "dataset_stats", "fbank", "fmax_hz",
    "frame_signal", "frame_starts", "frames_for_seconds", "hz_to_mel", "log_mel", "make_window",
    "mel_band_edges", "mel_band_edges_in_mel", "mel_blocks", "mel_filterbank", "mel_to_hz",
    "normalize", "num_frames", "pad_or_crop_frames", "paper_target_frames", "power_spectrum",
    "preemphasize", "remove_dc_offset", "to_log", "triangular_filters", "window_function",
]
