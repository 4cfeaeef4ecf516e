"""What the head reads and the attention rollout: weights that sum to 1 for every pooling, the
max-pool shares equal to ``max_pool_sources``, and the rollout's arithmetic."""

from __future__ import annotations

import pytest
import torch

from ast_lab.config import ASTConfig
from ast_lab.models import AST
from ast_lab.models.introspection import max_pool_sources
from ast_lab.models.rollout import attention_rollout, describe_readout, readout_maps, readout_weights

TINY = dict(n_mels=32, n_frames=56, embed_dim=16, depth=2, num_heads=2, num_classes=3,
            drop_path_rate=0.0)
POOLINGS = [("max", "cls"), ("mean", "cls"), ("tokens", "cls"), ("distilled", "cls"),
            ("distilled", "max")]


def _model(pooling: str, label_pooling: str) -> AST:
    torch.manual_seed(0)
    return AST(ASTConfig(pooling=pooling, label_pooling=label_pooling, **TINY)).eval()


@pytest.mark.parametrize("pooling, label_pooling", POOLINGS)
def test_readout_weights_sum_to_one_where_the_head_reads(pooling, label_pooling):
    model = _model(pooling, label_pooling)
    spec = torch.randn(32, 56)
    with torch.no_grad():
        tokens = model.forward_features(spec[None])  # (1, 2 + N, D)
    weights = readout_weights(model.cfg, tokens)[0]  # (2 + N,)
    assert weights.shape == (tokens.shape[1],) and weights.sum() == pytest.approx(1.0)
    cls, dist, patches = weights[0], weights[1], weights[2:]
    expected = {("max", "cls"): (0.0, 0.0, 1.0), ("mean", "cls"): (0.0, 0.0, 1.0),
                ("tokens", "cls"): (0.5, 0.5, 0.0), ("distilled", "cls"): (0.5, 0.5, 0.0),
                ("distilled", "max"): (0.0, 0.5, 0.5)}[(pooling, label_pooling)]
    assert (float(cls), float(dist), float(patches.sum())) == pytest.approx(expected)
    if "max" in (pooling, label_pooling):  # the patches weigh the share of channels they win
        sources = max_pool_sources(model, spec).flatten()
        assert torch.allclose(patches, sources * float(patches.sum()))
    sentence = describe_readout(model.cfg)
    assert ("no head reads [CLS]" in sentence) == ("max" in (pooling, label_pooling) or pooling == "mean")


def test_rollout_is_the_product_of_half_attention_half_identity():
    g = torch.Generator().manual_seed(0)
    maps = [torch.randn(2, 3, 5, 5, generator=g).softmax(-1) for _ in range(3)]  # (B, nh, T, T)
    rolled = attention_rollout(maps)
    assert rolled.shape == (2, 5, 5)
    assert torch.allclose(rolled.sum(-1), torch.ones(2, 5))
    flows = [0.5 * m.mean(1) + 0.5 * torch.eye(5) for m in maps]
    assert torch.allclose(rolled, flows[2] @ flows[1] @ flows[0], atol=1e-6)
    assert torch.allclose(attention_rollout(maps[:1]), flows[0])
    uniform = torch.full((1, 2, 4, 4), 0.25)  # one block: half stays, half spreads evenly
    assert torch.allclose(attention_rollout([uniform])[0, 0], torch.tensor([0.625, 0.125, 0.125, 0.125]))
    with pytest.raises(ValueError, match="at least one block"):
        attention_rollout([])


def test_readout_maps_are_the_weights_times_each_matrix():
    model = _model("distilled", "max")
    spec = torch.randn(32, 56)
    maps = readout_maps(model, spec)
    grid = model.patch_embed.grid_size
    assert maps.reads.shape == grid and maps.rollout.shape == grid
    assert maps.heads.shape == (2, 2, *grid) and maps.blocks.shape == (2, *grid)
    with torch.no_grad():
        attention = model.attention_maps(spec[None])
        weights = readout_weights(model.cfg, model.forward_features(spec[None]))[0]
    assert torch.allclose(maps.heads[1, 0].flatten(), (weights @ attention[1][0, 0])[2:], atol=1e-6)
    assert torch.allclose(maps.blocks[1].flatten(), (weights @ attention[1][0].mean(0))[2:], atol=1e-6)
    assert float(maps.rollout.sum()) + maps.prefix_share == pytest.approx(1.0, abs=1e-5)
    assert float(maps.reads.sum()) == pytest.approx(0.5)  # the other half is read from [DIST]
    with pytest.raises(ValueError, match="one spectrogram"):
        readout_maps(model, spec[None])
