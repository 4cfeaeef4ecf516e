"""Clip metadata in the ESC-50 layout: read ``meta/esc50.csv``, validate every row, select clips.

The CSV has one row per clip: ``filename,fold,target,category,esc10,src_file,take``. Every
problem is reported as a ``ValueError`` naming the CSV and the line (the header is line 1), so
a broken dataset is fixed in one look instead of debugged from a stack trace.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence, Union

import numpy as np

from .csv_reader import read_rows
from .paths import audio_dir, metadata_csv

ESC50_COLUMNS = ("filename", "fold", "target", "category", "esc10", "src_file", "take")
REQUIRED_COLUMNS = ("filename", "fold", "target", "category")  # any dataset in the layout
ESC50_CLIPS = 2000
ESC50_CLASSES = 50
ESC50_FOLDS = (1, 2, 3, 4, 5)
ESC50_SAMPLE_RATE = 44_100  # Hz; every ESC-50 clip is 5 s of 44.1 kHz mono
MAX_LISTED = 5  # how many offending rows an error message names

IndexLike = Union[np.ndarray, Sequence[int], Sequence[bool]]


@dataclass(frozen=True, eq=False)
class Metadata:
    """The clips of one dataset, one entry per clip, in CSV order.

    ``targets`` are contiguous class indices 0..K-1 into ``class_names``; ``class_targets``
    keeps each class's own number in the CSV (ESC-10's 0, 1, 10, 11, ... stay visible in
    results). Classes are ordered by that number, so ESC-50's ``esc10`` subset and a folder
    holding the same clips give the same class order. ``expected_rate`` and ``mono`` say how the
    audio must be read: ESC-50 requires 44.1 kHz mono files, other datasets accept any rate and
    downmix.
    """

    root: Path  # dataset folder holding meta/esc50.csv and audio/
    filenames: list[str]  # file names inside audio/
    folds: np.ndarray  # (n_clips,) int64 fold id of each clip
    targets: np.ndarray  # (n_clips,) int64 class index of each clip
    categories: list[str]  # class name of each clip
    src_files: list[str]  # recording each clip was cut from; clips of one source stay together
    esc10: np.ndarray  # (n_clips,) bool, True for ESC-10 clips
    class_names: list[str]  # (num_classes,) name of each class index
    class_targets: list[int]  # (num_classes,) the CSV's own target number of each class index
    csv_lines: np.ndarray  # (n_clips,) int64 line of each clip in the CSV (header is line 1)
    expected_rate: int | None = None  # Hz every file must have; None accepts any (resampled)
    mono: Literal["downmix", "require"] = "downmix"  # stereo files: average, or reject

    def __len__(self) -> int:
        return len(self.filenames)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def fold_ids(self) -> tuple[int, ...]:
        """The folds present, ascending."""
        return tuple(int(f) for f in np.unique(self.folds))

    @property
    def csv_path(self) -> Path:
        return metadata_csv(self.root)

    def audio_path(self, index: int) -> Path:
        """Path of clip ``index``'s audio file."""
        return audio_dir(self.root) / self.filenames[index]

    def where(self, index: int) -> str:
        """Where clip ``index`` is listed, for error messages: CSV, line and file name."""
        return f"{self.csv_path}, line {self.csv_lines[index]} ({self.filenames[index]})"

    def subset(self, mask_or_indices: IndexLike) -> "Metadata":
        """The clips selected by a boolean mask or integer indices; targets and class names
        are kept as they are."""
        index = _as_indices(mask_or_indices, len(self))
        return dataclasses.replace(
            self,
            filenames=[self.filenames[i] for i in index],
            folds=self.folds[index],
            targets=self.targets[index],
            categories=[self.categories[i] for i in index],
            src_files=[self.src_files[i] for i in index],
            esc10=self.esc10[index],
            csv_lines=self.csv_lines[index],
        )

    def esc10_only(self) -> "Metadata":
        """The ESC-10 clips, class indices renumbered 0..9 in the order of the original
        targets; ``class_targets`` keeps ESC-50's numbers (0, 1, 10, 11, ...)."""
        if not self.esc10.any():
            raise ValueError(f"{self.csv_path}: no clip is flagged esc10=True")
        chosen = self.subset(self.esc10)
        kept = np.unique(chosen.targets)  # class indices, ascending
        new_index = np.full(self.num_classes, -1, dtype=np.int64)
        new_index[kept] = np.arange(len(kept))
        esc10 = dataclasses.replace(
            chosen,
            targets=new_index[chosen.targets],
            class_names=[self.class_names[t] for t in kept],
            class_targets=[self.class_targets[t] for t in kept],
        )
        _check_folds_and_classes(esc10, "esc10=True ")
        return esc10


def load_metadata(root: str | Path, *, esc50: bool = False) -> Metadata:
    """Read and validate ``<root>/meta/esc50.csv``.

    Any dataset needs the columns filename, fold, target, category; ``esc10`` (default False)
    and ``src_file`` (default: the file name without extension, one source per clip) are
    optional. Folds are positive integers; targets are non-negative integers with one category
    per target and vice versa, mapped to class indices 0..K-1 in ascending target order (gaps,
    as in ESC-10's 0, 1, 10, ..., are allowed); file names are unique and every listed file
    exists in ``audio/``; there are at least 2 folds (for cross-validation) and 2 classes. With
    ``esc50=True`` all seven ESC-50 columns are required, folds are 1-5, targets 0-49, and the
    whole set must be 2,000 clips in 50 classes; the audio must then be 44.1 kHz mono.
    """
    root = Path(root)
    csv_path = metadata_csv(root)
    rows = read_rows(csv_path, ESC50_COLUMNS if esc50 else REQUIRED_COLUMNS)
    filenames, folds, targets, categories, src_files, esc10, lines = [], [], [], [], [], [], []
    for line, row in rows:
        filenames.append(_parse_filename(csv_path, line, row["filename"]))
        folds.append(_parse_fold(csv_path, line, row["fold"], esc50))
        targets.append(_parse_target(csv_path, line, row["target"], esc50))
        categories.append(_parse_text(csv_path, line, "category", row["category"]))
        src_default = Path(row["filename"]).stem
        src_files.append(_parse_text(csv_path, line, "src_file", row.get("src_file", src_default)))
        esc10.append(_parse_bool(csv_path, line, "esc10", row.get("esc10", "False")))
        lines.append(line)
    _check_unique(csv_path, filenames, lines)
    class_targets, class_names = _classes(csv_path, targets, categories, lines)
    _check_files_present(root, csv_path, filenames, lines)
    index_of = {target: index for index, target in enumerate(class_targets)}
    metadata = Metadata(
        root=root,
        filenames=filenames,
        folds=np.asarray(folds, dtype=np.int64),
        targets=np.asarray([index_of[t] for t in targets], dtype=np.int64),
        categories=categories,
        src_files=src_files,
        esc10=np.asarray(esc10, dtype=bool),
        class_names=class_names,
        class_targets=class_targets,
        csv_lines=np.asarray(lines, dtype=np.int64),
        expected_rate=ESC50_SAMPLE_RATE if esc50 else None,
        mono="require" if esc50 else "downmix",
    )
    if esc50:
        _check_esc50_totals(metadata)
    _check_folds_and_classes(metadata)
    return metadata


def _row_error(csv_path: Path, line: int, message: str) -> ValueError:
    return ValueError(f"{csv_path}, line {line}: {message}")


def _parse_text(csv_path: Path, line: int, column: str, text: str | None) -> str:
    if not text or not text.strip():
        raise _row_error(csv_path, line, f"empty {column}")
    return text.strip()


def _parse_filename(csv_path: Path, line: int, text: str | None) -> str:
    name = _parse_text(csv_path, line, "filename", text)
    if Path(name).name != name or name in (".", ".."):
        raise _row_error(csv_path, line, f"filename {name!r} must be a bare file name in audio/")
    return name


def _parse_int(csv_path: Path, line: int, column: str, text: str | None) -> int:
    value = _parse_text(csv_path, line, column, text)
    try:
        return int(value)
    except ValueError:
        raise _row_error(csv_path, line, f"{column} {value!r} is not an integer") from None


def _parse_fold(csv_path: Path, line: int, text: str | None, esc50: bool) -> int:
    fold = _parse_int(csv_path, line, "fold", text)
    if esc50 and fold not in ESC50_FOLDS:
        raise _row_error(csv_path, line, f"unknown fold {fold} (ESC-50 has folds 1-5)")
    if fold < 1:
        raise _row_error(csv_path, line, f"unknown fold {fold} (folds are positive integers)")
    return fold


def _parse_target(csv_path: Path, line: int, text: str | None, esc50: bool) -> int:
    target = _parse_int(csv_path, line, "target", text)
    if target < 0 or (esc50 and target >= ESC50_CLASSES):
        limit = f"0-{ESC50_CLASSES - 1}" if esc50 else ">= 0"
        raise _row_error(csv_path, line, f"target {target} out of range ({limit})")
    return target


def _parse_bool(csv_path: Path, line: int, column: str, text: str | None) -> bool:
    value = (text or "").strip().lower()
    if value not in ("true", "false"):
        raise _row_error(csv_path, line, f"{column} {text!r} is neither True nor False")
    return value == "true"


def _check_unique(csv_path: Path, filenames: list[str], lines: list[int]) -> None:
    first_line: dict[str, int] = {}
    for name, line in zip(filenames, lines):
        if name in first_line:
            message = f"duplicate filename {name} (also on line {first_line[name]})"
            raise _row_error(csv_path, line, message)
        first_line[name] = line


def _classes(
    csv_path: Path, targets: list[int], categories: list[str], lines: list[int]
) -> tuple[list[int], list[str]]:
    """The distinct targets, ascending, and the category of each, checking that targets and
    categories correspond one to one."""
    category_of: dict[int, tuple[str, int]] = {}
    target_of: dict[str, tuple[int, int]] = {}
    for target, category, line in zip(targets, categories, lines):
        known_category, first = category_of.setdefault(target, (category, line))
        if known_category != category:
            message = f"target {target} is {category!r} here but {known_category!r} on line {first}"
            raise _row_error(csv_path, line, message)
        known_target, first = target_of.setdefault(category, (target, line))
        if known_target != target:
            message = f"category {category!r} is target {target} here but {known_target}"
            raise _row_error(csv_path, line, f"{message} on line {first}")
    class_targets = sorted(category_of)
    return class_targets, [category_of[t][0] for t in class_targets]


def _check_files_present(
    root: Path, csv_path: Path, filenames: list[str], lines: list[int]
) -> None:
    folder = audio_dir(root)
    present = set(os.listdir(folder)) if folder.is_dir() else set()
    missing = [(name, line) for name, line in zip(filenames, lines) if name not in present]
    if missing:
        listed = ", ".join(f"{name} (line {line})" for name, line in missing[:MAX_LISTED])
        more = f" and {len(missing) - MAX_LISTED} more" if len(missing) > MAX_LISTED else ""
        raise ValueError(
            f"{csv_path}: {len(missing)} listed file(s) missing from {folder}: {listed}{more}"
        )


def _check_esc50_totals(metadata: Metadata) -> None:
    found = (len(metadata), metadata.num_classes, metadata.fold_ids)
    if found != (ESC50_CLIPS, ESC50_CLASSES, ESC50_FOLDS):
        raise ValueError(
            f"{metadata.csv_path}: ESC-50 has {ESC50_CLIPS} clips in {ESC50_CLASSES} classes and "
            f"folds 1-5; this CSV lists {found[0]} clips in {found[1]} classes and folds "
            f"{', '.join(map(str, found[2]))}"
        )


def _check_folds_and_classes(metadata: Metadata, which: str = "") -> None:
    """Refuse a dataset that cannot be cross-validated (one fold) or classified (one class);
    ``which`` qualifies the clips in the message (e.g. "esc10=True ")."""
    clips = f"all {len(metadata)} {which}clips"
    if len(metadata.fold_ids) < 2:
        raise ValueError(
            f"{metadata.csv_path}: {clips} are in fold {metadata.fold_ids[0]} (column fold); "
            "k-fold cross-validation needs at least 2 folds: number the folds 1..k"
        )
    if metadata.num_classes < 2:
        raise ValueError(
            f"{metadata.csv_path}: {clips} are of class {metadata.class_names[0]!r} (columns "
            f"target and category); a classifier needs at least 2 classes"
        )


def _as_indices(mask_or_indices: IndexLike, n: int) -> np.ndarray:
    """Integer indices from a boolean mask of length ``n`` or from integer indices."""
    index = np.asarray(mask_or_indices)
    if index.dtype == bool:
        if index.shape != (n,):
            raise ValueError(f"boolean mask has shape {index.shape}, expected ({n},)")
        return np.flatnonzero(index)
    if index.size == 0:
        return np.zeros(0, dtype=np.int64)
    if not np.issubdtype(index.dtype, np.integer):
        raise TypeError(f"select clips with a boolean mask or integer indices, not {index.dtype}")
    if index.min() < -n or index.max() >= n:
        raise IndexError(f"clip index out of range for {n} clips")
    return index.astype(np.int64)
