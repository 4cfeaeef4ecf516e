"""Running under ``torchrun``: this process's rank and device, its share of the test folds,
data-parallel wrapping, and collecting results on every rank.

``torchrun --nproc-per-node N -m ast_lab train ...`` starts N processes and tells each, in its
environment, its ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE`` and where to meet (``MASTER_ADDR``,
``MASTER_PORT``, or ``--rdzv-endpoint`` across nodes). ``join_world`` joins that process group
(NCCL between GPUs, gloo between CPUs); without torchrun there is one process and everything
here reduces to the sequential run. Two ways to use the ranks (``PARALLEL_MODES``):

- ``"folds"``: the test folds are shared out (rank r trains folds r, r + N, ...); each fold
  trains exactly as in a sequential run, and the fold results are gathered on every rank.
- ``"data"``: every fold is trained by all ranks together with ``DistributedDataParallel``;
  each rank computes the gradient of its shard of every global batch and DDP averages them.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

PARALLEL_MODES = ("folds", "data")


@dataclass(frozen=True)
class World:
    """This process's place among the ranks of a run (one process: rank 0 of 1)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0  # the rank on this node: which GPU it uses

    @property
    def is_main(self) -> bool:
        """Rank 0 writes the run's shared files (results, checkpoints of a data-parallel fold)."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def current_world() -> World:
    """The process group this process has joined, or the single-process world."""
    if not (dist.is_available() and dist.is_initialized()):
        return World()
    return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))


def join_world(device: str = "auto") -> World:
    """Join the process group torchrun describes in the environment (``WORLD_SIZE`` > 1).

    The backend is NCCL when the ranks train on GPUs (``device`` "auto" or "cuda" and CUDA
    present; each rank then uses ``cuda:LOCAL_RANK``), gloo otherwise. Without torchrun, or
    when already joined, nothing happens.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return current_world()
    on_gpus = device != "cpu" and torch.cuda.is_available()
    if on_gpus:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    dist.init_process_group("nccl" if on_gpus else "gloo")
    return current_world()


def rank_device(device: torch.device, world: World) -> torch.device:
    """``device`` with a CUDA device pinned to this rank's GPU (``cuda:LOCAL_RANK``) when
    several ranks share a node; an explicit index or the CPU is kept."""
    if device.type == "cuda" and device.index is None and world.distributed:
        return torch.device("cuda", world.local_rank)
    return device


def fold_share(fold_ids: Sequence[int], world: World) -> list[int]:
    """The test folds this rank trains in fold-parallel mode: every ``size``-th from ``rank``."""
    return list(fold_ids)[world.rank :: world.size]


def gather(value: Any, world: World) -> list[Any]:
    """Every rank's ``value`` (any picklable object), in rank order, on every rank."""
    if not world.distributed:
        return [value]
    gathered: list[Any] = [None] * world.size
    dist.all_gather_object(gathered, value)
    return gathered


def from_main(value: Any, world: World) -> Any:
    """Rank 0's ``value`` on every rank, so that all ranks take the same decision."""
    if not world.distributed:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(world: World) -> None:
    """Wait until every rank gets here."""
    if world.distributed:
        dist.barrier()


@contextlib.contextmanager
def main_first(world: World) -> Iterator[None]:
    """Run the block on rank 0 first, then on the others: rank 0 fills a cache (features) that
    the others then read instead of computing it again."""
    if not world.is_main:
        barrier(world)
    yield
    if world.is_main:
        barrier(world)


def shard(batch: Tensor, world: World) -> Tensor:
    """This rank's part of a global batch ``(B, ...)``: rows ``rank``, ``rank + size``, ...
    ``B`` must divide by ``size`` so that every shard is equally weighted in DDP's mean."""
    if len(batch) % world.size:
        raise ValueError(f"a global batch of {len(batch)} does not split evenly over "
                         f"{world.size} ranks; choose a batch size divisible by {world.size}")
    return batch[world.rank :: world.size]


class _BothForwards(nn.Module):
    """A model's ``forward`` and, for distillation, its ``forward_heads``, behind one
    ``forward`` that DDP can wrap (DDP averages gradients only of what runs through it)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, specs: Tensor, heads: bool = False) -> Any:
        return self.model.forward_heads(specs) if heads else self.model(specs)


class DataParallelModel(DistributedDataParallel):
    """``DistributedDataParallel`` over a model, with its ``forward_heads`` too."""

    def __init__(self, model: nn.Module, device: torch.device) -> None:
        devices = [device] if device.type == "cuda" else None
        super().__init__(_BothForwards(model), device_ids=devices)

    def forward_heads(self, specs: Tensor) -> Any:
        return self(specs, heads=True)


def data_parallel(model: nn.Module, device: torch.device) -> tuple[nn.Module, DataParallelModel]:
    """``model`` (already on ``device``) made ready for data-parallel training: returns the
    model to save, evaluate and optimise, and the DDP wrapper to train through.

    BatchNorm (the CNN) becomes ``SyncBatchNorm`` on GPUs, so that its statistics are those of
    the global batch, as in one process. PyTorch's SyncBatchNorm runs only on GPUs: on CPUs
    each rank normalises with the statistics of its own shard (``B / size`` clips), a small
    difference from one process that CPU runs accept. (The AST has no BatchNorm.)
    """
    if device.type == "cuda":
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return model, DataParallelModel(model, device)
