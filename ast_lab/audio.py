"""Audio in: read a file, make it mono, resample it, pad or crop it; see notebook 01.

Waveforms are float32 in [-1, 1]: ``(samples,)`` for one clip, ``(batch, samples)`` for many.
Files are read with soundfile (wav, flac, ogg, ...); resampling is polyphase
(``scipy.signal.resample_poly``), which is exact for rational rate ratios such as 44.1 kHz -> 16 kHz
(up 160, down 441) and needs no FFT of the whole clip.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile as sf
import torch
from scipy.signal import resample_poly

# Full scale of each integer sample type: int16 -32768..32767 maps to [-1, 1).
INT_FULL_SCALE = {np.dtype(np.int16): 2.0**15, np.dtype(np.int32): 2.0**31}
TORCH_INT_FULL_SCALE = {torch.int16: 2.0**15, torch.int32: 2.0**31}


def load_audio(
    path: str | Path,
    sample_rate: int | None = None,
    *,
    mono: Literal["downmix", "require"] = "downmix",
    expected_rate: int | None = None,
) -> np.ndarray:
    """Read an audio file as a float32 mono waveform ``(samples,)`` in [-1, 1].

    Args:
        path: a file soundfile can read (wav, flac, ogg, ...).
        sample_rate: resample to this rate in Hz (polyphase); None keeps the file's rate.
        mono: "downmix" averages the channels; "require" raises if the file has more than one.
        expected_rate: if given, raise unless the file's own rate (Hz) is exactly this.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError (naming the file): it is empty, unreadable, truncated or corrupt, has no
            samples or non-finite ones (NaN, inf), has several channels when ``mono="require"``, or the wrong rate.
    """
    if mono not in ("downmix", "require"):
        raise ValueError(f"mono must be 'downmix' or 'require', got {mono!r}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"audio file not found: {path}")
    if path.stat().st_size == 0:
        raise ValueError(f"audio file is empty (0 bytes): {path}")
    if _wav_data_is_truncated(path):
        raise ValueError(f"audio file is truncated (less data than its header declares): {path}")
    try:
        samples, file_rate = sf.read(path, dtype="float32", always_2d=True)  # (samples, channels)
    except sf.SoundFileError as err:
        raise ValueError(f"cannot read audio file {path}: {err}") from err
    n_samples, n_channels = samples.shape
    if n_samples == 0:
        raise ValueError(f"audio file has no samples (zero-length or truncated): {path}")
    if not np.isfinite(samples).all():  # float files can hold NaN or inf; never clip them to 1
        raise ValueError(f"audio file holds non-finite samples (NaN or inf): {path}")
    if expected_rate is not None and file_rate != expected_rate:
        raise ValueError(f"{path} is sampled at {file_rate} Hz, expected {expected_rate} Hz")
    if n_channels > 1 and mono == "require":
        raise ValueError(f"{path} has {n_channels} channels; mono='require' needs exactly 1")
    wave = samples.mean(axis=1)  # (samples,)
    if sample_rate is not None:
        wave = resample(wave, file_rate, sample_rate)
    return np.clip(wave, -1.0, 1.0).astype(np.float32, copy=False)


def _wav_data_is_truncated(path: Path) -> bool:
    """True if ``path`` is a RIFF/WAVE file whose 'data' chunk is shorter than its header says.

    libsndfile reads such files without complaint (it just returns fewer samples), so a clip cut
    off by an interrupted download would otherwise pass silently. Other formats fail loudly in
    soundfile, or come back with no samples, and are caught by ``load_audio`` itself.
    """
    file_size = path.stat().st_size
    with path.open("rb") as f:
        header = f.read(12)
        if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
            return False
        position = 12
        while position + 8 <= file_size:
            f.seek(position)
            chunk_id, chunk_size = struct.unpack("<4sI", f.read(8))
            if chunk_id == b"data":
                unknown_size = chunk_size in (0, 0xFFFFFFFF)  # streamed writers leave it unset
                return not unknown_size and file_size - (position + 8) < chunk_size
            position += 8 + chunk_size + (chunk_size % 2)  # chunks are padded to even length
    return False


def resample(wave: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Polyphase resampling of ``wave`` ``(..., samples)`` from ``orig_sr`` to ``target_sr`` Hz.

    The ratio is reduced by the gcd (44100 -> 16000 is up 160, down 441) and handed to
    ``scipy.signal.resample_poly``, whose default Kaiser-windowed FIR low-pass removes what would
    alias above the new Nyquist. Returns float32 with ``ceil(samples * target_sr / orig_sr)``
    samples.
    """
    for name, rate in (("orig_sr", orig_sr), ("target_sr", target_sr)):
        if int(rate) != rate or rate <= 0:
            raise ValueError(f"{name} must be a positive integer number of Hz, got {rate!r}")
    orig_sr, target_sr = int(orig_sr), int(target_sr)
    wave = np.asarray(wave, dtype=np.float32)
    if orig_sr == target_sr:
        return wave
    g = math.gcd(orig_sr, target_sr)
    return resample_poly(wave, target_sr // g, orig_sr // g, axis=-1).astype(np.float32)


def pad_or_crop(wave: np.ndarray, n_samples: int, *, offset: int = 0) -> np.ndarray:
    """Exactly ``n_samples`` of ``wave`` ``(..., samples)``, from ``offset``; zeros pad the end."""
    if n_samples <= 0:
        raise ValueError(f"n_samples must be positive, got {n_samples}")
    if offset < 0:
        raise ValueError(f"offset must be >= 0, got {offset}")
    wave = np.asarray(wave)
    kept = wave[..., offset : offset + n_samples]  # (..., <= n_samples)
    missing = n_samples - kept.shape[-1]
    if missing == 0:
        return kept
    pad = [(0, 0)] * (wave.ndim - 1) + [(0, missing)]
    return np.pad(kept, pad)  # (..., n_samples)


def as_float_waveform(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    """``x`` as a float32 torch tensor in [-1, 1], same shape (and device, if already a tensor).

    Floats are cast (not rescaled); int16 is divided by 32768 and int32 by 2**31, the full scale
    of each type. Any other dtype is a ValueError, since its scale would be a guess.
    """
    if isinstance(x, torch.Tensor):
        if x.is_floating_point():
            return x.float()
        if x.dtype in TORCH_INT_FULL_SCALE:
            return x.float() / TORCH_INT_FULL_SCALE[x.dtype]
        raise ValueError(f"unsupported waveform dtype {x.dtype}; use float, int16 or int32")
    array = np.asarray(x)
    if np.issubdtype(array.dtype, np.floating):
        return torch.from_numpy(np.array(array, dtype=np.float32, copy=None, order="C"))
    if array.dtype in INT_FULL_SCALE:
        scaled = array.astype(np.float32) / np.float32(INT_FULL_SCALE[array.dtype])
        return torch.from_numpy(scaled)
    raise ValueError(f"unsupported waveform dtype {array.dtype}; use float, int16 or int32")
