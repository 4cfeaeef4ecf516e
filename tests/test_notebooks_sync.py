"""Each notebook's jupytext percent script (the source) and its .ipynb twin hold the same cells,
and the committed twin carries the outputs of a full run (``make notebooks``), so it reads on
GitHub without running."""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
MAX_BYTES = 3 * 2**20  # as scripts/execute_notebooks.py
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


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_committed_notebook_was_executed_top_to_bottom_without_errors(script: Path):
    twin = script.with_suffix(".ipynb")
    assert twin.stat().st_size <= MAX_BYTES, f"{twin.name} is over 3 MB"
    code = [cell for cell in nbformat.read(twin, as_version=4).cells if cell.cell_type == "code"]
    counts = [cell.get("execution_count") for cell in code]
    assert None not in counts, f"{twin.name}: cell {counts.index(None)} was not executed: run make notebooks"
    assert counts == sorted(counts), f"{twin.name}: cells were run out of order: run make notebooks"
    errors = [o for cell in code for o in cell.outputs if o.output_type == "error"]
    assert not errors, f"{twin.name}: a saved output is an error: {errors[0].get('ename')}"
    pictures = sum("image/png" in o.get("data", {}) for cell in code for o in cell.outputs)
    assert pictures >= 5, f"{twin.name} shows only {pictures} pictures"


@pytest.mark.parametrize("script", [s for s in SCRIPTS if s.stem[:2] in {"01", "02", "03"}],
                         ids=lambda p: p.stem)
def test_real_sounds_come_with_a_player(script: Path):
    notebook = nbformat.read(script.with_suffix(".ipynb"), as_version=4)
    html = [o["data"]["text/html"] for cell in notebook.cells if cell.cell_type == "code"
            for o in cell.outputs if "text/html" in o.get("data", {})]
    players = sum(page.count("<audio controls") for page in html)
    assert players >= 1, f"{script.stem}: no audio player in the saved outputs"
