"""How fast is our FBANK, against librosa, on 5 s clips at 16 kHz? Median ratio over rounds.

The clips are the first ``--clips`` recordings of ESC-50 (``--esc50``, default
``../shared/esc50``; resampled to 16 kHz, cut or padded to 5 s) when that folder is there, and
synthetic ones (noise, a chirp and a tone) otherwise; the JSON says which. Times
``features.fbank`` on the whole set in one call (as the feature cache calls it; CPU with
``--threads``, 2 by default, and CUDA when present), once with librosa's settings (the default
``FbankConfig``: periodic Hann, 25/10 ms, n_fft 512, 128 Slaney mels, dB with top_db 80) and
once with the AST authors' Kaldi settings (``FbankConfig.kaldi_like()``), against
``librosa.feature.melspectrogram`` + ``power_to_db`` clip by clip with librosa's settings.
One warm-up call of each, then ``--rounds`` interleaved rounds (``ast_lab.timing.time_rounds``:
every round times each variant once, the order turning every round). The headline is the
median over rounds of the per-round ratio ours / librosa (below 1: ours is faster) with its
range (min, max over rounds); with it, each variant's median ms per clip. (One timed pass of
each, as this script did before, gave 0.22 on one machine and 0.56 on another.) Checks that
ours with librosa's settings agrees with librosa to 1e-3 dB and writes
``benchmarks/results/fbank_speed.json``.

    python benchmarks/fbank_speed.py                        # 200 clips, 7 rounds
    python benchmarks/fbank_speed.py --quick --threads 1    # 8 clips, 3 rounds; no JSON
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import warnings
from pathlib import Path
from typing import Optional

import librosa
import numpy as np
import torch

from ast_lab import features
from ast_lab.audio import load_audio, pad_or_crop
from ast_lab.config import FbankConfig
from ast_lab.timing import Spread, time_rounds
from bench_cli import add_run_options, parse_run_args, write_report

CLIP_SECONDS = 5.0
THREADS = 2
DB_TOLERANCE = 1e-3  # dB, as tests/test_features_vs_librosa.py
RESULTS = Path(__file__).parent / "results" / "fbank_speed.json"
ESC50 = Path(__file__).resolve().parents[2] / "shared" / "esc50"  # beside the repository
FULL = dict(clips=200, rounds=7)
QUICK = dict(clips=8, rounds=3)


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


def esc50_clips(root: Path, n_clips: int, sample_rate: int) -> Optional[np.ndarray]:
    """The first ``n_clips`` recordings of ``root/audio`` (sorted by name) as ``(n_clips,
    samples)`` float32 at ``sample_rate``, each cut or zero-padded to 5 s; None if too few."""
    paths = sorted((root / "audio").glob("*.*"))[:n_clips] if (root / "audio").is_dir() else []
    if len(paths) < n_clips:
        return None
    n = int(CLIP_SECONDS * sample_rate)
    return np.stack([pad_or_crop(load_audio(path, sample_rate), n) for path in paths])


def librosa_fbank(clip: np.ndarray, cfg: FbankConfig) -> np.ndarray:
    """librosa's log-mel ``(n_mels, frames)`` with the settings of ``cfg`` (librosa conventions)."""
    power = librosa.feature.melspectrogram(
        y=clip, sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length,
        win_length=cfg.win_length, window=cfg.window, center=cfg.center, pad_mode=cfg.pad_mode,
        power=cfg.power, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax,
        htk=cfg.mel_scale == "htk", norm=cfg.mel_norm,
    )
    return librosa.power_to_db(power, ref=1.0, amin=cfg.amin, top_db=cfg.top_db)


def ms_per_clip(seconds: Spread, n_clips: int) -> dict:
    """Seconds per call (of all ``n_clips``) -> milliseconds per clip: median, range, rounds."""
    return seconds.scaled(1000 / n_clips).to_dict()


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    """Command line -> options, with ``FULL`` or (``--quick``) ``QUICK`` defaults filled in."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, help=f"number of 5 s clips (default {FULL['clips']})")
    parser.add_argument("--rounds", type=int,
                        help=f"interleaved timed rounds (default {FULL['rounds']})")
    parser.add_argument("--threads", type=int, default=THREADS,
                        help=f"CPU threads for ours (default {THREADS})")
    parser.add_argument("--esc50", type=Path, default=ESC50,
                        help=f"ESC-50 folder for real clips (default {ESC50}); synthetic "
                        "clips when it is missing")
    add_run_options(parser, QUICK, RESULTS)
    return parse_run_args(parser, argv, FULL, QUICK, RESULTS)


def main(argv: Optional[list[str]] = None) -> dict:
    """Run the benchmark, print its summary, write the JSON (see ``--out``) and return it."""
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg, kaldi = FbankConfig(), FbankConfig.kaldi_like()
    # Kaldi's 128 mels from 20 Hz leave filter 3 without an FFT bin at n_fft 512 (torchaudio's
    # too); fbank warns about it on every call, which would repeat in every round
    warnings.filterwarnings("ignore", message="Empty filters", category=UserWarning)
    clips = esc50_clips(args.esc50, args.clips, cfg.sample_rate)
    source = f"ESC-50 ({args.esc50})"
    if clips is None:
        clips, source = synthetic_clips(args.clips, cfg.sample_rate), "synthetic"
    load_before = os.getloadavg()

    ours = features.fbank(clips, cfg)  # (clips, n_mels, frames)
    reference = np.stack([librosa_fbank(clip, cfg) for clip in clips])
    max_db_diff = float(np.abs(ours.numpy() - reference).max())
    variants = {
        "ours_cpu": lambda: features.fbank(clips, cfg),
        "ours_cpu_kaldi": lambda: features.fbank(clips, kaldi),
        "librosa": lambda: [librosa_fbank(clip, cfg) for clip in clips],
    }
    synchronize = None
    if torch.cuda.is_available():
        on_gpu = torch.from_numpy(clips).cuda()
        variants["ours_cuda"] = lambda: features.fbank(on_gpu, cfg)
        synchronize = torch.cuda.synchronize
    timed = time_rounds(variants, reference="librosa", rounds=args.rounds, warmup=1,
                        synchronize=synchronize)

    result = {
        "torch": torch.__version__,
        "librosa": librosa.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "load_average_1min_before": round(load_before[0], 2),
        "threads": torch.get_num_threads(),
        "clips": source,
        "n_clips": args.clips,
        "clip_seconds": CLIP_SECONDS,
        "rounds": args.rounds,
        "orders": timed.to_dict()["orders"],
        "config": dataclasses.asdict(cfg),
        "config_kaldi": dataclasses.asdict(kaldi),
        "output_shape": list(ours.shape),
        "ms_per_clip": {name: ms_per_clip(timed.seconds[name], args.clips) for name in variants},
        "ratio_to_librosa": {
            name: timed.ratio(name).to_dict() for name in variants if name != "librosa"
        },
        "max_abs_db_diff": max_db_diff,
        "db_tolerance": DB_TOLERANCE,
    }
    if "ours_cuda" in variants:
        result["cuda_device"] = torch.cuda.get_device_name()
        gpu_diff = (features.fbank(on_gpu, cfg).cpu() - ours).abs().max()
        result["max_abs_db_diff_cuda_vs_cpu"] = float(gpu_diff)

    ms = result["ms_per_clip"]
    ratio, kaldi_ratio = timed.ratio("ours_cpu"), timed.ratio("ours_cpu_kaldi")
    print(
        f"{args.clips} {source} clips of {CLIP_SECONDS:g} s, {args.rounds} rounds, median "
        f"(min-max): librosa {ms['librosa']['median']:.3f} ms/clip; ours (CPU, {args.threads} "
        f"threads) {ms['ours_cpu']['median']:.3f} ms/clip, ratio {ratio.median:.3f} "
        f"({ratio.low:.3f}-{ratio.high:.3f}), max |dB diff| {max_db_diff:.2e}; ours Kaldi-like "
        f"{ms['ours_cpu_kaldi']['median']:.3f} ms/clip, ratio {kaldi_ratio.median:.3f} "
        f"({kaldi_ratio.low:.3f}-{kaldi_ratio.high:.3f})"
    )
    if "ours_cuda" in variants:
        print(f"CUDA ({result['cuda_device']}): {ms['ours_cuda']['median']:.4f} ms/clip, ratio "
              f"to librosa {timed.ratio('ours_cuda').median:.4f}")
    write_report(result, args.out)
    if max_db_diff > DB_TOLERANCE:
        raise SystemExit(f"outputs differ by {max_db_diff:.2e} dB > {DB_TOLERANCE} dB")
    return result


if __name__ == "__main__":
    main()
