"""What the benchmark scripts share: ``--quick`` and ``--out`` with their defaults, and writing
the JSON report. (Imported by the scripts as a sibling module: their folder is on ``sys.path``
when they run, and tests/conftest.py's ``import_benchmark`` puts it there too.)"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Optional, Sequence


def add_run_options(
    parser: argparse.ArgumentParser, quick: dict[str, Any], results: Path, also: str = ""
) -> None:
    """``--quick`` (a smoke run: the ``quick`` defaults, ``also`` said after them in its help)
    and ``--out`` (the JSON to write; default ``results``, or nothing in a quick run)."""
    settings = ", ".join([f"{k} {v}" for k, v in quick.items()] + ([also] if also else []))
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {settings}; writes no JSON unless --out is given")
    parser.add_argument("--out", type=Path, help=f"JSON to write (default {results})")


def parse_run_args(
    parser: argparse.ArgumentParser,
    argv: Optional[Sequence[str]],
    full: dict[str, Any],
    quick: dict[str, Any],
    results: Path,
) -> argparse.Namespace:
    """Parse ``argv``: the options in ``full`` / ``quick`` that were not given take their
    default of a full run or (``--quick``) a smoke run; ``--out`` defaults to ``results``
    except in a smoke run."""
    args = parser.parse_args(argv)
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.out is None and not args.quick:
        args.out = results
    return args


def write_report(result: dict[str, Any], out: Optional[Path]) -> None:
    """``result`` as indented JSON to ``out`` (its folder made if needed); nothing if None."""
    if out is None:
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
