"""Which tokens an AST's head reads, and where those tokens' information came from (notebook 03).

- ``describe_readout``: the head's input, in words, from the model's config ([CLS], [DIST],
  the mean or the maximum of the patch tokens);
- ``readout_weights``: the same as numbers, one weight per output token, summing to 1. A
  max-pooling head takes each channel's maximum from one patch, so a patch weighs the share of
  channels it wins; a head on [CLS] puts all its weight there; two heads average their weights;
- ``attention_rollout`` (Abnar & Zuidema 2020, arXiv:2005.00928): every block's attention,
  heads averaged, with the residual path added as the identity, multiplied through the blocks:
  how much each output token draws, through all blocks, on each input token;
- ``readout_maps``: each block's (and head's) raw attention from the read tokens, and the
  rollout from them, on the patch grid, ready for ``model_plots.plot_readout_maps``.

Attention says where information may flow, not what the decision needs: ``ast_lab.occlusion``
tests that by hiding the patches a map points at.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..config import ASTConfig
from .ast import AST, NUM_PREFIX_TOKENS


def describe_readout(cfg: ASTConfig) -> str:
    """What the classifier of an AST built from ``cfg`` reads, in one sentence."""
    patches = f"each of the {cfg.embed_dim} channels' maximum over the patch tokens"
    if cfg.pooling == "max":
        return f"one head, on {patches}; no head reads [CLS] or [DIST]"
    if cfg.pooling == "mean":
        return "one head, on the mean of the patch tokens; no head reads [CLS] or [DIST]"
    if cfg.pooling == "tokens":
        return "one head, on the mean of [CLS] and [DIST] (the AST paper's choice)"
    label = patches if cfg.label_pooling == "max" else "[CLS]"
    unread = "; no head reads [CLS]" if cfg.label_pooling == "max" else ""
    return (f"two heads whose logits are averaged: the label head on {label}, the "
            f"distillation head on [DIST]{unread}")


def _max_pool_shares(patch_tokens: Tensor) -> Tensor:
    """``(B, N, D)`` -> ``(B, N)``: the share of the D channels whose maximum each patch holds."""
    winners = patch_tokens.argmax(dim=1)  # (B, D): the patch holding each channel's maximum
    counts = torch.zeros(patch_tokens.shape[:2], device=patch_tokens.device)  # (B, N)
    counts.scatter_add_(1, winners, torch.ones_like(winners, dtype=counts.dtype))
    return counts / patch_tokens.shape[2]


def readout_weights(cfg: ASTConfig, tokens: Tensor) -> Tensor:
    """How much the head reads each of the encoded tokens ``(B, 2 + N, D)``: ``(B, 2 + N)``,
    rows summing to 1 (token 0 is [CLS], 1 is [DIST], then the patches in grid order)."""
    B, T, _ = tokens.shape
    weights = torch.zeros(B, T, device=tokens.device)
    patches = slice(NUM_PREFIX_TOKENS, None)

    def label_head() -> Tensor:  # (B, T): the label head of a distilled model
        single = torch.zeros_like(weights)
        if cfg.label_pooling == "max":
            single[:, patches] = _max_pool_shares(tokens[:, patches])
        else:
            single[:, 0] = 1.0
        return single

    if cfg.pooling == "max":
        weights[:, patches] = _max_pool_shares(tokens[:, patches])
    elif cfg.pooling == "mean":
        weights[:, patches] = 1.0 / (T - NUM_PREFIX_TOKENS)
    elif cfg.pooling == "tokens":
        weights[:, :NUM_PREFIX_TOKENS] = 1.0 / NUM_PREFIX_TOKENS
    else:  # "distilled": the two heads' logits are averaged
        weights = label_head() / 2
        weights[:, 1] += 0.5
    return weights


def attention_rollout(maps: list[Tensor]) -> Tensor:
    """Attention rollout of ``maps`` (``depth`` tensors ``(B, nh, T, T)``, first block first):
    ``(B, T, T)``, row ``i`` how much output token ``i`` draws on each input token.

    Each block's heads are averaged and the residual connection counted as half of the flow,
    ``0.5 A + 0.5 I`` (rows still sum to 1); the blocks' matrices are multiplied, last on the
    left. Every row of the result sums to 1.
    """
    if not maps:
        raise ValueError("need the attention maps of at least one block")
    T = maps[0].shape[-1]
    identity = torch.eye(T, device=maps[0].device)
    rollout = identity.expand(maps[0].shape[0], T, T)
    for block in maps:
        flow = 0.5 * block.mean(dim=1) + 0.5 * identity  # (B, T, T)
        rollout = flow @ rollout  # (B, T, T)
    return rollout


@dataclass(frozen=True)
class ReadoutMaps:
    """Where the tokens the head reads look, on the patch grid ``(f_patches, t_patches)``."""

    reads: Tensor  # (Fp, Tp): the head's weight on each patch token (readout_weights)
    heads: Tensor  # (depth, heads, Fp, Tp): each block's and head's attention from the read tokens
    rollout: Tensor  # (Fp, Tp): the rollout from the read tokens to the input patches
    prefix_share: float  # the rollout's weight on [CLS] and [DIST] instead of a patch

    @property
    def blocks(self) -> Tensor:
        """``(depth, Fp, Tp)``: each block's attention from the read tokens, heads averaged."""
        return self.heads.mean(dim=1)


@torch.no_grad()
def readout_maps(model: AST, spec: Tensor) -> ReadoutMaps:
    """``ReadoutMaps`` of one spectrogram ``spec (n_mels, frames)``, normalised as the model was
    trained and as wide as its input (``model.cfg.n_frames``). Each map is the readout weights
    times the attention (or rollout) matrix, so it sums to at most 1 over the patches."""
    spec = torch.as_tensor(spec, dtype=torch.float32)
    if spec.dim() != 2:
        raise ValueError(f"expected one spectrogram (n_mels, frames), got shape "
                         f"{tuple(spec.shape)}")
    was_training = model.training
    model.eval()
    try:
        maps = model.attention_maps(spec[None])  # depth x (1, nh, T, T)
        weights = readout_weights(model.cfg, model.forward_features(spec[None]))[0]  # (T,)
    finally:
        model.train(was_training)
    grid = model.patch_embed.grid_size
    rolled = weights @ attention_rollout(maps)[0]  # (T,)
    heads = torch.stack([weights @ m[0] for m in maps])  # (depth, nh, T)
    return ReadoutMaps(
        reads=weights[NUM_PREFIX_TOKENS:].reshape(grid),
        heads=heads[..., NUM_PREFIX_TOKENS:].reshape(*heads.shape[:2], *grid),
        rollout=rolled[NUM_PREFIX_TOKENS:].reshape(grid),
        prefix_share=float(rolled[:NUM_PREFIX_TOKENS].sum()))
