"""The transformer encoder: pre-norm blocks and their stack; explained in notebook 03_attention.

One block refines every token twice, each time adding a correction to it (a residual):
``x = x + attention(norm(x))`` lets tokens exchange information, then
``x = x + mlp(norm(x))`` transforms each token on its own. Normalising *before* each sub-layer
(pre-norm, as ViT/DeiT/AST) leaves the residual path an identity from input to output, which is
what makes deep stacks easy to train (Xiong et al. 2020, "On Layer Normalization in the
Transformer Architecture").

Regularisers are modules that become ``nn.Identity()`` when switched off, so ``forward`` reads
the same whatever the options.
"""

from __future__ import annotations

from torch import Tensor, nn

from .attention import MultiHeadSelfAttention, dropout_or_identity


class DropPath(nn.Module):
    """Stochastic depth: in training, skip a residual branch for a random subset of samples.

    Each sample's branch output is kept with probability ``keep = 1 - p`` and then divided by
    ``keep``, so its expected value matches eval mode, where the branch is always kept as is.
    """

    def __init__(self, p: float):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"drop-path probability must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training:
            return x
        keep = 1.0 - self.p
        mask_shape = (x.shape[0],) + (1,) * (x.ndim - 1)  # one draw per sample: (B, 1, 1)
        mask = x.new_empty(mask_shape).bernoulli_(keep)  # (B, 1, 1) of 0s and 1s
        return x * mask / keep  # (B, T, C)

    def extra_repr(self) -> str:
        return f"p={self.p:.3f}"


def drop_path_or_identity(p: float) -> nn.Module:
    """``DropPath(p)``, or ``nn.Identity()`` when ``p == 0``."""
    return DropPath(p) if p > 0 else nn.Identity()


class MLP(nn.Module):
    """Position-wise feed-forward: ``(B, T, dim) -> (B, T, hidden) -> GELU -> (B, T, dim)``."""

    def __init__(self, dim: int, hidden: int, drop: float = 0.0):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = dropout_or_identity(drop)

    def forward(self, x: Tensor) -> Tensor:
        x = self.drop(self.act(self.fc1(x)))  # (B, T, hidden)
        return self.drop(self.fc2(x))  # (B, T, dim)


class Block(nn.Module):
    """One pre-norm encoder block: ``(B, T, dim) -> (B, T, dim)``.

    ``norm_eps`` is its LayerNorms' epsilon: torch's 1e-5 by default, 1e-6 in timm's ViT/DeiT.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        drop: float = 0.0,
        attn_drop: float = 0.0,
        drop_path: float = 0.0,
        fused_attention: bool = True,
        norm_eps: float = 1e-5,
    ):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=norm_eps)
        self.attn = MultiHeadSelfAttention(
            dim, num_heads, qkv_bias, attn_drop, proj_drop=drop, fused=fused_attention
        )
        self.norm2 = nn.LayerNorm(dim, eps=norm_eps)
        self.mlp = MLP(dim, int(dim * mlp_ratio), drop)
        self.drop_path = drop_path_or_identity(drop_path)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))  # (B, T, C): tokens talk to each other
        return x + self.drop_path(self.mlp(self.norm2(x)))  # (B, T, C): each token on its own

    def attention_weights(self, x: Tensor) -> Tensor:
        """This block's attention map for its input ``x``: ``(B, nh, T, T)``."""
        return self.attn.attention_weights(self.norm1(x))


class Encoder(nn.Sequential):
    """``depth`` blocks in a row; drop-path grows linearly from 0 to ``drop_path_rate`` (last).

    Deeper blocks are skipped more often because the early ones compute features everything
    after them depends on (the schedule of the stochastic-depth paper, as DeiT/AST).
    """

    def __init__(
        self,
        dim: int,
        depth: int,
        num_heads: int,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        drop: float = 0.0,
        attn_drop: float = 0.0,
        drop_path_rate: float = 0.0,
        fused_attention: bool = True,
        norm_eps: float = 1e-5,
    ):
        rates = [drop_path_rate * i / max(depth - 1, 1) for i in range(depth)]  # 0 ... rate
        super().__init__(
            *(
                Block(
                    dim, num_heads, mlp_ratio, qkv_bias, drop, attn_drop, rate, fused_attention,
                    norm_eps,
                )
                for rate in rates
            )
        )
