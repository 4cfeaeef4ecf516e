"""The Audio Spectrogram Transformer (Gong et al. 2021, arXiv 2104.01778).

Reading order, as in the paper's Figure 1 (notebooks 02_patch_embedding and 03_attention):

1. ``patch_embed``: the spectrogram ``(B, n_mels, frames)`` becomes ``N`` overlapping 16x16
   patches, each linearly projected to a ``D``-wide token: ``(B, N, D)``.
2. ``cls_token``, ``dist_token``: two learned tokens are put in front: ``(B, 2 + N, D)``. They
   belong to no patch, so attention lets them gather a summary of the whole clip. (DeiT trained
   [DIST] against a teacher; AST keeps both tokens and averages them.)
3. ``pos_embed``: a learned vector per token position is added; without it, the encoder would
   see a bag of patches and could not tell low from high frequencies or early from late.
4. ``blocks``: the transformer encoder; ``norm``: a final LayerNorm.
5. ``head``: a linear classifier on the pooled token, the mean of [CLS] and [DIST] (the paper's
   choice) or, with ``pooling="mean"``, the mean of all patch tokens. With
   ``pooling="distilled"`` (DeiT), [CLS] and [DIST] get a head each (``head``, ``head_dist``):
   one learns the labels, the other a teacher's predictions (``ast_lab.distill``), and the
   model's output is the mean of the two heads' logits.

Head: ``Linear`` after the final ``norm``. The AST code puts ``LayerNorm + Linear`` *after* timm's
final norm, so two LayerNorms stand back to back with only the averaging of two tokens between
them; the second adds ``2 * D`` parameters and little else (``ASTConfig.head_norm`` adds it, as
``head_norm``, for the pretrained weights of ``ast_lab.models.pretrained``). With one LayerNorm,
the base preset (768 wide, 12 blocks, 12 heads, 600 patches, 50 classes) has exactly 85,755,698
parameters, the count this project pins in a test. (The AST code's model has 1,536 more, plus
1,538,000 in the two 1000-class DeiT heads it inherits from timm and never uses.)
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import ASTConfig
from .attention import dropout_or_identity
from .patches import PatchEmbed
from .transformer import Encoder

NUM_PREFIX_TOKENS = 2  # [CLS] and [DIST], in front of the patch tokens
POOLINGS = ("tokens", "mean", "max", "distilled")


def trunc_normal(tensor: Tensor, std: float = 0.02) -> Tensor:
    """Fill with N(0, std^2) truncated at +-2 std, in place (ViT/DeiT/AST's init for embeddings).

    Note ``nn.init.trunc_normal_``'s bounds ``a, b`` are absolute values, not multiples of std: its
    defaults (+-2) truncate nothing at std 0.02, so pass the bounds explicitly.
    """
    return nn.init.trunc_normal_(tensor, std=std, a=-2 * std, b=2 * std)


def init_linear(module: nn.Module) -> None:
    """Linear layers: small truncated-normal weights, zero bias (as timm's ViT)."""
    if isinstance(module, nn.Linear):
        trunc_normal(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def resize_pos_embed(
    pos_embed: Tensor,
    old_grid: tuple[int, int],
    new_grid: tuple[int, int],
    num_prefix_tokens: int = NUM_PREFIX_TOKENS,
) -> Tensor:
    """Resample a positional embedding to a new patch grid.

    ``(1, prefix + Fo*To, D) -> (1, prefix + Fn*Tn, D)``, grids given as ``(f_patches, t_patches)``.

    The patch rows are laid back on their ``(f_patches, t_patches)`` grid and bilinearly
    interpolated, as an image with ``D`` channels (the AST code does the same); the prefix tokens'
    own rows ([CLS], [DIST]) have no place on the grid and are kept as they are.
    """
    B, n_tokens, D = pos_embed.shape
    expected = num_prefix_tokens + old_grid[0] * old_grid[1]
    if n_tokens != expected:
        raise ValueError(
            f"pos_embed has {n_tokens} rows; a {old_grid[0]}x{old_grid[1]} grid with "
            f"{num_prefix_tokens} prefix tokens needs {expected}"
        )
    prefix, patches = pos_embed[:, :num_prefix_tokens], pos_embed[:, num_prefix_tokens:]
    image = patches.reshape(B, *old_grid, D).permute(0, 3, 1, 2)  # (B, D, Fo, To)
    image = F.interpolate(image, new_grid, mode="bilinear", align_corners=False)  # (B, D, Fn, Tn)
    patches = image.permute(0, 2, 3, 1).reshape(B, -1, D)  # (B, Fn*Tn, D)
    return torch.cat([prefix, patches], dim=1)  # (B, prefix + Fn*Tn, D)


def pool(tokens: Tensor, pooling: str) -> Tensor:
    """One vector per clip from the encoder's tokens: ``(B, 2 + N, D) -> (B, D)``.

    ``"tokens"``: the mean of [CLS] and [DIST] (the paper); ``"mean"``: the mean of the patches;
    ``"max"``: each channel's maximum over the patches, as the CNN pools (a short event in a
    long quiet clip then counts as much as one that fills it).
    """
    if pooling == "tokens":
        return tokens[:, :NUM_PREFIX_TOKENS].mean(dim=1)  # (B, D)
    if pooling == "mean":
        return tokens[:, NUM_PREFIX_TOKENS:].mean(dim=1)  # (B, D)
    if pooling == "max":
        return tokens[:, NUM_PREFIX_TOKENS:].amax(dim=1)  # (B, D)
    if pooling == "distilled":
        raise ValueError('pooling="distilled" has two heads: use AST.heads, not pool')
    raise ValueError(f"unknown pooling {pooling!r}; choose one of {POOLINGS}")


def tokens_with_positions(
    patches: Tensor, cls_token: Tensor, dist_token: Tensor, pos_embed: Tensor
) -> Tensor:
    """Put [CLS] and [DIST] in front of the patch tokens and add every token's position.

    ``patches (B, N, D)``, ``cls_token`` and ``dist_token (1, 1, D)``, ``pos_embed (1, 2 + N, D)``
    -> ``(B, 2 + N, D)``: token 0 is [CLS], token 1 [DIST], then the patches in grid order.
    """
    B = patches.shape[0]
    prefix = [cls_token.expand(B, -1, -1), dist_token.expand(B, -1, -1)]  # 2 x (B, 1, D)
    return torch.cat([*prefix, patches], dim=1) + pos_embed  # (B, 2 + N, D)


class AST(nn.Module):
    """Audio Spectrogram Transformer: ``(B, n_mels, frames)`` log-mels -> ``(B, classes)`` logits.

    Also accepts ``(B, 1, n_mels, frames)``. Sizes come from ``ASTConfig`` (see
    ``ASTConfig.preset``); the number of patches follows from the input size and strides.
    """

    def __init__(self, cfg: ASTConfig):
        super().__init__()
        if cfg.pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {cfg.pooling!r}; choose one of {POOLINGS}")
        if cfg.label_pooling not in ("cls", "max"):
            raise ValueError(f"unknown label_pooling {cfg.label_pooling!r}; choose cls or max")
        self.cfg = cfg
        D = cfg.embed_dim
        self.patch_embed = PatchEmbed(
            cfg.n_mels, cfg.n_frames, cfg.patch_size, cfg.fstride, cfg.tstride, D
        )
        n_tokens = NUM_PREFIX_TOKENS + self.patch_embed.num_patches
        self.cls_token = nn.Parameter(torch.zeros(1, 1, D))
        self.dist_token = nn.Parameter(torch.zeros(1, 1, D))
        self.pos_embed = nn.Parameter(torch.zeros(1, n_tokens, D))
        self.pos_drop = dropout_or_identity(cfg.drop_rate)
        self.blocks = Encoder(
            D,
            cfg.depth,
            cfg.num_heads,
            cfg.mlp_ratio,
            cfg.qkv_bias,
            cfg.drop_rate,
            cfg.attn_drop_rate,
            cfg.drop_path_rate,
            cfg.fused_attention,
            cfg.layer_norm_eps,
        )
        self.norm = nn.LayerNorm(D, eps=cfg.layer_norm_eps)
        self.head_norm = nn.LayerNorm(D, eps=cfg.head_norm_eps) if cfg.head_norm else None
        self.head = nn.Linear(D, cfg.num_classes)
        self.head_dist = nn.Linear(D, cfg.num_classes) if cfg.pooling == "distilled" else None
        self.init_weights()

    def init_weights(self) -> None:
        """Tokens and positions ~ trunc-normal(0.02); Linear layers likewise with zero bias.

        The small head weights keep the initial logits near 0 (std about ``0.02 * sqrt(D)``), so
        the initial loss is close to ``ln(num_classes)``: the model starts out guessing uniformly.
        """
        for param in (self.cls_token, self.dist_token, self.pos_embed):
            trunc_normal(param)
        self.apply(init_linear)

    def embed(self, spec: Tensor) -> Tensor:
        """Spectrograms -> tokens ``(B, 2 + N, D)``: [CLS], [DIST], patches, each + its position."""
        patches = self.patch_embed(spec)  # (B, N, D)
        tokens = tokens_with_positions(patches, self.cls_token, self.dist_token, self.pos_embed)
        return self.pos_drop(tokens)  # (B, 2 + N, D)

    def forward_features(self, spec: Tensor) -> Tensor:
        """Spectrograms -> encoded, normalised tokens ``(B, 2 + N, D)``."""
        return self.norm(self.blocks(self.embed(spec)))  # (B, 2 + N, D)

    def forward_head(self, tokens: Tensor) -> Tensor:
        """Encoded tokens ``(B, 2 + N, D)`` -> logits ``(B, num_classes)``."""
        if self.head_dist is not None:
            cls_logits, dist_logits = self.heads(tokens)
            return (cls_logits + dist_logits) / 2  # (B, num_classes), DeiT's inference rule
        return self.head(self.head_input(pool(tokens, self.cfg.pooling)))  # (B, num_classes)

    def head_input(self, pooled: Tensor) -> Tensor:
        """What a head reads: the pooled token ``(B, D)``, through ``head_norm`` if there is one."""
        return pooled if self.head_norm is None else self.head_norm(pooled)

    def heads(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """``pooling="distilled"``: encoded tokens -> ``(label logits, [DIST] logits)``, each
        ``(B, num_classes)``; training reads both, one for the labels, one for the teacher. The
        label head reads [CLS] (DeiT), or with ``label_pooling="max"`` the patches' maximum."""
        if self.head_dist is None:
            raise ValueError(
                f'only an AST with pooling="distilled" has two heads; this one pools '
                f"{self.cfg.pooling!r}"
            )
        label_input = tokens[:, 0] if self.cfg.label_pooling == "cls" else pool(tokens, "max")
        dist_input = tokens[:, 1]
        return self.head(self.head_input(label_input)), self.head_dist(self.head_input(dist_input))

    def forward_heads(self, spec: Tensor) -> tuple[Tensor, Tensor]:
        """Spectrograms -> ``([CLS] logits, [DIST] logits)``; see ``heads``."""
        return self.heads(self.forward_features(spec))

    def forward(self, spec: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(spec))

    def resize_input(self, n_frames: int, n_mels: Optional[int] = None) -> "AST":
        """Make the model take ``n_mels x n_frames`` inputs: resample ``pos_embed`` to the new grid.

        Replaces the ``pos_embed`` parameter: build any optimiser after calling this.
        """
        n_mels = self.cfg.n_mels if n_mels is None else n_mels
        old_grid = self.patch_embed.grid_size
        self.patch_embed.set_input_size(n_mels, n_frames)
        with torch.no_grad():
            resized = resize_pos_embed(self.pos_embed, old_grid, self.patch_embed.grid_size)
        self.pos_embed = nn.Parameter(resized)
        self.cfg = dataclasses.replace(self.cfg, n_mels=n_mels, n_frames=n_frames)
        return self

    @torch.no_grad()
    def pos_embed_similarity(self) -> Tensor:
        """Cosine similarity between the patches' positional embeddings: ``(Fp, Tp, Fp, Tp)``.

        ``sim[i, j]`` is an ``(Fp, Tp)`` map: how similar patch ``(i, j)``'s position vector is to
        every other patch's. A trained model shows bright neighbourhoods: it has learned the grid.
        """
        positions = F.normalize(self.pos_embed[0, NUM_PREFIX_TOKENS:], dim=-1)  # (N, D), unit rows
        sim = positions @ positions.T  # (N, N)
        grid = self.patch_embed.grid_size
        return sim.reshape(*grid, *grid)  # (Fp, Tp, Fp, Tp)

    @torch.no_grad()
    def attention_maps(self, spec: Tensor) -> list[Tensor]:
        """Each block's attention weights for ``spec``: ``depth`` tensors ``(B, nh, 2 + N, 2 + N)``.

        Computed by the written-out attention (the fused kernel never forms them). Call in eval mode
        so dropout and drop-path do not change the tokens between blocks.
        """
        x = self.embed(spec)  # (B, 2 + N, D)
        maps = []
        for block in self.blocks:
            maps.append(block.attention_weights(x))  # (B, nh, 2 + N, 2 + N)
            x = block(x)  # (B, 2 + N, D)
        return maps

    def extra_repr(self) -> str:
        f_patches, t_patches = self.patch_embed.grid_size
        n = self.patch_embed.num_patches
        D = self.cfg.embed_dim
        return (
            f"tokens=[CLS] + [DIST] + {f_patches}x{t_patches} grid ({n} patches) "
            f"= {n + NUM_PREFIX_TOKENS}, pooling={self.cfg.pooling}\n"
            f"cls_token=(1, 1, {D}), dist_token=(1, 1, {D}), "
            f"pos_embed={tuple(self.pos_embed.shape)}"
        )
