"""How fast is our FBANK, against librosa, on 5 s clips at 16 kHz?

Times one pass of ``features.fbank`` (the whole set in one call; CPU with 2 threads, and CUDA when
present) and of ``librosa.feature.melspectrogram`` + ``power_to_db`` clip by clip, with the same
settings (the default ``FbankConfig``: periodic Hann, 25/10 ms, n_fft 512, 128 Slaney mels, dB
with top_db 80). One warm-up call each, then one timed run. Checks that both agree to 1e-3 dB and
writes ``benchmarks/results/fbank_speed.json``.

    python benchmarks/fbank_speed.py --clips 200
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import time
from pathlib import Path

import librosa
import numpy as np
import torch

from ast_lab import features
from ast_lab.config import FbankConfig

CLIP_SECONDS = 5.0
THREADS = 2
DB_TOLERANCE = 1e-3  # dB, as tests/test_features_vs_librosa.py


def synthetic_clips(n_clips: int, sample_rate: int, seed: int = 0) -> np.ndarray:
    """``(n_clips, samples)`` float32: enveloped noise, a chirp and a tone; peaks -40..0 dBFS."""
    rng = np.random.default_rng(seed)
    n = int(CLIP_SECONDS * sample_rate)
    t = np.arange(n) / sample_rate
    clips = np.empty((n_clips, n), dtype=np.float32)
    for i in range(n_clips):
        f0, f1, tone = rng.uniform(50, 500), rng.uniform(1000, 7500), rng.uniform(100, 4000)
        chirp = np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * CLIP_SECONDS)))
        envelope = np.abs(np.sin(np.pi * t * rng.uniform(0.2, 3.0)))
        noise = envelope * rng.standard_normal(n)
        wave = 0.3 * chirp + 0.2 * np.sin(2 * np.pi * tone * t) + 0.3 * noise
        clips[i] = wave / np.abs(wave).max() * 10 ** (rng.uniform(-40, 0) / 20)
    return clips


def librosa_fbank(clip: np.ndarray, cfg: FbankConfig) -> np.ndarray:
    """librosa's log-mel ``(n_mels, frames)`` with the settings of ``cfg`` (librosa conventions)."""
    power = librosa.feature.melspectrogram(
        y=clip, sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length,
        win_length=cfg.win_length, window=cfg.window, center=cfg.center, pad_mode=cfg.pad_mode,
        power=cfg.power, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax,
        htk=cfg.mel_scale == "htk", norm=cfg.mel_norm,
    )
    return librosa.power_to_db(power, ref=1.0, amin=cfg.amin, top_db=cfg.top_db)


def ms_per_clip(run, n_clips: int, sync=lambda: None) -> float:
    """One warm-up call, then one timed call of ``run``; milliseconds per clip."""
    run()
    sync()
    start = time.perf_counter()
    run()
    sync()
    return (time.perf_counter() - start) * 1000 / n_clips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=200, help="number of 5 s clips")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "fbank_speed.json"
    )
    args = parser.parse_args()

    torch.set_num_threads(THREADS)
    cfg = FbankConfig()
    clips = synthetic_clips(args.clips, cfg.sample_rate)
    load_before = os.getloadavg()

    ours = features.fbank(clips, cfg)  # (clips, n_mels, frames)
    ours_ms = ms_per_clip(lambda: features.fbank(clips, cfg), args.clips)
    reference = np.stack([librosa_fbank(clip, cfg) for clip in clips])
    librosa_ms = ms_per_clip(lambda: [librosa_fbank(clip, cfg) for clip in clips], args.clips)
    max_db_diff = float(np.abs(ours.numpy() - reference).max())

    result = {
        "torch": torch.__version__,
        "librosa": librosa.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "load_average_1min_before": round(load_before[0], 2),
        "threads": torch.get_num_threads(),
        "n_clips": args.clips,
        "clip_seconds": CLIP_SECONDS,
        "config": dataclasses.asdict(cfg),
        "output_shape": list(ours.shape),
        "ms_per_clip": {"ours_cpu": round(ours_ms, 4), "librosa": round(librosa_ms, 4)},
        "ratio_ours_cpu_to_librosa": round(ours_ms / librosa_ms, 4),
        "max_abs_db_diff": max_db_diff,
        "db_tolerance": DB_TOLERANCE,
    }
    if torch.cuda.is_available():
        on_gpu = torch.from_numpy(clips).cuda()
        gpu_ms = ms_per_clip(
            lambda: features.fbank(on_gpu, cfg), args.clips, torch.cuda.synchronize
        )
        result["ms_per_clip"]["ours_cuda"] = round(gpu_ms, 4)
        result["cuda_device"] = torch.cuda.get_device_name()
        gpu_diff = (features.fbank(on_gpu, cfg).cpu() - ours).abs().max()
        result["max_abs_db_diff_cuda_vs_cpu"] = float(gpu_diff)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"{args.clips} clips of {CLIP_SECONDS:g} s: ours {ours_ms:.3f} ms/clip "
        f"(CPU, {THREADS} threads), librosa {librosa_ms:.3f} ms/clip, "
        f"ratio {ours_ms / librosa_ms:.2f}; max |dB diff| {max_db_diff:.2e}"
    )
    if "ours_cuda" in result["ms_per_clip"]:
        print(f"CUDA ({result['cuda_device']}): {result['ms_per_clip']['ours_cuda']:.4f} ms/clip")
    print(f"wrote {args.out}")
    if max_db_diff > DB_TOLERANCE:
        raise SystemExit(f"outputs differ by {max_db_diff:.2e} dB > {DB_TOLERANCE} dB")


if __name__ == "__main__":
    main()
