"""Checkpoints made on the spot (notebook 05): the published layouts, loaded back exactly.

Where timm and transformers are installed, the layouts are checked against them too: the
stand-in DeiT has a timm DeiT's names and shapes, and transformers loads the Hugging Face folder
``save_hf`` writes and computes the same logits.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from ast_lab.models.pretrained import (
    checkpoint_format, deit_config, from_authors, from_deit, load_hf,
)
from ast_lab.models.pretrained.authors import authors_config
from ast_lab.models.pretrained.stand_ins import (
    grating_filters, hf_state, save_authors, save_hf, sinusoidal_positions, stand_in_audioset_ast,
    stand_in_deit, write_safetensors,
)
from ast_lab.models.pretrained.weights import read_safetensors
from reference_models import import_timm

pytestmark = pytest.mark.usefixtures("one_torch_thread")

NAMES = ["dog", "rain", "fire", "sea waves", "clock"]


@pytest.fixture(scope="module")
def deit():
    """A small stand-in: 64 wide (one head), 1 block, DeiT-224's 14 x 14 grid."""
    return stand_in_deit(embed_dim=64, depth=1, grid=14)


@pytest.fixture(scope="module")
def audioset_ast(deit):
    """The stand-in AudioSet AST at 200 frames (12 x 19 patches) with 5 classes."""
    return stand_in_audioset_ast(deit, n_frames=200, num_classes=len(NAMES))


def test_the_stand_in_deit_has_timm_names_and_shapes():
    timm = import_timm()
    reference = timm.create_model("deit_tiny_distilled_patch16_224", pretrained=False, depth=2)
    ours = stand_in_deit(embed_dim=192, depth=2, grid=14)
    expected = {k: tuple(v.shape) for k, v in reference.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in ours.items()} == expected


def test_from_deit_reads_the_stand_in(deit):
    assert deit_config(deit).embed_dim == 64 and deit_config(deit).depth == 1
    model = from_deit(deit, deit_config(deit, n_mels=128, n_frames=512, num_classes=3))
    assert model.patch_embed.grid_size == (12, 50)
    assert torch.equal(model.patch_embed.proj.weight, deit["patch_embed.proj.weight"].sum(1, True))


def test_grey_gratings_survive_the_rgb_sum_and_opponent_ones_cancel():
    filters = grating_filters(8)  # (8, 3, 16, 16): even filters grey, odd ones colour-opponent
    kept = filters.sum(1).flatten(1).norm(dim=1) / (math.sqrt(3) * filters.flatten(1).norm(dim=1))
    assert (kept[0::2] > 0.9).all() and (kept[1::2] < 1e-5).all()
    assert filters.flatten(1).norm(dim=1).allclose(torch.full((8,), 0.02 * math.sqrt(768)))


def test_sinusoidal_positions_are_alike_near_and_unlike_far():
    pos = sinusoidal_positions((24, 24), 64)  # (1, 2 + 576, 64)
    assert pos.shape == (1, 578, 64) and torch.equal(pos[0, :2], torch.zeros(2, 64))
    cells = F.normalize(pos[0, 2:], dim=1).reshape(24, 24, 64)
    centre = cells[12, 12]
    near = [cells[12, 13] @ centre, cells[13, 12] @ centre]
    far = [cells[12, 0] @ centre, cells[0, 12] @ centre]
    assert min(near) > 0.75 and max(far) < 0.5  # a far cell shares only its row or column
    with pytest.raises(ValueError, match="divisible by 4"):
        sinusoidal_positions((4, 4), 6)


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


def test_the_authors_layout_loads_back_exactly(audioset_ast, tmp_path):
    path = save_authors(audioset_ast, tmp_path / "audioset_10_10_0.4593.pth", NAMES)
    assert checkpoint_format(path) == "authors"
    labels = (tmp_path / "class_labels_indices.csv").read_text().splitlines()
    assert labels[:2] == ["index,mid,display_name", '0,/stand-in/0,"dog"']
    keys = torch.load(path, weights_only=True).keys()
    assert "module.mlp_head.1.weight" in keys and "module.v.pos_embed" in keys
    loaded = from_authors(path, authors_config(path))
    assert loaded.patch_embed.grid_size == audioset_ast.patch_embed.grid_size == (12, 19)
    _same_weights(loaded, audioset_ast)


def test_the_hf_folder_loads_back_exactly(audioset_ast, tmp_path):
    folder = save_hf(audioset_ast, tmp_path / "hf", NAMES, mean=-5.0, std=3.0)
    assert checkpoint_format(folder) == "hf"
    checkpoint = load_hf(folder)
    assert checkpoint.class_names == NAMES and checkpoint.inputs.norm == (-5.0, 6.0)
    assert checkpoint.inputs.fbank.target_frames == 200
    _same_weights(checkpoint.model, audioset_ast)
    with pytest.raises(ValueError, match="2 class names"):
        save_hf(audioset_ast, tmp_path / "bad", NAMES[:2], mean=0.0, std=1.0)


def test_transformers_reads_the_hf_folder(audioset_ast, tmp_path):
    transformers = pytest.importorskip("transformers")
    folder = save_hf(audioset_ast, tmp_path / "hf", NAMES, mean=-5.0, std=3.0)
    theirs = transformers.ASTForAudioClassification.from_pretrained(folder).eval()
    spec = torch.randn(2, 128, 200, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = theirs(input_values=spec.transpose(1, 2)).logits  # theirs: (B, T, F)
        got = audioset_ast(spec)
    assert (got - expected).abs().max() <= 1e-5


def test_write_safetensors_round_trips(audioset_ast, tmp_path):
    tensors = hf_state(audioset_ast)
    path = write_safetensors(tensors, tmp_path / "model.safetensors")
    assert (8 + int.from_bytes(path.read_bytes()[:8], "little")) % 8 == 0  # data 8-aligned
    back = read_safetensors(path)
    assert back.keys() == tensors.keys()
    assert all(torch.equal(back[k], tensors[k]) for k in tensors)
    library = pytest.importorskip("safetensors.torch")
    theirs = library.load_file(path)
    assert all(torch.equal(theirs[k], tensors[k]) for k in tensors)


def test_a_model_without_the_published_head_is_refused(deit, tmp_path):
    plain = from_deit(deit, deit_config(deit, num_classes=3, pooling="max"))
    with pytest.raises(ValueError, match="pooling='tokens' and head_norm=True"):
        save_authors(plain, tmp_path / "x.pth")
