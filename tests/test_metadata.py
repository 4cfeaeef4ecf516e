"""load_metadata: the ESC-50 table, validated row by row; Metadata selection."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from data_helpers import ESC10_CATEGORIES, ESC50_CATEGORIES, clone_dataset, edit_csv

from ast_lab.data import SYNTHETIC_CLASSES, load_metadata

pytest_plugins = ["data_fixtures"]

Rows = list[list[str]]


def set_cell(row_index: int, column: str, value: str) -> Callable[[Rows], Rows]:
    """An edit that sets one cell; ``row_index`` counts data rows from 0 (on CSV line
    row_index + 2)."""

    def edit(rows: Rows) -> Rows:
        rows[row_index + 1][rows[0].index(column)] = value
        return rows

    return edit


def drop_column(column: str) -> Callable[[Rows], Rows]:
    def edit(rows: Rows) -> Rows:
        keep = [i for i, name in enumerate(rows[0]) if name != column]
        return [[row[i] for i in keep] for row in rows]

    return edit


def test_synthetic_set_metadata(synthetic_small: Path) -> None:
    meta = load_metadata(synthetic_small)
    assert len(meta) == 12 * 5 * 2
    assert meta.class_names == list(SYNTHETIC_CLASSES)
    assert meta.fold_ids == (1, 2, 3, 4, 5)
    assert np.bincount(meta.targets).tolist() == [10] * 12
    assert meta.csv_lines.tolist() == list(range(2, 2 + len(meta)))
    assert meta.expected_rate is None and meta.mono == "downmix"


def test_esc50_standin_passes_esc50_validation(esc50_standin: Path) -> None:
    meta = load_metadata(esc50_standin, esc50=True)
    assert (len(meta), meta.num_classes, meta.fold_ids) == (2000, 50, (1, 2, 3, 4, 5))
    assert meta.class_names == ESC50_CATEGORIES
    assert meta.filenames[0] == "1-100100-A-0.wav"
    assert meta.expected_rate == 44_100 and meta.mono == "require"


def test_esc10_only_reindexes_targets_and_keeps_names(esc50_standin: Path) -> None:
    esc10 = load_metadata(esc50_standin, esc50=True).esc10_only()
    assert len(esc10) == 400
    assert esc10.class_names == ESC10_CATEGORIES
    assert sorted(set(esc10.targets.tolist())) == list(range(10))
    assert esc10.class_targets == [0, 1, 10, 11, 12, 20, 21, 38, 40, 41]  # ESC-50's numbers
    assert all(esc10.class_names[t] == c for t, c in zip(esc10.targets, esc10.categories))


def test_subset_by_mask_and_by_indices(synthetic_small: Path) -> None:
    meta = load_metadata(synthetic_small)
    by_mask = meta.subset(meta.folds == 3)
    assert len(by_mask) == 24 and set(by_mask.folds.tolist()) == {3}
    assert by_mask.class_names == meta.class_names  # targets are not re-indexed
    by_index = meta.subset([5, 0])
    assert by_index.filenames == [meta.filenames[5], meta.filenames[0]]
    assert by_index.csv_lines.tolist() == [7, 2]
    assert len(meta.subset([])) == 0
    with pytest.raises(ValueError, match="mask"):
        meta.subset(np.ones(3, dtype=bool))


def test_optional_columns_get_defaults(synthetic_small: Path, tmp_path: Path) -> None:
    root = clone_dataset(synthetic_small, tmp_path / "d", share_audio=True)
    for column in ("esc10", "src_file", "take"):
        edit_csv(root, drop_column(column))
    meta = load_metadata(root)
    assert meta.src_files[0] == Path(meta.filenames[0]).stem
    assert not meta.esc10.any()


@pytest.mark.parametrize(
    "edit, line, message",
    [
        (set_cell(3, "fold", "x"), 5, "fold 'x' is not an integer"),
        (set_cell(3, "fold", "0"), 5, "unknown fold 0"),
        (set_cell(4, "target", "1.5"), 6, "target '1.5' is not an integer"),
        (set_cell(4, "target", "-1"), 6, "target -1 out of range"),
        (set_cell(1, "category", "laser"), 3, "target 0 is 'laser' here but 'steady_tone' on line"),
        (set_cell(10, "category", "steady_tone"), 12, "'steady_tone' is target 1 here but 0"),
        (set_cell(2, "filename", "../escape.wav"), 4, "must be a bare file name"),
        (set_cell(6, "esc10", "maybe"), 8, "esc10 'maybe' is neither True nor False"),
        (set_cell(7, "category", ""), 9, "empty category"),
    ],
    ids=["fold-text", "fold-zero", "target-float", "target-negative", "target-two-categories",
         "category-two-targets", "filename-path", "esc10-text", "category-empty"],
)  # fmt: skip
def test_bad_rows_are_named_by_file_and_line(
    synthetic_small: Path, tmp_path: Path, edit: Callable[[Rows], Rows], line: int, message: str
) -> None:
    root = clone_dataset(synthetic_small, tmp_path / "d", share_audio=True)
    edit_csv(root, edit)
    with pytest.raises(ValueError) as err:
        load_metadata(root)
    assert str(err.value).startswith(f"{root / 'meta' / 'esc50.csv'}, line {line}: ")
    assert message in str(err.value)


def test_missing_columns_are_listed(synthetic_small: Path, tmp_path: Path) -> None:
    root = clone_dataset(synthetic_small, tmp_path / "d", share_audio=True)
    edit_csv(root, lambda rows: drop_column("fold")(drop_column("target")(rows)))
    with pytest.raises(ValueError, match=r"esc50\.csv: missing column\(s\) fold, target"):
        load_metadata(root)


def test_esc50_requires_all_seven_columns(esc50_standin: Path, tmp_path: Path) -> None:
    root = clone_dataset(esc50_standin, tmp_path / "d", share_audio=True)
    edit_csv(root, drop_column("src_file"))
    load_metadata(root)  # fine for a generic dataset
    with pytest.raises(ValueError, match=r"missing column\(s\) src_file"):
        load_metadata(root, esc50=True)


def test_duplicate_filename(synthetic_small: Path, tmp_path: Path) -> None:
    root = clone_dataset(synthetic_small, tmp_path / "d", share_audio=True)
    edit_csv(root, lambda rows: rows + [rows[1]])
    last_line = len((root / "meta" / "esc50.csv").read_text().splitlines())
    expected = rf"line {last_line}: duplicate filename \S+ \(also on line 2\)"
    with pytest.raises(ValueError, match=expected):
        load_metadata(root)


def test_missing_files_are_listed_with_their_lines(synthetic_small: Path, tmp_path: Path) -> None:
    root = clone_dataset(synthetic_small, tmp_path / "d")
    meta = load_metadata(root)
    for index in (3, 9):
        (root / "audio" / meta.filenames[index]).unlink()
    with pytest.raises(ValueError) as err:
        load_metadata(root)
    message = str(err.value)
    assert "2 listed file(s) missing" in message and str(root / "meta" / "esc50.csv") in message
    assert f"{meta.filenames[3]} (line 5)" in message
    assert f"{meta.filenames[9]} (line 11)" in message


def test_target_gaps_map_to_contiguous_classes(synthetic_small: Path, tmp_path: Path) -> None:
    root = clone_dataset(synthetic_small, tmp_path / "d", share_audio=True)
    full = load_metadata(root)
    edit_csv(root, lambda rows: [r for r in rows if r[rows[0].index("target")] != "3"])
    meta = load_metadata(root)
    assert meta.class_targets == [0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11]
    assert meta.class_names == [n for t, n in enumerate(full.class_names) if t != 3]
    assert sorted(set(meta.targets.tolist())) == list(range(11))  # contiguous indices
    assert all(meta.class_names[t] == c for t, c in zip(meta.targets, meta.categories))


def test_empty_csv_and_missing_csv(synthetic_small: Path, tmp_path: Path) -> None:
    root = clone_dataset(synthetic_small, tmp_path / "d", share_audio=True)
    edit_csv(root, lambda rows: rows[:1])
    with pytest.raises(ValueError, match="no clips listed"):
        load_metadata(root)
    with pytest.raises(ValueError, match="not found"):
        load_metadata(tmp_path / "nowhere")


@pytest.mark.parametrize(
    "edit, message",
    [
        (set_cell(0, "fold", "6"), "line 2: unknown fold 6 (ESC-50 has folds 1-5)"),
        (set_cell(0, "target", "50"), "line 2: target 50 out of range (0-49)"),
        (lambda rows: rows[:-1], "has 2000 clips in 50 classes and folds 1-5; this CSV lists 1999"),
    ],
    ids=["fold", "target", "count"],
)
def test_esc50_ranges_and_totals(
    esc50_standin: Path, tmp_path: Path, edit: Callable[[Rows], Rows], message: str
) -> None:
    root = clone_dataset(esc50_standin, tmp_path / "d", share_audio=True)
    edit_csv(root, edit)
    with pytest.raises(ValueError) as err:
        load_metadata(root, esc50=True)
    assert str(root / "meta" / "esc50.csv") in str(err.value) and message in str(err.value)
