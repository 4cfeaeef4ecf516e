"""Encoder blocks: pre-norm residual structure, drop-path, and permutation equivariance."""

import pytest
import torch
from torch import nn

from ast_lab.models.transformer import Block, DropPath, Encoder


def test_encoder_without_positions_is_permutation_equivariant():
    torch.manual_seed(0)
    encoder = Encoder(dim=32, depth=3, num_heads=4, drop_path_rate=0.2).eval()
    x = torch.randn(2, 12, 32)
    perm = torch.randperm(12)
    torch.testing.assert_close(encoder(x[:, perm]), encoder(x)[:, perm], atol=1e-5, rtol=0)


def test_drop_path_is_identity_in_eval():
    x = torch.randn(8, 5, 4)
    assert torch.equal(DropPath(0.5).eval()(x), x)


def test_drop_path_zeroes_or_rescales_whole_samples_in_training():
    torch.manual_seed(0)
    x = torch.randn(4000, 3, 2) + 5.0  # no exact zeros in the input
    out = DropPath(0.25).train()(x)
    kept = (out != 0).all(dim=(1, 2))
    dropped = (out == 0).all(dim=(1, 2))
    assert torch.equal(kept | dropped, torch.ones(4000, dtype=torch.bool))  # all or nothing
    torch.testing.assert_close(out[kept], x[kept] / 0.75)
    assert abs(kept.float().mean().item() - 0.75) < 0.03


def test_drop_path_grows_linearly_over_blocks_and_is_absent_when_off():
    encoder = Encoder(dim=8, depth=5, num_heads=2, drop_path_rate=0.4)
    assert isinstance(encoder[0].drop_path, nn.Identity)
    rates = [block.drop_path.p for block in list(encoder)[1:]]
    assert rates == pytest.approx([0.1, 0.2, 0.3, 0.4])
    quiet = Encoder(dim=8, depth=2, num_heads=2)
    assert not any(isinstance(m, (nn.Dropout, DropPath)) for m in quiet.modules())


def test_block_is_identity_when_its_branches_output_zero():
    # Pre-norm residual: x + f(norm(x)). With f's last layers zeroed the block must return x
    # exactly (a post-norm block, norm(x + f(x)), would return norm(x)).
    torch.manual_seed(0)
    block = Block(dim=16, num_heads=2)
    for layer in (block.attn.proj, block.mlp.fc2):
        nn.init.zeros_(layer.weight), nn.init.zeros_(layer.bias)
    x = torch.randn(2, 7, 16)
    assert torch.equal(block(x), x)


def test_block_attention_weights_shape_and_rows():
    block = Block(dim=16, num_heads=4)
    weights = block.attention_weights(torch.randn(3, 5, 16))
    assert weights.shape == (3, 4, 5, 5)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 4, 5))
