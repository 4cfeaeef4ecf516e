"""A fold that starts from pretrained weights (``--init``) instead of random ones.

Every fold of such a run starts from the same checkpoint, never from the fold before it; only
the new head (one per run's classes) starts at random, seeded by ``TrainConfig.seed``. Three
formats are read, told apart by ``models.pretrained.checkpoint_format``:

==========  ==================================================  =============================
format      what the path is                                     loader
==========  ==================================================  =============================
``deit``    an ImageNet DeiT in timm's names (.pth/.safetensors)  ``from_deit``
``authors`` the AST authors' checkpoint (``module.v.*``)          ``from_authors``, new head
``hf``      an ``ASTForAudioClassification`` folder               ``load_hf``, new head
==========  ==================================================  =============================

The run's model config is the recipe's, *checked* against the checkpoint, never silently
changed in size: the sizes that shape the weights (``SIZES``: width, depth, heads, MLP
ratio, patch, query-key-value bias; for the authors' and Hugging Face's checkpoints also the
strides, and for Hugging Face's the mel bands of the data) must be the checkpoint's, or a
one-line error names each field, the recipe's value and the checkpoint's. What is only a
convention of the checkpoint (``CONVENTIONS``: the LayerNorm epsilons, and for the AST
checkpoints the LayerNorm in front of the head) is taken from it, with a printed note for
each field it changes. The position grid is fitted to the run's input by the loaders. The
config so made is the one the run records, so ``--resume`` compares like with like.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from ..config import ASTConfig
from ..models.ast import AST
from ..models.pretrained import checkpoint_format, deit_config, from_authors, from_deit, load_hf
from ..models.pretrained.authors import HEAD_NORM_EPS, authors_config
from ..models.pretrained.hf import hf_ast_config, read_json
from ..models.pretrained.timm_layout import TIMM_LAYER_NORM_EPS
from ..models.pretrained.weights import NEW_HEAD_PREFIXES, fresh_head, load_checked
from .configs import ModelConfig

SIZES = ("embed_dim", "depth", "num_heads", "mlp_ratio", "patch_size", "qkv_bias")
GRID_SIZES = {"deit": (), "authors": ("fstride", "tstride"),
              "hf": ("fstride", "tstride", "n_mels")}  # checked beside SIZES, by format
CONVENTIONS = {"deit": ("layer_norm_eps",),
               "authors": ("layer_norm_eps", "head_norm", "head_norm_eps"),
               "hf": ("layer_norm_eps", "head_norm", "head_norm_eps")}  # taken, by format


def checkpoint_config(path: Path) -> tuple[str, ASTConfig]:
    """``(format, the checkpoint's own config)``: the sizes read off its weights (DeiT, the
    authors') or its ``config.json`` (Hugging Face). ValueError naming the path when it is
    none of the three formats."""
    fmt = checkpoint_format(path)
    if fmt == "hf":
        cfg = hf_ast_config(read_json(path / "config.json"), str(path / "config.json"))
        return fmt, cfg
    if fmt == "authors":
        cfg = authors_config(path)
        return fmt, dataclasses.replace(cfg, layer_norm_eps=TIMM_LAYER_NORM_EPS, head_norm=True,
                                        head_norm_eps=HEAD_NORM_EPS)
    return fmt, deit_config(path, layer_norm_eps=TIMM_LAYER_NORM_EPS)


def pretrained_config(cfg: ModelConfig, init: Path) -> ASTConfig:
    """``cfg`` (fitted to the data) checked against the checkpoint at ``init``, with the
    checkpoint's conventions taken (a note on stderr for each field that changes).
    ValueError naming the checkpoint and every size that differs."""
    if not isinstance(cfg, ASTConfig):
        raise ValueError(f"--init {init}: pretrained weights start an AST; the "
                         f"{type(cfg).__name__} model has none")
    fmt, theirs = checkpoint_config(init)
    differ = [f"{name} {getattr(cfg, name)!r} (the checkpoint's {getattr(theirs, name)!r})"
              for name in SIZES + GRID_SIZES[fmt] if getattr(cfg, name) != getattr(theirs, name)]
    if differ:
        raise ValueError(f"--init {init}: the model does not fit the checkpoint: "
                         f"{', '.join(differ)}; use a recipe of its size (esc50-ast-imagenet "
                         "and esc50-ast-audioset are base, 768 wide)")
    taken = {name: getattr(theirs, name) for name in CONVENTIONS[fmt]}
    for name, value in taken.items():
        if getattr(cfg, name) != value:
            print(f"note: --init {init}: model.{name} {getattr(cfg, name)!r} -> {value!r}, "
                  "as the checkpoint was trained", file=sys.stderr)
    return dataclasses.replace(cfg, **taken)


def pretrained_model(cfg: ASTConfig, init: Path) -> AST:
    """``AST(cfg)`` holding the checkpoint's weights (position grid fitted to ``cfg``'s input)
    and a new head of ``cfg.num_classes``; ``cfg`` as ``pretrained_config`` made it."""
    fmt = checkpoint_format(init)
    if fmt == "deit":
        loaded = from_deit(init, cfg)
    elif fmt == "authors":
        loaded = from_authors(init, cfg, new_head=True)
    else:
        loaded = load_hf(init, n_frames=cfg.n_frames, num_classes=cfg.num_classes).model
    model = AST(cfg)  # the run's own dropout, pooling and head, whatever the loader built
    encoder = {k: v for k, v in loaded.state_dict().items() if not k.startswith(NEW_HEAD_PREFIXES)}
    return load_checked(model, {**encoder, **fresh_head(model)}, str(init))
