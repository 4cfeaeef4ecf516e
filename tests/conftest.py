"""Shared pytest fixtures. Keep this small: one fixture per shared resource."""

from __future__ import annotations

from pathlib import Path

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
