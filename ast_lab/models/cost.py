"""What a token costs: multiply-accumulates of an encoder block, and the measured step time of an
AST as the patch stride changes (notebook 02).

Per block, with ``T`` tokens of width ``D`` and an MLP ``r`` times as wide:

- the projections: queries, keys and values (``3 T D²``) and the output (``T D²``);
- the attention itself: the score matrix ``Q Kᵀ`` (``T² D``) and the weighted sum of the
  values (``T² D``);
- the MLP: two layers of ``r T D²`` each.

Only the attention grows with the square of the token count, and so does its memory: a training
step keeps every block's attention weights, ``batch x heads x T²`` numbers, for the backward
pass (``score_bytes``; the fused kernel avoids storing them). Where ``T`` is small against
``6 D`` (for ``r = 4``: ``2 T² D`` against ``12 T D²``) the linear terms dominate, so a block's
cost grows nearly in proportion to ``T``.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Sequence

import torch

from ..config import ASTConfig
from .ast import AST, NUM_PREFIX_TOKENS


@dataclass(frozen=True)
class BlockCost:
    """Multiply-accumulates of one encoder block for one clip."""

    projections: int  # queries, keys, values and the output projection: 4 T D²
    attention: int  # the scores Q Kᵀ and the weighted sum of the values: 2 T² D
    mlp: int  # two layers: 2 r T D²

    @property
    def total(self) -> int:
        return self.projections + self.attention + self.mlp


def block_cost(tokens: int, dim: int, mlp_ratio: float = 4.0) -> BlockCost:
    """``BlockCost`` of a block reading ``tokens`` tokens of width ``dim`` (LayerNorms,
    softmax and biases left out: they grow as ``T D`` or ``T²``, without a factor ``D``)."""
    return BlockCost(projections=4 * tokens * dim**2, attention=2 * tokens**2 * dim,
                     mlp=int(2 * mlp_ratio * tokens * dim**2))


def score_bytes(tokens: int, heads: int, depth: int, batch_size: int, bytes_per_value: int = 4) -> int:
    """Bytes of the attention weights a written-out training step keeps for the backward pass:
    one ``(tokens, tokens)`` matrix per head, block and clip, ``bytes_per_value`` each (4: float32).
    An estimate of the memory that grows with ``T²``, not a measurement."""
    return batch_size * depth * heads * tokens**2 * bytes_per_value


@dataclass(frozen=True)
class StrideCost:
    """One patch stride's token count and measured training-step time."""

    stride: int  # fstride = tstride
    grid: tuple[int, int]  # (f_patches, t_patches)
    tokens: int  # patches + [CLS] + [DIST]
    seconds: float  # median time of one forward and backward pass of the batch


def time_step(model: AST, batch: torch.Tensor, repeats: int) -> float:
    """Median seconds of ``repeats`` forward + backward passes of ``batch (B, n_mels, frames)``
    (one untimed pass first)."""
    times = []
    for attempt in range(repeats + 1):
        start = time.perf_counter()
        model(batch).sum().backward()
        times.append(time.perf_counter() - start)
        model.zero_grad(set_to_none=True)
    return sorted(times[1:])[repeats // 2]


def stride_costs(cfg: ASTConfig, strides: Sequence[int], batch_size: int = 8,
                 repeats: int = 3, seed: int = 0) -> list[StrideCost]:
    """For every stride, an AST like ``cfg`` with ``fstride = tstride = stride``: its token
    count and the time of a training step on a random batch of ``batch_size`` inputs."""
    generator = torch.Generator().manual_seed(seed)
    batch = torch.randn(batch_size, cfg.n_mels, cfg.n_frames, generator=generator)
    rows = []
    for stride in strides:
        torch.manual_seed(seed)
        model = AST(dataclasses.replace(cfg, fstride=stride, tstride=stride,
                                        drop_path_rate=0.0)).train()
        grid = model.patch_embed.grid_size
        rows.append(StrideCost(stride, grid, NUM_PREFIX_TOKENS + grid[0] * grid[1],
                               time_step(model, batch, repeats)))
    return rows
