"""Checkpoints made on the spot in each published layout: what notebook 05 loads offline.

The published weights (DeiT's, the AST authors', Hugging Face's) are downloads of 20 to 350 MB.
Where none is at hand, notebook 05 writes files of exactly their layouts from weights it makes
itself, and the loaders read those files as they would the real ones:

- ``stand_in_deit``: a distilled DeiT in timm's names. Its blocks are a fresh AST's (random);
  its patch filters are smooth oriented gratings in colour (``grating_filters``) and its
  positions a smooth 2-D sinusoidal embedding (``sinusoidal_positions``), so that the pictures
  of what ``from_deit`` adapts show something a learner can follow (random weights show noise);
- ``stand_in_audioset_ast``: what the authors built from a DeiT (128 mel bins x 1,024 frames, a
  LayerNorm + Linear head of AudioSet's 527 classes), here without any AudioSet training;
- ``save_authors`` and ``save_hf``: an AST written as the authors' ``.pth`` (``module.v.*``,
  with their ``class_labels_indices.csv`` beside it) or as a Hugging Face folder (``config.json``,
  ``model.safetensors``, ``preprocessor_config.json``; the inverse of ``hf.load_hf``).

They carry no knowledge: a model fine-tuned from them learns as from random weights. The tests
check the layouts against timm and transformers where those are installed.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Optional, Sequence

import torch
from torch import Tensor

from ...config import ASTConfig
from ..ast import AST, NUM_PREFIX_TOKENS
from .authors import ENCODER_PREFIX, HEAD_PREFIX
from .deit import deit_config, from_deit
from .hf import BLOCK_PARTS, ENCODER, MODEL_TYPE, QKV, TOP_LEVEL
from .timm_layout import TIMM_LAYER_NORM_EPS

IMAGENET_CLASSES = 1000  # DeiT's two heads
AUDIOSET_CLASSES = 527
INIT_STD = 0.02  # a fresh AST's weights (``ast.trunc_normal``): the stand-ins' scale too
LABELS_CSV = "class_labels_indices.csv"  # the authors' class list, beside their checkpoint


def grating_filters(count: int, patch_size: int = 16, seed: int = 0) -> Tensor:
    """``count`` colour patch filters ``(count, 3, p, p)``: each a grating (a cosine of random
    orientation, 0.5 to 3 cycles per patch, random phase) under a Gaussian window, a little like
    a trained vision transformer's first layer. Half are grey (the same in R, G and B), half
    colour-opponent (R, G, B weights summing to 0). Scaled to a fresh AST's weight spread."""
    g = torch.Generator().manual_seed(seed)
    centre = (patch_size - 1) / 2
    y, x = torch.meshgrid(torch.arange(patch_size) - centre, torch.arange(patch_size) - centre,
                          indexing="ij")  # (p, p) each, in pixels from the centre
    angle, phase = torch.rand(2, count, 1, 1, generator=g) * 2 * math.pi
    cycles = 0.5 + 2.5 * torch.rand(count, 1, 1, generator=g)  # per patch
    along = x * torch.cos(angle) + y * torch.sin(angle)  # (count, p, p)
    window = torch.exp(-(x**2 + y**2) / (2 * (patch_size / 3) ** 2))  # (p, p)
    grating = torch.cos(2 * math.pi * cycles * along / patch_size + phase) * window
    colours = torch.randn(count, 3, generator=g)
    opponent = torch.arange(count) % 2 == 1
    colours[opponent] -= colours[opponent].mean(dim=1, keepdim=True)  # R + G + B = 0
    colours[~opponent] = 1.0 + 0.1 * colours[~opponent]  # grey, slightly tinted
    filters = colours[:, :, None, None] * grating[:, None]  # (count, 3, p, p)
    norms = filters.flatten(1).norm(dim=1)[:, None, None, None]
    return filters / norms * INIT_STD * math.sqrt(filters[0].numel())


def sinusoidal_positions(grid: tuple[int, int], dim: int) -> Tensor:
    """A 2-D sinusoidal position embedding ``(1, 2 + F*T, dim)``, cells frequency-major.

    The first half of the channels are sines and cosines of the row, the second half of the
    column, at ``dim // 4`` wavelengths from twice the longer side down to 3 cells (geometric),
    so every channel is a smooth wave across the grid and near cells have near vectors. The
    rows of [CLS] and [DIST] are 0 (they have no cell). Scaled to a fresh AST's spread.
    """
    if dim % 4:
        raise ValueError(f"dim {dim} must be divisible by 4 (sine and cosine along two axes)")
    rows, cols = grid
    longest = 2 * max(rows, cols)
    wavelengths = longest * (3 / longest) ** torch.linspace(0, 1, dim // 4)  # (dim/4,) cells
    omega = 2 * math.pi / wavelengths
    r, c = torch.meshgrid(torch.arange(rows), torch.arange(cols), indexing="ij")  # (F, T) each
    parts = [f(pos.flatten()[:, None].float() * omega) for pos in (r, c) for f in (torch.sin,
                                                                                   torch.cos)]
    cells = torch.cat(parts, dim=1) * INIT_STD * math.sqrt(2)  # (F*T, dim), channel std 0.02
    prefix = torch.zeros(NUM_PREFIX_TOKENS, dim)
    return torch.cat([prefix, cells])[None]


def stand_in_deit(embed_dim: int = 192, depth: int = 2, grid: int = 24,
                  seed: int = 0) -> dict[str, Tensor]:
    """A distilled DeiT's state dict in timm's names, ``grid x grid`` patches of 16 pixels
    (24: DeiT-384's, which the paper starts from; 14: DeiT-224's), ``embed_dim`` wide (192 is
    DeiT-tiny's) with ``depth`` blocks: gratings for patch filters, sinusoidal positions,
    a fresh model's blocks, [CLS] and [DIST], and two 1000-class heads."""
    torch.manual_seed(seed)
    cfg = ASTConfig(n_mels=16 * grid, n_frames=16 * grid, fstride=16, tstride=16,
                    embed_dim=embed_dim, depth=depth, num_heads=max(1, embed_dim // 64),
                    num_classes=IMAGENET_CLASSES, pooling="distilled",
                    layer_norm_eps=TIMM_LAYER_NORM_EPS)
    state = AST(cfg).state_dict()
    state["patch_embed.proj.weight"] = grating_filters(embed_dim, seed=seed)
    state["pos_embed"] = sinusoidal_positions((grid, grid), embed_dim)
    return state


def stand_in_audioset_ast(deit: dict[str, Tensor], n_frames: int = 1024,
                          num_classes: int = AUDIOSET_CLASSES) -> AST:
    """The authors' recipe up to AudioSet training: ``deit`` adapted to 128 mel bins x
    ``n_frames`` at stride 10 (12 x 101 patches for 1,024) with a new LayerNorm + Linear head of
    ``num_classes``, its epsilon timm's (the blocks')."""
    cfg = deit_config(deit, n_mels=128, n_frames=n_frames, num_classes=num_classes,
                      head_norm=True, head_norm_eps=TIMM_LAYER_NORM_EPS, drop_path_rate=0.0)
    return from_deit(deit, cfg).eval()


def check_head(model: AST) -> None:
    """ValueError unless ``model`` has the published checkpoints' head: LayerNorm + Linear on
    the mean of [CLS] and [DIST]."""
    if model.cfg.pooling != "tokens" or not model.cfg.head_norm:
        raise ValueError("the published layouts hold a LayerNorm + Linear head on the mean of "
                         "[CLS] and [DIST]: the model needs pooling='tokens' and head_norm=True")


def write_labels(path: Path, class_names: Sequence[str]) -> Path:
    """``class_names`` as the authors' ``index,mid,display_name`` CSV at ``path``."""
    rows = [f'{i},/stand-in/{i},"{name}"' for i, name in enumerate(class_names)]
    path.write_text("index,mid,display_name\n" + "\n".join(rows) + "\n")
    return path


def save_authors(model: AST, path: str | Path,
                 class_names: Optional[Sequence[str]] = None) -> Path:
    """Write ``model`` as the authors' ``.pth``: the encoder under ``module.v.``, the head under
    ``module.mlp_head.0`` (LayerNorm) and ``.1`` (Linear); with ``class_names``, their CSV
    ``class_labels_indices.csv`` beside it. Returns the ``.pth`` path."""
    check_head(model)
    path = Path(path)
    heads = {"head_norm.": f"{HEAD_PREFIX}0.", "head.": f"{HEAD_PREFIX}1."}
    state = {}
    for key, value in model.state_dict().items():
        prefix = next((p for p in heads if key.startswith(p)), None)
        name = heads[prefix] + key[len(prefix):] if prefix else ENCODER_PREFIX + key
        state[name] = value.detach().clone()
    torch.save(state, path)
    if class_names is not None:
        write_labels(path.parent / LABELS_CSV, class_names)
    return path


def hf_state(model: AST) -> dict[str, Tensor]:
    """``model``'s weights under transformers' names (the inverse of ``hf.hf_state_to_ours``):
    the fused ``qkv`` split into ``query``, ``key`` and ``value``."""
    ours = model.state_dict()
    theirs = {their: ours[mine] for their, mine in TOP_LEVEL.items()}
    for index in range(model.cfg.depth):
        layer, block = f"{ENCODER}encoder.layer.{index}.", f"blocks.{index}."
        for kind in ("weight", "bias") if model.cfg.qkv_bias else ("weight",):
            rows = ours[f"{block}attn.qkv.{kind}"].chunk(len(QKV))
            theirs.update({f"{layer}attention.attention.{part}.{kind}": row
                           for part, row in zip(QKV, rows)})
        for their_part, our_part in BLOCK_PARTS.items():
            for kind in ("weight", "bias"):
                theirs[f"{layer}{their_part}.{kind}"] = ours[f"{block}{our_part}.{kind}"]
    return theirs


def write_safetensors(tensors: dict[str, Tensor], path: Path) -> Path:
    """``tensors`` as float32 in a ``.safetensors`` file (``weights.read_safetensors`` reads
    it): header length, JSON header padded to 8 bytes, raw little-endian data."""
    header, blobs, offset = {}, [], 0
    for name, tensor in tensors.items():
        data = tensor.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps({"__metadata__": {"format": "pt"}, **header}).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    return path


def save_hf(model: AST, folder: str | Path, class_names: Sequence[str], mean: float,
            std: float) -> Path:
    """Write ``model`` as a Hugging Face ``ASTForAudioClassification`` folder, with an
    ``ASTFeatureExtractor`` config normalising by ``mean`` and ``2 * std``. transformers has one
    LayerNorm epsilon: the blocks' (``cfg.layer_norm_eps``) is written, and the head's LayerNorm
    reads it too. Returns the folder."""
    check_head(model)
    cfg, folder = model.cfg, Path(folder)
    if len(class_names) != cfg.num_classes:
        raise ValueError(f"{len(class_names)} class names for a head of {cfg.num_classes}")
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "architectures": ["ASTForAudioClassification"], "model_type": MODEL_TYPE,
        "hidden_size": cfg.embed_dim, "num_hidden_layers": cfg.depth,
        "num_attention_heads": cfg.num_heads,
        "intermediate_size": int(cfg.embed_dim * cfg.mlp_ratio),
        "hidden_act": "gelu", "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
        "initializer_range": INIT_STD, "layer_norm_eps": cfg.layer_norm_eps,
        "patch_size": cfg.patch_size, "qkv_bias": cfg.qkv_bias,
        "frequency_stride": cfg.fstride, "time_stride": cfg.tstride,
        "max_length": cfg.n_frames, "num_mel_bins": cfg.n_mels,
        "id2label": {str(i): name for i, name in enumerate(class_names)},
        "label2id": {name: i for i, name in enumerate(class_names)},
    }
    preprocessor = {
        "feature_extractor_type": "ASTFeatureExtractor", "feature_size": 1,
        "sampling_rate": 16_000, "num_mel_bins": cfg.n_mels, "max_length": cfg.n_frames,
        "do_normalize": True, "mean": mean, "std": std, "padding_value": 0.0,
        "return_attention_mask": False,
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    (folder / "preprocessor_config.json").write_text(json.dumps(preprocessor, indent=2))
    write_safetensors(hf_state(model), folder / "model.safetensors")
    return folder
