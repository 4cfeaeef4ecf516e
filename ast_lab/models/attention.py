"""Multi-head self-attention, written out line by line; explained in notebook 03_attention.

Every token asks a question (query), advertises what it holds (key) and offers content (value).
A token's output is the average of all values, weighted by how well its query matches each key:
``softmax(q k^T / sqrt(head_size)) v``. Several heads do this in parallel on slices of the
embedding, then their outputs are concatenated and mixed by one more linear layer.

``MultiHeadSelfAttention`` has two paths to the same numbers: the readable one through
``scaled_dot_product`` below, and the fused ``F.scaled_dot_product_attention`` (one kernel,
less memory, faster). The tests check they agree, and agree with ``nn.MultiheadAttention``.
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor, nn


def scaled_dot_product(
    q: Tensor, k: Tensor, v: Tensor, dropout_p: float = 0.0
) -> tuple[Tensor, Tensor]:
    """Attention by hand: ``q, k, v (..., T, hs) -> out (..., T, hs), weights (..., T, T)``.

    ``weights[..., i, j]`` is how much token ``i`` attends to token ``j``; each row sums to 1.
    Dividing the scores by ``sqrt(hs)`` keeps their variance near 1 whatever the head size, so
    the softmax does not saturate. ``dropout_p`` drops attention weights (pass 0 in eval mode);
    the returned weights are the ones before dropout, for plotting.
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (..., T, T)
    weights = scores.softmax(dim=-1)  # (..., T, T), rows sum to 1
    out = F.dropout(weights, p=dropout_p, training=dropout_p > 0) @ v  # (..., T, hs)
    return out, weights


def dropout_or_identity(p: float) -> nn.Module:
    """``nn.Dropout(p)``, or ``nn.Identity()`` when ``p == 0`` (cleaner printouts, no branching)."""
    return nn.Dropout(p) if p > 0 else nn.Identity()


class MultiHeadSelfAttention(nn.Module):
    """``(B, T, dim) -> (B, T, dim)``: ``num_heads`` heads of size ``dim // num_heads``.

    ``fused=True`` computes the attention with ``F.scaled_dot_product_attention``; ``False`` uses
    ``scaled_dot_product``. Same parameters, same maths; ``attention_weights`` always takes the
    written-out path, since the fused kernel never materialises the ``(T, T)`` map.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        qkv_bias: bool = True,
        attn_drop: float = 0.0,
        proj_drop: float = 0.0,
        fused: bool = True,
    ):
        super().__init__()
        if dim % num_heads != 0:
            raise ValueError(f"embed_dim {dim} must be divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.head_size = dim // num_heads
        self.attn_drop = attn_drop
        self.fused = fused
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)  # queries, keys, values of all heads
        self.proj = nn.Linear(dim, dim)  # mixes the concatenated heads
        self.proj_drop = dropout_or_identity(proj_drop)

    def split_heads(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Tokens -> queries, keys and values, one slice per head: each ``(B, nh, T, hs)``."""
        B, T, C = x.shape
        qkv = self.qkv(x).view(B, T, 3, self.num_heads, self.head_size)  # (B, T, 3, nh, hs)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # 3 x (B, nh, T, hs)
        return q, k, v

    def forward(self, x: Tensor) -> Tensor:
        B, T, C = x.shape
        q, k, v = self.split_heads(x)  # (B, nh, T, hs) each
        dropout_p = self.attn_drop if self.training else 0.0
        if self.fused:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p)  # (B, nh, T, hs)
        else:
            y, _ = scaled_dot_product(q, k, v, dropout_p)  # (B, nh, T, hs)
        y = y.transpose(1, 2).reshape(B, T, C)  # (B, T, nh * hs): heads side by side again
        return self.proj_drop(self.proj(y))  # (B, T, C)

    def attention_weights(self, x: Tensor) -> Tensor:
        """The attention map forward uses for ``x``: ``(B, nh, T, T)``, rows summing to 1."""
        q, k, v = self.split_heads(x)  # (B, nh, T, hs) each
        return scaled_dot_product(q, k, v)[1]  # (B, nh, T, T)

    def extra_repr(self) -> str:
        return f"heads={self.num_heads}, head_size={self.head_size}, fused={self.fused}"
