"""Fixtures shared by the data-layer tests; test modules register them with
``pytest_plugins = ["data_fixtures"]`` (helpers they call directly live in ``data_helpers``).

Datasets made here are small and made once per session; a test that changes a dataset works
on a clone (``data_helpers.clone_dataset``), never on the shared copy.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from data_helpers import write_esc50_layout

from ast_lab.data import make_synthetic_dataset


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty ``AST_LAB_HOME`` for this test."""
    folder = tmp_path / "home"
    monkeypatch.setenv("AST_LAB_HOME", str(folder))
    return folder


@pytest.fixture(scope="session")
def synthetic_small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic set at test size: 12 classes x 5 folds x 2 clips of 0.5 s (don't modify)."""
    root = tmp_path_factory.mktemp("synthetic") / "small"
    return make_synthetic_dataset(root, n_per_class_per_fold=2, seconds=0.5)


@pytest.fixture(scope="session")
def esc50_standin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2,000 silent 0.05 s clips at 44.1 kHz in ESC-50's exact layout (don't modify)."""
    return write_esc50_layout(tmp_path_factory.mktemp("esc50") / "ESC-50-master")
