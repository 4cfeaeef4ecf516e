"""The AST authors' checkpoint layout: ``from_authors`` equals transformers' conversion of it.

The checkpoint is made as their ``ASTModel`` lays one out (a timm DeiT under ``module.v.``, one
channel of patch filters, a 12 x 101 position grid for 1,024 frames, ``module.mlp_head`` as
LayerNorm + Linear, DeiT's unused heads still inside), from a random timm DeiT. The reference
converts it to an ``ASTForAudioClassification`` by the key mapping of transformers'
``convert_audio_spectrogram_transformer_original_to_pytorch.py``, written out below.
"""

from __future__ import annotations

import pytest
import torch

from ast_lab.config import ASTConfig
from ast_lab.models.pretrained import from_authors
from reference_models import import_timm

timm = import_timm()
transformers = pytest.importorskip("transformers")
safetensors_torch = pytest.importorskip("safetensors.torch")

pytestmark = pytest.mark.usefixtures("one_torch_thread")

LOGITS_TOL = 1e-5
CLASSES = 5
AUDIOSET_GRID = (12, 101)  # 128 mel bins x 1,024 frames at stride 10
RENAMES = [  # transformers' rename_key, in its order: (substring, replacement)
    ("module.v", "audio_spectrogram_transformer"), ("cls_token", "embeddings.cls_token"),
    ("dist_token", "embeddings.distillation_token"),
    ("pos_embed", "embeddings.position_embeddings"),
    ("patch_embed.proj", "embeddings.patch_embeddings.projection"), ("blocks", "encoder.layer"),
    ("attn.proj", "attention.output.dense"), ("attn", "attention.self"),
    ("norm1", "layernorm_before"), ("norm2", "layernorm_after"),
    ("mlp.fc1", "intermediate.dense"), ("mlp.fc2", "output.dense"),
    ("audio_spectrogram_transformer.norm", "audio_spectrogram_transformer.layernorm"),
    ("module.mlp_head.0", "classifier.layernorm"), ("module.mlp_head.1", "classifier.dense"),
]


def authors_checkpoint(depth: int = 2) -> dict[str, torch.Tensor]:
    """An authors'-layout state dict from a random DeiT-tiny, trained-looking (all random)."""
    torch.manual_seed(0)
    deit = timm.create_model("deit_tiny_distilled_patch16_224", pretrained=False, depth=depth)
    dim = deit.embed_dim
    state = {f"module.v.{k}": torch.randn_like(v) * 0.3 for k, v in deit.state_dict().items()}
    state["module.v.patch_embed.proj.weight"] = torch.randn(dim, 1, 16, 16) * 0.3
    cells = AUDIOSET_GRID[0] * AUDIOSET_GRID[1]
    state["module.v.pos_embed"] = torch.randn(1, 2 + cells, dim) * 0.3
    for index, shape in (("0", (dim,)), ("1", (CLASSES, dim))):
        state[f"module.mlp_head.{index}.weight"] = torch.randn(shape) * 0.3
        state[f"module.mlp_head.{index}.bias"] = torch.randn(shape[0]) * 0.3
    return state


def converted_to_hf(state: dict[str, torch.Tensor], max_length: int, folder):
    """transformers' model of ``state``, converted as their script does (saved in ``folder``
    under the hub's names, then loaded by ``from_pretrained``), in eval mode."""
    dim = state["module.v.cls_token"].shape[-1]
    hf_state = {}
    for key, value in state.items():
        if key.startswith(("module.v.head.", "module.v.head_dist.")):
            continue  # their remove_keys
        if "qkv" in key:
            layer, kind = key.split(".")[3], key.split(".")[-1]
            for part, rows in zip(("query", "key", "value"), value.split(dim)):
                prefix = f"audio_spectrogram_transformer.encoder.layer.{layer}.attention.attention"
                hf_state[f"{prefix}.{part}.{kind}"] = rows
            continue
        for old, new in RENAMES:
            key = key.replace(old, new) if old in key else key
        hf_state[key] = value
    config = transformers.ASTConfig(
        hidden_size=dim, num_hidden_layers=2, num_attention_heads=dim // 64,
        intermediate_size=4 * dim, max_length=max_length, num_labels=CLASSES,
        layer_norm_eps=1e-6)  # timm's, as the authors' blocks
    config.save_pretrained(folder)
    safetensors_torch.save_file({k: v.contiguous() for k, v in hf_state.items()},
                                folder / "model.safetensors", metadata={"format": "pt"})
    model, info = transformers.ASTForAudioClassification.from_pretrained(
        folder, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    model.classifier.layernorm.eps = 1e-5  # their mlp_head's, torch's (HF's config has one eps)
    return model.eval()


def authors_cut_to(state: dict[str, torch.Tensor], t_dim: int) -> dict[str, torch.Tensor]:
    """Their code's fit of the AudioSet grid to ``t_dim`` < 101 columns: the middle ones."""
    pos = state["module.v.pos_embed"]
    grid = pos[:, 2:].reshape(1, *AUDIOSET_GRID, -1).permute(0, 3, 1, 2)  # (1, D, 12, 101)
    grid = grid[:, :, :, 50 - t_dim // 2 : 50 - t_dim // 2 + t_dim]
    cells = grid.reshape(1, grid.shape[1], -1).transpose(1, 2)
    return {**state, "module.v.pos_embed": torch.cat([pos[:, :2], cells], dim=1)}


def tiny(n_frames: int, **overrides) -> ASTConfig:
    settings = dict(depth=2, n_frames=n_frames, num_classes=CLASSES)
    return ASTConfig.preset("tiny", **{**settings, **overrides})


def max_logit_difference(ours, reference, n_frames: int) -> float:
    spec = torch.randn(2, 128, n_frames, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = reference(input_values=spec.transpose(1, 2)).logits
        got = ours.eval()(spec)
    assert expected.std() > 0.1
    return (got - expected).abs().max().item()


def test_checkpoint_equals_the_converted_hf_model(tmp_path):
    state = authors_checkpoint()
    torch.save(state, tmp_path / "audioset_10_10.pth")
    ours = from_authors(tmp_path / "audioset_10_10.pth", tiny(1024))
    assert ours.cfg.head_norm and ours.cfg.layer_norm_eps == 1e-6
    reference = converted_to_hf(state, 1024, tmp_path)
    assert max_logit_difference(ours, reference, 1024) <= LOGITS_TOL


def test_fitted_to_esc50s_512_frames_as_the_authors_do(tmp_path):
    state = authors_checkpoint()
    ours = from_authors(state, tiny(512))  # 12 x 50: the middle 50 of 101 columns
    reference = converted_to_hf(authors_cut_to(state, 50), 512, tmp_path)
    assert max_logit_difference(ours, reference, 512) <= LOGITS_TOL


def test_a_new_head_for_fine_tuning_keeps_the_encoder():
    state = authors_checkpoint()
    kept = from_authors(state, tiny(512)).state_dict()
    fresh = from_authors(state, tiny(512, num_classes=50, head_norm=True), new_head=True)
    assert fresh.head.weight.shape == (50, 192) and fresh.cfg.head_norm
    for key, value in fresh.state_dict().items():
        if not key.startswith("head"):
            assert torch.equal(value, kept[key]), key


def test_wrong_head_or_layout_says_what_to_do():
    state = authors_checkpoint()
    with pytest.raises(ValueError, match=rf"{CLASSES} classes.*num_classes={CLASSES}"):
        from_authors(state, tiny(512, num_classes=50))
    deit = {k.removeprefix("module.v."): v for k, v in state.items()}
    with pytest.raises(ValueError, match="not an AST authors' checkpoint"):
        from_authors(deit, tiny(512))
