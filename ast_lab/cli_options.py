"""Options shared by several ``ast-lab`` subcommands: which data (``add_data_arguments``), which
features (``add_fbank_arguments``), which folds (``parse_folds``), and the check that an output
folder option names a folder (``check_out_folder``)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Callable, Optional

from .config import DataConfig, FbankConfig

FBANK_PRESETS: dict[str, Callable[[], FbankConfig]] = {
    "default": FbankConfig.librosa_like,
    "kaldi": FbankConfig.kaldi_like,
}


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """--data, --root, --download, --seconds, --esc10: which clips, and how long."""
    parser.add_argument(
        "--data", choices=["synthetic", "esc50", "folder"], default="synthetic",
        help="the built-in synthetic set (default), ESC-50, or any folder in its layout",
    )
    parser.add_argument("--root", help="dataset folder (required for --data folder)")
    parser.add_argument("--download", action="store_true", help="download ESC-50 if it is missing")
    parser.add_argument(
        "--seconds", type=float, help="pad/crop clips to this length (default: the source's own)"
    )
    parser.add_argument("--esc10", action="store_true", help="keep only ESC-50's 10-class subset")


def data_config_from_args(args: argparse.Namespace) -> DataConfig:
    """The ``DataConfig`` the data options name."""
    return DataConfig(source=args.data, root=args.root, clip_seconds=args.seconds, esc10=args.esc10)


def add_fbank_arguments(parser: argparse.ArgumentParser) -> None:
    """--fbank, --n-mels: which FBANK settings."""
    parser.add_argument(
        "--fbank", choices=sorted(FBANK_PRESETS),
        help="FBANK settings: librosa's defaults (default), or the AST authors' Kaldi recipe",
    )
    parser.add_argument("--n-mels", type=int, help="mel bands (default: the preset's 128)")


def fbank_config_from_args(args: argparse.Namespace) -> FbankConfig:
    """The ``FbankConfig`` the FBANK options name."""
    cfg = FBANK_PRESETS[args.fbank or "default"]()
    return cfg if args.n_mels is None else dataclasses.replace(cfg, n_mels=args.n_mels)


def parse_folds(text: str) -> list[int]:
    """"1,2,5" -> [1, 2, 5]."""
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"folds must be comma-separated integers, got {text!r}")


def check_out_folder(path: Optional[Path], option: str = "--out") -> None:
    """ValueError, before any work, when the folder option ``option`` names a file or a path
    through one."""
    if path is None:
        return
    nearest = next((p for p in (path, *path.parents) if p.exists()), None)
    if nearest is not None and not nearest.is_dir():
        where = "" if nearest == path else f": {nearest} is a file"
        raise ValueError(f"{option} {path} is not a folder{where}; choose another {option}")
