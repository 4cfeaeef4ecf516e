"""Helpers shared by the data-layer tests: ESC-50-layout stand-ins and CSV surgery."""

from __future__ import annotations

import csv
import io
import os
import shutil
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf

from ast_lab.data.metadata import ESC50_COLUMNS

# ESC-50's categories in target order (0-49), and the ten that form ESC-10.
ESC50_CATEGORIES = [
    "dog", "rooster", "pig", "cow", "frog", "cat", "hen", "insects", "sheep", "crow",
    "rain", "sea_waves", "crackling_fire", "crickets", "chirping_birds", "water_drops", "wind",
    "pouring_water", "toilet_flush", "thunderstorm", "crying_baby", "sneezing", "clapping",
    "breathing", "coughing", "footsteps", "laughing", "brushing_teeth", "snoring",
    "drinking_sipping", "door_wood_knock", "mouse_click", "keyboard_typing", "door_wood_creaks",
    "can_opening", "washing_machine", "vacuum_cleaner", "clock_alarm", "clock_tick",
    "glass_breaking", "helicopter", "chainsaw", "siren", "car_horn", "engine", "train",
    "church_bells", "airplane", "fireworks", "hand_saw",
]  # fmt: skip
ESC10_CATEGORIES = [
    "dog", "rooster", "rain", "sea_waves", "crackling_fire", "crying_baby", "sneezing",
    "clock_tick", "helicopter", "chainsaw",
]  # fmt: skip


def write_esc50_layout(
    root: Path,
    *,
    n_classes: int = 50,
    clips_per_class_per_fold: int = 8,
    seconds: float = 0.05,
    sample_rate: int = 44_100,
    noise: bool = False,
) -> Path:
    """A stand-in for ESC-50 at ``root``: mono clips named like ESC-50's
    (``{fold}-{src_file}-{take}-{target}.wav``), its category names and esc10 flags, and
    takes A/B of one source per pair of clips. The clips are silent (one shared file), or with
    ``noise`` each its own seeded white noise (something for a model to train on)."""
    (root / "audio").mkdir(parents=True)
    (root / "meta").mkdir()
    silence = io.BytesIO()
    n_samples = int(round(seconds * sample_rate))
    sf.write(silence, np.zeros(n_samples, dtype=np.float32), sample_rate, format="WAV",
             subtype="PCM_16")
    rng = np.random.default_rng(0)
    rows = []
    for target in range(n_classes):
        category = ESC50_CATEGORIES[target]
        for fold in range(1, 6):
            for k in range(clips_per_class_per_fold):
                src_file, take = str(100000 + 1000 * target + 100 * fold + k // 2), "AB"[k % 2]
                filename = f"{fold}-{src_file}-{take}-{target}.wav"
                if noise:
                    clip = (0.1 * rng.standard_normal(n_samples)).astype(np.float32)
                    sf.write(root / "audio" / filename, clip, sample_rate, subtype="PCM_16")
                else:
                    (root / "audio" / filename).write_bytes(silence.getvalue())
                esc10 = category in ESC10_CATEGORIES
                rows.append([filename, fold, target, category, esc10, src_file, take])
    write_csv(root, [list(ESC50_COLUMNS)] + rows)
    return root


def read_csv(root: Path) -> list[list[str]]:
    """All rows of ``root/meta/esc50.csv``, header first."""
    with open(root / "meta" / "esc50.csv", newline="") as f:
        return list(csv.reader(f))


def write_csv(root: Path, rows: list[list]) -> None:
    with open(root / "meta" / "esc50.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)


def clone_dataset(source: Path, target: Path, *, share_audio: bool = False) -> Path:
    """A copy of the dataset at ``source``; with ``share_audio`` the audio folder is a symlink
    (for tests that change only the CSV)."""
    (target / "meta").mkdir(parents=True)
    shutil.copy2(source / "meta" / "esc50.csv", target / "meta" / "esc50.csv")
    if share_audio:
        os.symlink(source / "audio", target / "audio")
    else:
        shutil.copytree(source / "audio", target / "audio")
    return target


def edit_csv(root: Path, edit: Callable[[list[list[str]]], list[list[str]]]) -> None:
    """Rewrite ``root``'s CSV as ``edit(rows)`` (rows include the header)."""
    write_csv(root, edit(read_csv(root)))
