"""timm's vision-transformer weights, the layout of DeiT's releases and of the AST authors' model.

This project's AST names its parts as timm does (``cls_token``, ``dist_token``, ``pos_embed``,
``patch_embed.proj``, ``blocks.{i}.norm1/attn.qkv/attn.proj/norm2/mlp.fc1/mlp.fc2``, ``norm``), so
timm's encoder weights load under their own names. What differs is what each format adds: DeiT
an RGB patch filter and two 1000-class heads, the authors' model a ``module.`` prefix and their
``mlp_head``. timm builds every LayerNorm with epsilon 1e-6.

The sizes that shape the model (width, depth, MLP width, patch) are read off the weights and
checked against the ``ASTConfig``; the number of heads cannot be (it only splits the width), and
every DeiT and AST has heads 64 wide, so that is checked instead.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from torch import Tensor

from ...config import ASTConfig
from .weights import pop_weight

TIMM_LAYER_NORM_EPS = 1e-6  # timm's ViT/DeiT, hence the AST authors' blocks and final norm
HEAD_WIDTH = 64  # channels per attention head in every DeiT (tiny 3, small 6, base 12 heads)
DEIT_PRESETS = {192: "tiny", 384: "small", 768: "base"}


@dataclass(frozen=True)
class VitSizes:
    """The sizes of a timm vision transformer, read off its weights."""

    embed_dim: int  # token width D
    depth: int  # encoder blocks
    mlp_hidden: int  # MLP hidden width
    patch_size: int  # square patches
    in_chans: int  # channels of the patch filters: 3 (RGB) for DeiT, 1 for the AST


def vit_sizes(state: dict[str, Tensor], source: str, layout: str) -> VitSizes:
    """``VitSizes`` of timm-named weights (without removing any); ValueError naming the file."""
    for key in ("patch_embed.proj.weight", "blocks.0.mlp.fc1.weight"):
        if key not in state:
            raise ValueError(f"{source} has no {key!r}: not {layout}")
    proj = state["patch_embed.proj.weight"]  # (D, channels, p, p)
    blocks = {int(m.group(1)) for k in state if (m := re.match(r"blocks\.(\d+)\.", k))}
    return VitSizes(embed_dim=proj.shape[0], depth=max(blocks) + 1,
                    mlp_hidden=state["blocks.0.mlp.fc1.weight"].shape[0],
                    patch_size=proj.shape[-1], in_chans=proj.shape[1])


def check_sizes(sizes: VitSizes, cfg: ASTConfig, source: str) -> None:
    """ValueError naming the file when ``cfg`` does not have the weights' sizes."""
    preset = DEIT_PRESETS.get(sizes.embed_dim)
    hint = f" (ASTConfig.preset({preset!r}) has them)" if preset else ""
    wanted = dict(embed_dim=sizes.embed_dim, depth=sizes.depth, patch_size=sizes.patch_size,
                  num_heads=sizes.embed_dim // HEAD_WIDTH)
    given = {name: getattr(cfg, name) for name in wanted}
    if given != wanted:
        raise ValueError(f"{source} holds a transformer with {wanted}{hint}; the config asks "
                         f"for {given}")
    if int(cfg.embed_dim * cfg.mlp_ratio) != sizes.mlp_hidden:
        raise ValueError(f"{source} has an MLP {sizes.mlp_hidden} wide; the config's mlp_ratio "
                         f"{cfg.mlp_ratio} makes it {int(cfg.embed_dim * cfg.mlp_ratio)}")


def timm_config(cfg: ASTConfig) -> ASTConfig:
    """``cfg`` with timm's LayerNorm epsilon, which the weights were trained with."""
    return dataclasses.replace(cfg, layer_norm_eps=TIMM_LAYER_NORM_EPS)


def take_encoder(state: dict[str, Tensor], source: str, layout: str) -> dict[str, Tensor]:
    """Remove from ``state`` and return, under our names (timm's own), everything but the patch
    filters, positions and heads: [CLS], [DIST], the blocks and the final norm."""
    ours = {k: pop_weight(state, k, source, layout) for k in ("cls_token", "dist_token")}
    for key in [k for k in state if k.startswith(("blocks.", "norm."))]:
        ours[key] = state.pop(key)
    return ours
