"""Reproducibility plumbing for ``ast_lab.training``: seeds, RNG snapshots, atomic files.

A run repeats exactly on CPU when every source of randomness is seeded (``seed_everything``,
a seeded ``torch.Generator`` for shuffling, a seeded NumPy generator for augmentation) and an
interrupted run continues exactly when all of them are snapshotted with the weights
(``rng_states`` / ``restore_rng_states``). Checkpoints are written atomically
(``atomic_files``), so a crash never leaves a half-written one; a damaged one is refused with
a message naming it.

Python's and NumPy's generator states are stored as JSON text, so checkpoints hold only
tensors, numbers, strings and containers and load with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json
import pickle
import random
import zipfile
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from .atomic_files import write_atomic


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and every GPU)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def rng_states(augment_rng: np.random.Generator, shuffle_generator: torch.Generator) -> dict:
    """Snapshot every generator a training run draws from."""
    numpy_state = np.random.get_state(legacy=False)
    numpy_state["state"]["key"] = numpy_state["state"]["key"].tolist()
    return {
        "python": json.dumps(random.getstate()),
        "numpy": json.dumps(numpy_state),
        "augment": json.dumps(augment_rng.bit_generator.state),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "shuffle": shuffle_generator.get_state(),
    }


def restore_rng_states(
    states: dict, augment_rng: np.random.Generator, shuffle_generator: torch.Generator
) -> None:
    """Put every generator back to a ``rng_states`` snapshot (in place)."""
    version, internal, gauss = json.loads(states["python"])
    random.setstate((version, tuple(internal), gauss))
    numpy_state = json.loads(states["numpy"])
    numpy_state["state"]["key"] = np.asarray(numpy_state["state"]["key"], dtype=np.uint32)
    np.random.set_state(numpy_state)
    augment_rng.bit_generator.state = json.loads(states["augment"])
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    shuffle_generator.set_state(states["shuffle"])


def save_checkpoint(obj: dict, path: Path) -> None:
    """``torch.save`` to ``path`` atomically."""
    write_atomic(path, lambda fh: torch.save(obj, fh))


def load_checkpoint(
    path: Path, map_location: Optional[str | torch.device] = "cpu", *, lazy: bool = False
) -> dict:
    """Load a checkpoint written by ``save_checkpoint`` (tensors and plain data only); with
    ``lazy``, tensors are memory-mapped and read only when used (to read its ``run_config``).

    Raises ValueError naming the file when it is damaged (truncated, or not a checkpoint); a
    missing file raises FileNotFoundError as usual."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True, mmap=lazy)
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise  # not damaged: missing or unreadable, as its own message says
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as err:
        raise ValueError(
            f"{path} is damaged (truncated or not a checkpoint): retrain that fold "
            f"(remove {Path(path).parent} and run again with --resume)"
        ) from err
