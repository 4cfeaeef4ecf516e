"""Hugging Face ``ASTForAudioClassification`` folders, e.g. MIT/ast-finetuned-audioset-10-10-0.4593.

Such a folder holds three files:

- ``config.json``: the sizes (``hidden_size``, ``num_hidden_layers``, ``num_attention_heads``,
  ``intermediate_size``), the input (``num_mel_bins``, ``max_length`` frames, ``patch_size``,
  ``frequency_stride``, ``time_stride``), ``layer_norm_eps`` (of every LayerNorm, 1e-12 by
  default), ``qkv_bias`` and the class names ``id2label``;
- ``model.safetensors`` (or ``pytorch_model.bin``): the weights, named as the authors' model
  converted by transformers' ``convert_audio_spectrogram_transformer_original_to_pytorch.py``,
  with the attention's fused ``qkv`` split into ``query``, ``key`` and ``value``;
- ``preprocessor_config.json``: ``ASTFeatureExtractor``'s settings (``sampling_rate``,
  ``num_mel_bins``, ``max_length``, ``do_normalize``, ``mean``, ``std``).

The model is the AST of this project with ``head_norm`` (their ``classifier.layernorm``); the
input pipeline is ``inputs.kaldi_inputs`` with the extractor's settings.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Optional

import torch
from torch import Tensor

from ...config import ASTConfig
from ..ast import AST
from ..patches import patch_grid
from .grid import fit_position_grid
from .inputs import CheckpointInputs, kaldi_inputs
from .weights import check_all_used, fresh_head, load_checked, pop_weight, read_weights

HF_LAYOUT = "an ASTForAudioClassification checkpoint"
MODEL_TYPE = "audio-spectrogram-transformer"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
ENCODER = "audio_spectrogram_transformer."
TOP_LEVEL = {  # theirs -> ours, for the tensors outside the blocks
    f"{ENCODER}embeddings.cls_token": "cls_token",
    f"{ENCODER}embeddings.distillation_token": "dist_token",
    f"{ENCODER}embeddings.position_embeddings": "pos_embed",
    **{f"{ENCODER}embeddings.patch_embeddings.projection.{k}": f"patch_embed.proj.{k}"
       for k in ("weight", "bias")},
    **{f"{ENCODER}layernorm.{k}": f"norm.{k}" for k in ("weight", "bias")},
    **{f"classifier.layernorm.{k}": f"head_norm.{k}" for k in ("weight", "bias")},
    **{f"classifier.dense.{k}": f"head.{k}" for k in ("weight", "bias")},
}
BLOCK_PARTS = {  # within encoder.layer.{i}: theirs -> ours
    "layernorm_before": "norm1", "attention.output.dense": "attn.proj",
    "layernorm_after": "norm2", "intermediate.dense": "mlp.fc1", "output.dense": "mlp.fc2",
}
QKV = ("query", "key", "value")  # the rows of our fused qkv, in this order


@dataclasses.dataclass
class HFCheckpoint:
    """A loaded folder: the model, its class names, and the input it reads."""

    model: AST  # in eval mode
    class_names: list[str]
    inputs: CheckpointInputs
    multi_label: bool = False  # config.json's problem_type says so: a sigmoid per class


def read_json(path: Path) -> dict:
    """A JSON file's object; ValueError naming the file when absent or not JSON."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: cannot read it as JSON ({err})") from err


def hf_ast_config(config: dict, source: str) -> ASTConfig:
    """Our ``ASTConfig`` for a transformers ``ASTConfig`` dict (``config.json``)."""
    if config.get("model_type") != MODEL_TYPE:
        raise ValueError(f"{source}: model_type is {config.get('model_type')!r}, "
                         f"not {MODEL_TYPE!r}")
    if config.get("hidden_act", "gelu") != "gelu":
        raise ValueError(f"{source}: hidden_act {config['hidden_act']!r}; only exact 'gelu' loads")
    width, hidden = config["hidden_size"], config["intermediate_size"]
    if int(width * (hidden / width)) != hidden:
        raise ValueError(f"{source}: intermediate_size {hidden} is no whole ratio of {width}")
    eps = config.get("layer_norm_eps", 1e-12)
    return ASTConfig(
        n_mels=config["num_mel_bins"], n_frames=config["max_length"],
        patch_size=config["patch_size"], fstride=config["frequency_stride"],
        tstride=config["time_stride"], embed_dim=width, depth=config["num_hidden_layers"],
        num_heads=config["num_attention_heads"], mlp_ratio=hidden / width,
        qkv_bias=config.get("qkv_bias", True), drop_rate=config.get("hidden_dropout_prob", 0.0),
        attn_drop_rate=config.get("attention_probs_dropout_prob", 0.0), drop_path_rate=0.0,
        num_classes=len(class_names(config)), pooling="tokens",
        layer_norm_eps=eps, head_norm=True, head_norm_eps=eps,
    )


def class_names(config: dict) -> list[str]:
    """``id2label`` in class order (``LABEL_i`` where the config names none)."""
    labels = {int(k): v for k, v in config.get("id2label", {}).items()}
    count = config.get("num_labels", len(labels))
    return [labels.get(i, f"LABEL_{i}") for i in range(max(count, len(labels)))]


def hf_inputs(preprocessor: dict, n_frames: Optional[int] = None) -> CheckpointInputs:
    """The pipeline of ``ASTFeatureExtractor(**preprocessor)``, for ``n_frames`` frames (its
    ``max_length`` by default). Without ``do_normalize`` the values are left as they are."""
    normalised = preprocessor.get("do_normalize", True)
    return kaldi_inputs(
        preprocessor.get("num_mel_bins", 128), preprocessor.get("sampling_rate", 16_000),
        n_frames or preprocessor.get("max_length", 1024),
        preprocessor.get("mean", -4.2677393) if normalised else 0.0,
        preprocessor.get("std", 4.5689974) if normalised else 0.5,  # 2 * 0.5: divide by 1
    )


def hf_block(state: dict[str, Tensor], index: int, cfg: ASTConfig, source: str) -> dict:
    """Block ``index``'s weights under our names, removed from ``state``; the separate query,
    key and value layers become our one ``qkv`` layer ``(3 * D, D)``."""
    theirs, ours = f"{ENCODER}encoder.layer.{index}.", f"blocks.{index}."
    take = lambda name: pop_weight(state, theirs + name, source, HF_LAYOUT)  # noqa: E731
    weights = {}
    for kind in ("weight", "bias") if cfg.qkv_bias else ("weight",):
        weights[f"{ours}attn.qkv.{kind}"] = torch.cat(
            [take(f"attention.attention.{part}.{kind}") for part in QKV])
    for their_part, our_part in BLOCK_PARTS.items():
        for kind in ("weight", "bias"):
            weights[f"{ours}{our_part}.{kind}"] = take(f"{their_part}.{kind}")
    return weights


def hf_state_to_ours(state: dict[str, Tensor], cfg: ASTConfig, source: str) -> dict:
    """Every tensor of a checkpoint under our names; ValueError for missing or extra ones."""
    state = dict(state)
    ours = {mine: pop_weight(state, theirs, source, HF_LAYOUT)
            for theirs, mine in TOP_LEVEL.items()}
    for index in range(cfg.depth):
        ours.update(hf_block(state, index, cfg, source))
    check_all_used(state, source, HF_LAYOUT)
    return ours


def weight_file(folder: Path) -> Path:
    """The folder's weights: ``model.safetensors``, else ``pytorch_model.bin``."""
    for name in WEIGHT_FILES:
        if (folder / name).is_file():
            return folder / name
    raise ValueError(f"{folder} holds none of {', '.join(WEIGHT_FILES)}: not a checkpoint folder")


def load_hf(
    folder: str | Path, n_frames: Optional[int] = None, num_classes: Optional[int] = None
) -> HFCheckpoint:
    """The model, class names and input pipeline of a Hugging Face AST folder.

    ``n_frames``: inputs of another length (the position grid is fitted as the authors fit it);
    ``num_classes``: a new head of that many classes (LayerNorm + Linear) for fine-tuning, the
    class names then ``LABEL_i``. ValueError names the file and the problem.
    """
    folder = Path(folder)
    config = read_json(folder / "config.json")
    cfg = hf_ast_config(config, str(folder / "config.json"))
    path = weight_file(folder)
    state, name = read_weights(path)
    ours = hf_state_to_ours(state, cfg, name)
    target = dataclasses.replace(cfg, n_frames=n_frames or cfg.n_frames,
                                 num_classes=num_classes or cfg.num_classes)
    model = AST(target)
    source_grid = patch_grid(cfg.n_mels, cfg.n_frames, cfg.patch_size, cfg.fstride, cfg.tstride)
    ours["pos_embed"] = fit_position_grid(ours["pos_embed"], source_grid,
                                          model.patch_embed.grid_size)
    if num_classes is not None:
        ours.update(fresh_head(model))
    load_checked(model, ours, name)
    names = (class_names(config) if num_classes is None
             else [f"LABEL_{i}" for i in range(num_classes)])
    inputs = hf_inputs(read_json(folder / "preprocessor_config.json"), target.n_frames)
    if inputs.fbank.n_mels != cfg.n_mels:
        raise ValueError(f"{folder}: the preprocessor makes {inputs.fbank.n_mels} mel bins, the "
                         f"model reads {cfg.n_mels}")
    multi_label = config.get("problem_type") == "multi_label_classification"
    return HFCheckpoint(model.eval(), names, inputs, multi_label)
