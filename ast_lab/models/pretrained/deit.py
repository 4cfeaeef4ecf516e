"""An ImageNet DeiT made into an AST: the paper's Section 2.2, as the authors' ``ast_models.py``.

DeiT (Touvron et al. 2021) is a vision transformer that sees a 224 x 224 (or 384 x 384) RGB
image as a 14 x 14 (24 x 24) grid of 16 x 16 patches, with [CLS] and a distillation token [DIST]
in front. Three things turn it into an audio model; everything else is copied as it is:

1. **Patch filters**: each of DeiT's ``D`` filters is ``(3, 16, 16)``, one slice per colour. A
   spectrogram has one channel, so the three slices are summed into one ``(1, 16, 16)`` filter.
   A grey image (the same values in R, G and B) gives exactly the tokens it gave before.
2. **Positions**: the 24 x 24 grid is fitted to the spectrogram's (12 x 50 for 128 mel bins x
   512 frames at stride 10), cut from the middle or stretched (``grid.fit_position_grid``).
3. **Head**: DeiT's two 1000-class ImageNet heads are dropped and a new one starts from scratch.

The strides may differ from DeiT's 16: the filters do not care where they are applied.
"""

from __future__ import annotations

import math

from torch import Tensor

from ...config import ASTConfig
from ..ast import AST, NUM_PREFIX_TOKENS
from .grid import fit_position_grid
from .timm_layout import HEAD_WIDTH, check_sizes, take_encoder, timm_config, vit_sizes
from .weights import (
    WeightSource, check_all_used, fresh_head, load_checked, pop_weight, read_weights,
)

DEIT_LAYOUT = "a distilled DeiT in timm's names (cls_token, dist_token, blocks.*, head_dist)"
DEIT_HEADS = ("head.weight", "head.bias", "head_dist.weight", "head_dist.bias")


def sum_rgb_filters(weight: Tensor) -> Tensor:
    """Patch filters ``(D, 3, p, p)`` -> ``(D, 1, p, p)``: the colours' slices added together."""
    return weight.sum(dim=1, keepdim=True)


def square_grid(pos_embed: Tensor, source: str) -> tuple[int, int]:
    """DeiT's square patch grid ``(side, side)`` from its positions ``(1, 2 + side**2, D)``."""
    cells = pos_embed.shape[1] - NUM_PREFIX_TOKENS
    side = math.isqrt(max(cells, 0))
    if side * side != cells:
        raise ValueError(f"{source}: pos_embed has {cells} patch rows, not a square grid")
    return side, side


def deit_config(source: WeightSource, **fields: object) -> ASTConfig:
    """The ``ASTConfig`` whose sizes (width, depth, heads, MLP, patch) are a DeiT's, read off its
    weights; ``fields`` set the rest (input size, strides, classes, pooling...)."""
    state, name = read_weights(source)
    sizes = vit_sizes(state, name, DEIT_LAYOUT)
    sized = dict(embed_dim=sizes.embed_dim, depth=sizes.depth, patch_size=sizes.patch_size,
                 num_heads=sizes.embed_dim // HEAD_WIDTH,
                 mlp_ratio=sizes.mlp_hidden / sizes.embed_dim)
    return ASTConfig(**{**sized, **fields})


def from_deit(source: WeightSource, cfg: ASTConfig) -> AST:
    """An AST with a distilled DeiT's weights, adapted as the paper does, and a new head.

    ``source`` is a dict of tensors in timm's names (``timm.create_model(...).state_dict()``) or
    a ``.pth``/``.safetensors`` file of one (DeiT's releases wrap it as ``{"model": ...}``).
    ``cfg`` gives the input size, strides, head and regularisation; its width, depth and heads
    must be the DeiT's (``ASTConfig.preset("base")`` for a base DeiT, "small", "tiny"), and the
    LayerNorm epsilon becomes timm's 1e-6. ValueError names the file and what does not fit.
    """
    state, name = read_weights(source)
    state = {k: v for k, v in state.items() if k not in DEIT_HEADS}
    sizes = vit_sizes(state, name, DEIT_LAYOUT)
    if sizes.in_chans != 3:
        raise ValueError(f"{name}: patch filters have {sizes.in_chans} channels, not DeiT's 3 "
                         "(RGB); an AST's own weights load with from_authors")
    check_sizes(sizes, cfg, name)
    model = AST(timm_config(cfg))
    ours = take_encoder(state, name, DEIT_LAYOUT)
    ours["patch_embed.proj.weight"] = sum_rgb_filters(
        pop_weight(state, "patch_embed.proj.weight", name, DEIT_LAYOUT))
    ours["patch_embed.proj.bias"] = pop_weight(state, "patch_embed.proj.bias", name, DEIT_LAYOUT)
    pos_embed = pop_weight(state, "pos_embed", name, DEIT_LAYOUT)
    ours["pos_embed"] = fit_position_grid(
        pos_embed, square_grid(pos_embed, name), model.patch_embed.grid_size)
    check_all_used(state, name, DEIT_LAYOUT)
    return load_checked(model, {**ours, **fresh_head(model)}, name)
