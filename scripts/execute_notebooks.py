"""Execute the notebooks and save their outputs into the committed ``.ipynb`` files.

    python scripts/execute_notebooks.py              # all of notebooks/NN_*.py
    python scripts/execute_notebooks.py notebooks/03_attention.py

Each jupytext ``.py`` script (the source) is run top to bottom in a fresh kernel and written
to its paired ``.ipynb`` with every output, so the notebooks read on GitHub without running.
Every notebook runs with its full settings (``AST_LAB_QUICK=0``; 04 trains the demo's models,
about 2-3 minutes on 2 CPU cores), so the saved pages show real numbers, and with
``AST_LAB_NO_DATASET_AUDIO=1``, so no licensed dataset recording (ESC-50 is CC BY-NC) is
embedded in a committed page (``ast_lab.mistakes``). A notebook whose file would
exceed ``MAX_BYTES`` is not written: the script names it and exits non-zero. Runs write into a
temporary ``AST_LAB_HOME``, never into the user's.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from queue import Empty
from typing import Any, Optional

import jupytext
from jupyter_core.utils import ensure_async
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
MAX_BYTES = 3 * 2**20  # GitHub shows notebooks up to a few MB; ours stay under 3 MB
TIMEOUT_S = 1200  # per cell
POLL_S = 0.5  # longest single wait for a kernel reply (see SlicedWaitClient)


class SlicedWaitClient(NotebookClient):
    """A notebook client that waits for each kernel reply in short slices.

    nbclient waits for a cell's reply with one wait as long as the cell's timeout, and after a
    cell that shows an ``ipywidgets.interactive`` that wait can miss the reply until it times
    out (jupyter/nbclient#312): every explorer cell then took the whole timeout. Asking again
    every ``POLL_S`` seconds sees the reply at once; the cell's deadline is unchanged.
    """

    async def async_start_new_kernel_client(self) -> Any:
        client = await super().async_start_new_kernel_client()
        wait = client.shell_channel.get_msg

        async def sliced(timeout: Optional[float] = None, **kwargs: Any) -> dict[str, Any]:
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                left = POLL_S if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    return await ensure_async(wait(timeout=min(POLL_S, left), **kwargs))
                except Empty:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise

        client.shell_channel.get_msg = sliced
        return client


def execute(script: Path, home: Path) -> bytes:
    """Run ``script`` (a jupytext percent script) in a fresh kernel; the ``.ipynb`` as bytes."""
    notebook = jupytext.read(script)
    env = {"AST_LAB_HOME": str(home), "MPLBACKEND": "module://matplotlib_inline.backend_inline",
           "AST_LAB_QUICK": "0", "AST_LAB_NO_DATASET_AUDIO": "1"}
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        SlicedWaitClient(notebook, timeout=TIMEOUT_S, kernel_name="python3",
                         resources={"metadata": {"path": str(script.parent)}}).execute()
    finally:
        for key, value in saved.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)
    return jupytext.writes(notebook, fmt="ipynb").encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scripts", nargs="*", type=Path,
                        help="notebook scripts (default: every notebooks/NN_*.py)")
    args = parser.parse_args(argv)
    scripts = args.scripts or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))
    failed = []
    with tempfile.TemporaryDirectory(prefix="ast-lab-notebooks-") as home:
        for script in scripts:
            start = time.perf_counter()
            data = execute(script.resolve(), Path(home))
            target = script.with_suffix(".ipynb")
            if len(data) > MAX_BYTES:
                print(f"{target}: {len(data) / 2**20:.2f} MB with outputs, over the "
                      f"{MAX_BYTES / 2**20:.0f} MB limit; not written", file=sys.stderr)
                failed.append(target)
                continue
            target.write_bytes(data)
            print(f"{target}: executed in {time.perf_counter() - start:.0f} s, "
                  f"{len(data) / 2**20:.2f} MB")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
