"""Reproducibility plumbing for ``ast_lab.training``: seeds, RNG snapshots, atomic files.

A run repeats exactly on CPU when every source of randomness is seeded (``seed_everything``,
a seeded ``torch.Generator`` for shuffling, a seeded NumPy generator for augmentation) and an
interrupted run continues exactly when all of them are snapshotted with the weights
(``rng_states`` / ``restore_rng_states``). Files are written to a temporary name and renamed
into place (``os.replace`` is atomic), so a crash never leaves a half-written checkpoint.

Python's and NumPy's generator states are stored as JSON text, so checkpoints hold only
tensors, numbers, strings and containers and load with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any, Callable, IO, Optional

import numpy as np
import torch


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


def write_atomic(path: Path, write: Callable[[IO[bytes]], Any]) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, flush it to disk, rename it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def save_checkpoint(obj: dict, path: Path) -> None:
    """``torch.save`` to ``path`` atomically."""
    write_atomic(path, lambda fh: torch.save(obj, fh))


def load_checkpoint(path: Path, map_location: Optional[str | torch.device] = "cpu") -> dict:
    """Load a checkpoint written by ``save_checkpoint`` (tensors and plain data only)."""
    return torch.load(path, map_location=map_location, weights_only=True)


def save_json(obj: Any, path: Path) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    write_atomic(path, lambda fh: fh.write(json.dumps(obj, indent=1).encode()))
