"""What a trained AST looks at and what it learned, as tensors laid out on its patch grid.

- ``token_attention``: how one summary token ([CLS] or [DIST]) spreads its attention over the
  patches, for every block and head;
- ``max_pool_sources``: where a head that max-pools the patches (``label_pooling="max"``) takes
  its inputs from;
- ``columns_near``: the patch grid's time columns that overlap a stretch of frames (an event);
- ``patch_filters``: the patch embedding's learned 16 x 16 kernels, and ``filter_smoothness``, how
  far they are from noise;
- ``mean_position_similarity``: how alike positional embeddings are, by row and time gap.

``ast_lab.model_plots`` draws them over the spectrogram.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .ast import AST, NUM_PREFIX_TOKENS

SUMMARY_TOKENS = {"cls": 0, "dist": 1}  # token name -> its index in the sequence


def _one_spectrogram(spec: Tensor) -> Tensor:
    """``(n_mels, frames)`` or ``(1, n_mels, frames)`` -> ``(1, n_mels, frames)``."""
    spec = torch.as_tensor(spec, dtype=torch.float32)
    if spec.dim() == 2:
        spec = spec[None]
    if spec.dim() != 3 or spec.shape[0] != 1:
        raise ValueError(f"expected one spectrogram (n_mels, frames), got shape {tuple(spec.shape)}")
    return spec


@torch.no_grad()
def token_attention(model: AST, spec: Tensor, token: str = "cls") -> Tensor:
    """Attention of ``token`` ("cls" or "dist") to every patch, for one spectrogram.

    ``spec (n_mels, frames)``, normalised as the model was trained. Returns
    ``(depth, heads, f_patches, t_patches)``: in block ``b``, head ``h``, the weight the token's
    query puts on each patch's key. The weights on [CLS] and [DIST] themselves are left out, so
    a map sums to at most 1; ``1 / num_patches`` everywhere would be uniform attention.
    """
    if token not in SUMMARY_TOKENS:
        raise ValueError(f"unknown token {token!r}; choose one of {sorted(SUMMARY_TOKENS)}")
    was_training = model.training
    model.eval()
    maps = model.attention_maps(_one_spectrogram(spec))  # depth x (1, nh, 2 + N, 2 + N)
    model.train(was_training)
    row = SUMMARY_TOKENS[token]
    weights = torch.stack([m[0, :, row, NUM_PREFIX_TOKENS:] for m in maps])  # (depth, nh, N)
    return weights.reshape(*weights.shape[:2], *model.patch_embed.grid_size)


@torch.no_grad()
def max_pool_sources(model: AST, spec: Tensor) -> Tensor:
    """Where a max-pooling head reads, for one spectrogram ``(n_mels, frames)``.

    The head takes, channel by channel, the largest value over the patch tokens (after the
    final norm). Returns ``(f_patches, t_patches)``: the share of the ``embed_dim`` channels
    whose maximum sits at each patch (the map sums to 1).
    """
    was_training = model.training
    model.eval()
    tokens = model.forward_features(_one_spectrogram(spec))[0, NUM_PREFIX_TOKENS:]  # (N, D)
    model.train(was_training)
    winners = tokens.argmax(dim=0)  # (D,): the patch holding each channel's maximum
    counts = torch.bincount(winners, minlength=tokens.shape[0]).float()  # (N,)
    return (counts / tokens.shape[1]).reshape(model.patch_embed.grid_size)


def columns_near(model: AST, frame: int, reach: int) -> list[int]:
    """The time columns of ``model``'s patch grid whose patches overlap frames ``frame - reach``
    to ``frame + reach`` (e.g. the frames within 0.25 s of an event's loudest frame)."""
    cfg = model.cfg
    starts = [j * cfg.tstride for j in range(model.patch_embed.grid_size[1])]  # first frames
    return [j for j, start in enumerate(starts)
            if start <= frame + reach and start + cfg.patch_size - 1 >= frame - reach]


def patch_filters(model: AST) -> Tensor:
    """The patch embedding's kernels ``(embed_dim, patch_size, patch_size)`` (mel bins x frames),
    strongest first (by their L2 norm): each one turns a patch into one channel of its token."""
    kernels = model.patch_embed.proj.weight.detach()[:, 0]  # (D, p, p)
    order = kernels.flatten(1).norm(dim=1).argsort(descending=True)
    return kernels[order]


def mean_position_similarity(similarity: Tensor, same_row: bool, min_gap: int,
                             max_gap: int) -> float:
    """Mean cosine between positional embeddings of patch pairs in the same frequency row
    (``same_row``) or in different rows, whose time patches are ``min_gap`` to ``max_gap``
    apart (inclusive). ``similarity (f_patches, t_patches, f_patches, t_patches)`` from
    ``AST.pos_embed_similarity``; a patch is never paired with itself."""
    f_patches, t_patches = similarity.shape[:2]
    rows = torch.arange(f_patches).repeat_interleave(t_patches)  # (N,) row of each patch
    cols = torch.arange(t_patches).repeat(f_patches)  # (N,) time patch of each patch
    gap = (cols[:, None] - cols[None]).abs()  # (N, N)
    pairs = ((rows[:, None] == rows[None]) == same_row) & (gap >= min_gap) & (gap <= max_gap)
    pairs &= ~torch.eye(len(rows), dtype=torch.bool)
    if not pairs.any():
        raise ValueError(f"no patch pairs {min_gap} to {max_gap} time patches apart "
                         f"{'in one row' if same_row else 'across rows'} on a "
                         f"{f_patches} x {t_patches} grid")
    return float(similarity.reshape(len(rows), len(rows))[pairs].mean())


def filter_smoothness(filters: Tensor) -> tuple[float, float]:
    """How alike neighbouring weights of kernels ``(n, mel bins, frames)`` are: the correlation
    of each weight with its neighbour one mel bin up and one frame on, pooled over the kernels
    (each centred on its own mean). About 0 for random weights, near 1 for smooth ones.
    Returns ``(along_frequency, along_time)``."""
    centred = filters - filters.mean(dim=(1, 2), keepdim=True)
    return (_correlation(centred[:, 1:], centred[:, :-1]),
            _correlation(centred[:, :, 1:], centred[:, :, :-1]))


def _correlation(a: Tensor, b: Tensor) -> float:
    """Uncentred correlation (cosine) of two same-shaped tensors."""
    return float((a * b).sum() / (a.norm() * b.norm()))
