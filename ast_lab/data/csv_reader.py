"""The metadata CSV as rows: decode its text, check its header, number its lines.

Spreadsheets save CSV in several encodings, and the bytes say which one only through a
byte-order mark (BOM). So the text is read as UTF-16 when it starts with a UTF-16 BOM (Excel's
"Unicode Text"), and otherwise as UTF-8, with or without a BOM (Excel's "CSV UTF-8" writes
one, which would otherwise glue itself to the first column's name). Anything else is refused,
naming the CSV, the line and the byte that is not UTF-8, and saying how to fix it: a
Latin-1 or Windows-1252 file cannot be told apart from other 8-bit encodings by its bytes, and
guessing wrong would silently misspell class names in every result, while saving the file as
UTF-8 once fixes it for good.
"""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path
from typing import Sequence

SAVE_AS_UTF8 = 'save it as UTF-8 (in Excel: Save As > "CSV UTF-8")'


def read_csv_text(csv_path: Path) -> str:
    """The text of ``csv_path``: UTF-16 after a UTF-16 BOM, else UTF-8 (a BOM is dropped).
    Raises ValueError naming the file, the line and the offending byte when it is neither."""
    data = csv_path.read_bytes()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as err:
            raise ValueError(f"{csv_path}: not valid UTF-16 ({err.reason} at byte "
                             f"{err.start}); {SAVE_AS_UTF8}") from None
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise ValueError(f"{csv_path}, line {line}: NUL bytes, as in UTF-16 without a "
                         f"byte-order mark; {SAVE_AS_UTF8}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ValueError(
            f"{csv_path}, line {line}: byte 0x{data[err.start]:02x} (at byte {err.start}) is "
            f"not UTF-8, so the file is in another encoding (Latin-1 or Windows-1252?); "
            f"{SAVE_AS_UTF8}"
        ) from None


def read_rows(csv_path: Path, required: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    """The CSV's data rows as (line number, row) pairs (the header is line 1), after checking
    that the header has every column of ``required``."""
    if not csv_path.is_file():
        raise ValueError(f"metadata file {csv_path} not found (expected <root>/meta/esc50.csv)")
    reader = csv.DictReader(io.StringIO(read_csv_text(csv_path), newline=""))
    header = reader.fieldnames or []
    missing = [c for c in required if c not in header]
    if missing:
        raise ValueError(
            f"{csv_path}: missing column(s) {', '.join(missing)} "
            f"(header is {','.join(header) or 'empty'}; needs {','.join(required)})"
        )
    rows = [(reader.line_num, row) for row in reader]
    if not rows:
        raise ValueError(f"{csv_path}: no clips listed")
    return rows
