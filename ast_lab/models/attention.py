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
from typing import Optional

import torch.nn.functional as F
from torch import Tensor, nn


def scaled_dot_product(
    q: Tensor, k: Tensor, v: Tensor, dropout_p: float = 0.0, mask: Optional[Tensor] = None
) -> tuple[Tensor, Tensor]:
    """Attention by hand: ``q, k, v (..., T, hs) -> out (..., T, hs), weights (..., T, T)``.

    ``weights[..., i, j]`` is how much token ``i`` attends to token ``j``; each row sums to 1.
    Dividing the scores by ``sqrt(hs)`` keeps their variance near 1 whatever the head size, so
    the softmax does not saturate. ``dropout_p`` drops attention weights (pass 0 in eval mode);
    the returned weights are the ones before dropout, for plotting. ``mask`` (bool, broadcastable
    to ``(..., T, T)``, as the boolean ``attn_mask`` of ``F.scaled_dot_product_attention``) is
    False where token ``i`` must not attend to token ``j``, e.g. padding keys: their scores
    become -inf, so their weights are exactly 0 (notebook 03's exercise; AST itself attends to
    every token, padded frames included).
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (..., T, T)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))  # (..., T, T)
    weights = scores.softmax(dim=-1)  # (..., T, T), rows sum to 1
    out = F.dropout(weights, p=dropout_p, training=dropout_p > 0) @ v  # (..., T, hs)
    return out, weights


def split_heads(x: Tensor, num_heads: int) -> Tensor:
    """Give each head its slice of the width: ``(B, T, C) -> (B, nh, T, C // nh)``.

    Head ``h`` holds channels ``h*hs : (h+1)*hs``; the view is (B, T, nh, hs), then heads move
    in front of tokens so that attention runs over the token axis of every head at once.
    """
    B, T, C = x.shape
    return x.view(B, T, num_heads, C // num_heads).transpose(1, 2)  # (B, nh, T, hs)


def merge_heads(y: Tensor) -> Tensor:
    """Put the heads side by side again: ``(B, nh, T, hs) -> (B, T, nh * hs)``."""
    B, nh, T, hs = y.shape
    return y.transpose(1, 2).reshape(B, T, nh * hs)  # (B, T, C)


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
        q, k, v = self.qkv(x).chunk(3, dim=-1)  # 3 x (B, T, C)
        return tuple(split_heads(t, self.num_heads) for t in (q, k, v))  # 3 x (B, nh, T, hs)

    def forward(self, x: Tensor) -> Tensor:
        q, k, v = self.split_heads(x)  # (B, nh, T, hs) each
        dropout_p = self.attn_drop if self.training else 0.0
        if self.fused:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p)  # (B, nh, T, hs)
        else:
            y, _ = scaled_dot_product(q, k, v, dropout_p)  # (B, nh, T, hs)
        y = merge_heads(y)  # (B, T, nh * hs): heads side by side again
        return self.proj_drop(self.proj(y))  # (B, T, C)

    def attention_weights(self, x: Tensor) -> Tensor:
        """The attention map forward uses for ``x``: ``(B, nh, T, T)``, rows summing to 1."""
        q, k, v = self.split_heads(x)  # (B, nh, T, hs) each
        return scaled_dot_product(q, k, v)[1]  # (B, nh, T, T)

    def extra_repr(self) -> str:
        return f"heads={self.num_heads}, head_size={self.head_size}, fused={self.fused}"
