"""Each notebook's jupytext percent script (the source) and its .ipynb twin hold the same cells."""

from __future__ import annotations

from pathlib import Path

import jupytext
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
SCRIPTS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))


def _cells(path: Path) -> list[tuple[str, str]]:
    notebook = jupytext.read(path)
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


def test_every_notebook_has_a_script_and_a_twin():
    assert SCRIPTS, "no notebooks found"
    ipynbs = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    assert [p.stem for p in SCRIPTS] == [p.stem for p in ipynbs]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_script_and_ipynb_are_in_sync(script: Path):
    twin = script.with_suffix(".ipynb")
    assert _cells(script) == _cells(twin), (
        f"{twin.name} drifted from {script.name}: run `jupytext --sync {script}`"
    )
    formats = jupytext.read(twin).metadata.get("jupytext", {}).get("formats", "")
    assert "py:percent" in formats and "ipynb" in formats, f"{twin.name} is not paired"
