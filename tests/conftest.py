"""Shared pytest fixtures. Keep this small: one fixture per shared resource."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def fsdd_dir() -> Path:
    """The spoken-digit recordings in ESC-50 layout (``../shared/fsdd``); skips when absent."""
    path = REPO_ROOT.parent / "shared" / "fsdd"
    if not (path / "meta" / "esc50.csv").is_file():
        pytest.skip(f"FSDD recordings not found at {path}")
    return path


@pytest.fixture(scope="session")
def import_benchmark():
    """``import_benchmark("kfold")``: a script of ``benchmarks/`` (not a package) as a module.

    It is registered in ``sys.modules`` (dataclasses look their module up there), and
    ``benchmarks/`` is put on ``sys.path``, as when a script runs: for the scripts' shared
    ``bench_cli`` and for processes they spawn, which import a script by name. Both are undone
    when the session ends.
    """
    imported = []
    folder = str(REPO_ROOT / "benchmarks")
    sys.path.insert(0, folder)

    def load(name: str) -> ModuleType:
        spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "benchmarks" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        imported.append(name)
        return module

    yield load
    sys.path.remove(folder)
    for name in imported + ["bench_cli"]:
        sys.modules.pop(name, None)


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a module's torch ops on one thread (opt in with ``pytest.mark.usefixtures``).

    For many small tensors intra-op threads only add hand-offs, and when other processes share
    the cores each hand-off can wait a whole scheduler slice (tens of times slower).
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
