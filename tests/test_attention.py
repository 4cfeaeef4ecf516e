"""Self-attention: the written-out path, the fused path and PyTorch's own module agree."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ast_lab.models.attention import MultiHeadSelfAttention, scaled_dot_product


def test_scaled_dot_product_by_hand():
    torch.manual_seed(0)
    q, k, v = torch.randn(3, 2, 5, 7, 8).unbind(0)  # (B, nh, T, hs) each
    out, weights = scaled_dot_product(q, k, v)
    assert out.shape == (2, 5, 7, 8) and weights.shape == (2, 5, 7, 7)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 5, 7))
    # one entry, from the definition: exp(q_i . k_j / sqrt(hs)) / sum_j' exp(q_i . k_j' / sqrt(hs))
    scores = torch.stack([q[1, 2, 3] @ k[1, 2, j] / math.sqrt(8) for j in range(7)])
    torch.testing.assert_close(weights[1, 2, 3], scores.exp() / scores.exp().sum())
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v), atol=1e-5, rtol=1e-5)


def make_pair(**kwargs):
    """A manual and a fused attention module sharing the same weights."""
    torch.manual_seed(0)
    manual = MultiHeadSelfAttention(32, 4, fused=False, **kwargs)
    fused = MultiHeadSelfAttention(32, 4, fused=True, **kwargs)
    fused.load_state_dict(manual.state_dict())
    return manual, fused


@pytest.mark.parametrize("training", [True, False])
def test_manual_equals_fused_without_dropout(training):
    manual, fused = make_pair(qkv_bias=True)
    manual.train(training), fused.train(training)
    x = torch.randn(3, 11, 32)
    torch.testing.assert_close(manual(x), fused(x), atol=1e-5, rtol=0)


def test_manual_equals_fused_in_eval_even_with_dropout_configured():
    manual, fused = make_pair(attn_drop=0.5, proj_drop=0.5)
    manual.eval(), fused.eval()
    x = torch.randn(2, 9, 32)
    torch.testing.assert_close(manual(x), fused(x), atol=1e-5, rtol=0)
    manual.train()
    assert not torch.allclose(manual(x), fused(x), atol=1e-3)  # and dropout really acts in training


@pytest.mark.parametrize("qkv_bias", [True, False])
def test_equals_torch_multihead_attention(qkv_bias):
    torch.manual_seed(0)
    ours = MultiHeadSelfAttention(32, 4, qkv_bias=qkv_bias, fused=False).eval()
    ref = nn.MultiheadAttention(32, 4, bias=True, batch_first=True).eval()
    with torch.no_grad():
        ref.in_proj_weight.copy_(ours.qkv.weight)
        ref.in_proj_bias.copy_(ours.qkv.bias if qkv_bias else torch.zeros(96))
        ref.out_proj.weight.copy_(ours.proj.weight)
        ref.out_proj.bias.copy_(ours.proj.bias)
    x = torch.randn(2, 13, 32)
    ref_out, ref_weights = ref(x, x, x, need_weights=True, average_attn_weights=False)
    torch.testing.assert_close(ours(x), ref_out, atol=1e-5, rtol=0)
    torch.testing.assert_close(ours.attention_weights(x), ref_weights, atol=1e-6, rtol=0)


def test_attention_map_is_the_one_forward_uses():
    manual, fused = make_pair()
    x = torch.randn(2, 6, 32)
    weights = fused.attention_weights(x)  # (B, nh, T, T)
    assert weights.shape == (2, 4, 6, 6)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 4, 6))
    assert (weights >= 0).all()
    _, _, v = fused.split_heads(x)  # (B, nh, T, hs)
    rebuilt = fused.proj((weights @ v).transpose(1, 2).reshape(2, 6, 32))
    torch.testing.assert_close(fused(x), rebuilt, atol=1e-5, rtol=0)


def test_permuting_tokens_permutes_the_output():
    manual, _ = make_pair()
    x = torch.randn(2, 10, 32)
    perm = torch.randperm(10)
    torch.testing.assert_close(manual(x[:, perm]), manual(x)[:, perm], atol=1e-5, rtol=0)


def test_heads_must_divide_the_width():
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadSelfAttention(30, 4)
