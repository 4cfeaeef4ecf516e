"""Where data lives: the ESC-50 folder layout and the default folders under ``AST_LAB_HOME``."""

from __future__ import annotations

import errno
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

HOME_ENV = "AST_LAB_HOME"  # environment variable that moves every default folder
DEFAULT_HOME = "~/.cache/ast-lab"

META_CSV = Path("meta") / "esc50.csv"  # the metadata table, relative to a dataset root
AUDIO_DIR = "audio"  # the clips, relative to a dataset root
CACHE_DIR = "cache"  # cached features, under the home folder (never inside a dataset)
WRITE_REFUSED = (errno.EACCES, errno.EPERM, errno.EROFS)  # no permission; read-only file system


def ast_lab_home() -> Path:
    """The folder for downloads, the synthetic set and fallback caches: ``$AST_LAB_HOME`` or
    ``~/.cache/ast-lab``."""
    return Path(os.environ.get(HOME_ENV) or DEFAULT_HOME).expanduser()


def default_esc50_root() -> Path:
    """Where ``download_esc50`` puts ESC-50 unless told otherwise."""
    return ast_lab_home() / "ESC-50-master"


def default_synthetic_root() -> Path:
    """Where the built-in synthetic set is generated unless told otherwise."""
    return ast_lab_home() / "synthetic"


def metadata_csv(root: Path) -> Path:
    """The metadata CSV of the dataset at ``root``."""
    return Path(root) / META_CSV


def audio_dir(root: Path) -> Path:
    """The audio folder of the dataset at ``root``."""
    return Path(root) / AUDIO_DIR


@contextmanager
def refused_writes_as_errors(what: str, fix: str) -> Iterator[None]:
    """Turn a write refused inside the block (no permission, read-only file system) into a
    one-line ValueError naming ``what`` was written, the folder that refused it (the parent of
    the path that could not be made or changed) and ``fix``. Other errors pass unchanged."""
    try:
        yield
    except OSError as err:
        if err.errno not in WRITE_REFUSED:
            raise
        folder = Path(err.filename).parent if err.filename else "its folder"
        raise ValueError(f"cannot write {what} into {folder} ({err.strerror}): {fix}") from err
