"""The AST authors' checkpoints (``audioset_10_10_0.4593.pth`` and its siblings).

Their ``ASTModel`` keeps a timm DeiT as ``v`` (already adapted: one-channel patch filters, the
position grid of its input) and a head ``mlp_head = LayerNorm + Linear`` on the mean of [CLS]
and [DIST]; trained under ``torch.nn.DataParallel``, every key starts with ``module.``:

    module.v.cls_token, module.v.dist_token     (1, 1, 768)
    module.v.pos_embed                          (1, 2 + 12 * 101, 768): 128 mel bins x 1,024
                                                frames at stride 10 (10 s of AudioSet)
    module.v.patch_embed.proj.weight            (768, 1, 16, 16)
    module.v.blocks.{i}.*, module.v.norm.*      timm's names, LayerNorm epsilon 1e-6
    module.v.head.*, module.v.head_dist.*       DeiT's unused ImageNet heads: dropped
    module.mlp_head.0.*  (LayerNorm, eps 1e-5), module.mlp_head.1.* (Linear, 527 AudioSet classes)

For another input length the position grid is fitted as their code does for ESC-50's 512
frames (``grid.fit_position_grid``: 12 x 101 -> 12 x 50, the middle 50 columns). Their inputs
are Kaldi FBANK with 128 mel bins, normalised by AudioSet's mean and twice its std
(``audioset_inputs``).
"""

from __future__ import annotations

import dataclasses

from torch import Tensor

from ...config import ASTConfig
from ..ast import AST, NUM_PREFIX_TOKENS
from .grid import fit_position_grid
from .inputs import CheckpointInputs, kaldi_inputs
from .timm_layout import HEAD_WIDTH, check_sizes, take_encoder, timm_config, vit_sizes
from .weights import (
    WeightSource, check_all_used, fresh_head, load_checked, pop_weight, read_weights,
)

AUTHORS_LAYOUT = "an AST authors' checkpoint (module.v.*, module.mlp_head.*)"
ENCODER_PREFIX, HEAD_PREFIX = "module.v.", "module.mlp_head."
UNUSED_DEIT_HEADS = ("head.weight", "head.bias", "head_dist.weight", "head_dist.bias")
MEL_BINS = 128  # every checkpoint of theirs reads 128 mel bins
HEAD_NORM_EPS = 1e-5  # their mlp_head's LayerNorm: torch's default
AUDIOSET_FRAMES = 1024  # 10.24 s: AudioSet's 10-s clips (998 frames) padded with zeros
AUDIOSET_MEAN, AUDIOSET_STD = -4.2677393, 4.5689974  # of AudioSet's FBANK, from their recipe
PUBLISHED_STRIDES = (10, 12, 14, 16)  # the strides of their AudioSet checkpoints, both axes


def split_authors_state(state: dict[str, Tensor], source: str) -> tuple[dict, dict]:
    """``(encoder, head)``: the DeiT's weights in timm's names (its unused heads dropped) and the
    ``mlp_head``'s under ``0.*`` (LayerNorm) and ``1.*`` (Linear)."""
    encoder = {k[len(ENCODER_PREFIX):]: v for k, v in state.items() if k.startswith(ENCODER_PREFIX)}
    head = {k[len(HEAD_PREFIX):]: v for k, v in state.items() if k.startswith(HEAD_PREFIX)}
    others = sorted(k for k in state if not k.startswith((ENCODER_PREFIX, HEAD_PREFIX)))
    if not encoder or others:
        shown = ", ".join(repr(k) for k in (others or sorted(state))[:3])
        raise ValueError(f"{source} is not {AUTHORS_LAYOUT}: it has keys like {shown}")
    return {k: v for k, v in encoder.items() if k not in UNUSED_DEIT_HEADS}, head


def authors_grid(pos_embed: Tensor, cfg: ASTConfig, source: str) -> tuple[int, int]:
    """The checkpoint's patch grid ``(freq, time)``: 128 mel bins at the config's strides give
    the frequency rows, and the time columns are what is left of the position rows."""
    f_patches = (MEL_BINS - cfg.patch_size) // cfg.fstride + 1  # as patches.patch_grid
    cells = pos_embed.shape[1] - NUM_PREFIX_TOKENS
    if cells % f_patches:
        raise ValueError(f"{source}: {cells} position rows are not {f_patches} frequency rows "
                         f"(128 mel bins at fstride {cfg.fstride}) of whole time columns; are "
                         "the config's strides the checkpoint's?")
    return f_patches, cells // f_patches


def head_classes(head: dict[str, Tensor], source: str) -> int:
    """The number of classes of the ``mlp_head`` (527 for AudioSet)."""
    if "1.weight" not in head:
        raise ValueError(f"{source} has no '{HEAD_PREFIX}1.weight': not {AUTHORS_LAYOUT}")
    return head["1.weight"].shape[0]


def kept_head(head: dict[str, Tensor], source: str) -> dict[str, Tensor]:
    """The ``mlp_head`` under our names: ``head_norm`` (its LayerNorm) and ``head``."""
    head = dict(head)
    ours = {f"{ours}.{kind}": pop_weight(head, f"{index}.{kind}", source, AUTHORS_LAYOUT)
            for index, ours in (("0", "head_norm"), ("1", "head")) for kind in ("weight", "bias")}
    check_all_used(head, source, AUTHORS_LAYOUT)
    return ours


def from_authors(source: WeightSource, cfg: ASTConfig, new_head: bool = False) -> AST:
    """An AST with the weights of an authors' checkpoint, for ``cfg``'s input length.

    ``cfg``: the input size and strides (the checkpoint's strides: 10 for ``*_10_10_*``), the
    regularisation, and the sizes of the checkpoint (``ASTConfig.preset("base")``). Their head
    (LayerNorm + Linear, ``head_norm``) is kept, and ``cfg.num_classes`` must be its number of
    classes (527), unless ``new_head``: then a new head of ``cfg.num_classes`` starts from
    scratch, with a LayerNorm in front when ``cfg.head_norm`` (as their fine-tuning does).
    """
    state, name = read_weights(source)
    encoder, head = split_authors_state(state, name)
    sizes = vit_sizes(encoder, name, AUTHORS_LAYOUT)
    if sizes.in_chans != 1:
        raise ValueError(f"{name}: patch filters have {sizes.in_chans} channels, not the AST's "
                         "1; an ImageNet DeiT loads with from_deit")
    check_sizes(sizes, cfg, name)
    cfg = timm_config(cfg)
    if not new_head:
        classes = head_classes(head, name)
        if cfg.num_classes != classes or cfg.pooling != "tokens":
            raise ValueError(f"{name} has a head of {classes} classes on the mean of [CLS] and "
                             f"[DIST]: keep it with num_classes={classes}, pooling='tokens' (the "
                             f"config has {cfg.num_classes}, {cfg.pooling!r}), or start a new head")
        cfg = dataclasses.replace(cfg, head_norm=True, head_norm_eps=HEAD_NORM_EPS)
    model = AST(cfg)
    ours = take_encoder(encoder, name, AUTHORS_LAYOUT)
    for key in ("patch_embed.proj.weight", "patch_embed.proj.bias"):
        ours[key] = pop_weight(encoder, key, name, AUTHORS_LAYOUT)
    pos_embed = pop_weight(encoder, "pos_embed", name, AUTHORS_LAYOUT)
    ours["pos_embed"] = fit_position_grid(
        pos_embed, authors_grid(pos_embed, cfg, name), model.patch_embed.grid_size)
    check_all_used(encoder, name, AUTHORS_LAYOUT)
    ours.update(fresh_head(model) if new_head else kept_head(head, name))
    return load_checked(model, ours, name)


def authors_config(source: WeightSource) -> ASTConfig:
    """The config of a published checkpoint at its own input size: the sizes and classes read
    off the weights; the strides the first of 10, 12, 14 and 16 (both axes, as published) whose
    grid of 128 mel bins the position rows fill; the frames the fewest that grid needs (1,016
    for 12 x 101: the last 8 of their 1,024 frames fall in no patch)."""
    state, name = read_weights(source)
    encoder, head = split_authors_state(state, name)
    sizes = vit_sizes(encoder, name, AUTHORS_LAYOUT)
    cells = pop_weight(encoder, "pos_embed", name, AUTHORS_LAYOUT).shape[1] - NUM_PREFIX_TOKENS
    for stride in PUBLISHED_STRIDES:
        f_patches = (MEL_BINS - sizes.patch_size) // stride + 1
        if cells % f_patches == 0:
            n_frames = (cells // f_patches - 1) * stride + sizes.patch_size
            return ASTConfig(
                n_mels=MEL_BINS, n_frames=n_frames, patch_size=sizes.patch_size, fstride=stride,
                tstride=stride, embed_dim=sizes.embed_dim, depth=sizes.depth,
                num_heads=sizes.embed_dim // HEAD_WIDTH,
                mlp_ratio=sizes.mlp_hidden / sizes.embed_dim, drop_path_rate=0.0,
                num_classes=head_classes(head, name))
    raise ValueError(f"{name}: {cells} position rows fit no grid of 128 mel bins at strides "
                     f"{PUBLISHED_STRIDES}")


def audioset_inputs(n_frames: int = AUDIOSET_FRAMES) -> CheckpointInputs:
    """The input pipeline of their AudioSet checkpoints: Kaldi FBANK, 128 mel bins, 16 kHz,
    ``n_frames`` frames (zero-padded), ``(x - mean) / (2 * std)`` with AudioSet's statistics."""
    return kaldi_inputs(MEL_BINS, 16_000, n_frames, AUDIOSET_MEAN, AUDIOSET_STD)
