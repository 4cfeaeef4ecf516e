"""The AST: parameter count, shapes, gradients, pooling, determinism, positional embeddings."""

import math

import pytest
import torch
from torch import nn

from ast_lab.config import AST_PRESETS, ASTConfig, CNNConfig
from ast_lab.models import AST, build_model, count_parameters, trace_shapes
from ast_lab.models.ast import pool, resize_pos_embed


def micro(**overrides) -> AST:
    """A small, fast AST on 64 mel bins x 100 frames (5 x 9 = 45 patches)."""
    torch.manual_seed(0)
    sizes = dict(embed_dim=64, depth=4, num_heads=4)  # pinned: the asserts below spell them out
    return AST(ASTConfig.preset("micro", n_mels=64, n_frames=100, num_classes=10, **{**sizes, **overrides}))


def test_base_preset_has_the_papers_parameter_count():
    with torch.device("meta"):  # shapes only: no memory, no init time
        model = AST(ASTConfig.preset("base"))  # 768 wide, 12 deep, 600 patches
    assert count_parameters(model) == 85_755_698


def test_parameter_count_adds_up_piece_by_piece():
    cfg = ASTConfig.preset("tiny")
    D, hidden, N = cfg.embed_dim, int(cfg.embed_dim * cfg.mlp_ratio), 600
    norms, qkv, proj = 2 * 2 * D, 3 * D * D + 3 * D, D * D + D
    mlp = (D * hidden + hidden) + (hidden * D + D)
    patch_conv, tokens, positions = 16 * 16 * D + D, 2 * D, (N + 2) * D
    final_norm, head = 2 * D, D * 50 + 50
    blocks = cfg.depth * (norms + qkv + proj + mlp)
    expected = patch_conv + tokens + positions + blocks + final_norm + head
    with torch.device("meta"):
        assert count_parameters(AST(cfg)) == expected


@pytest.mark.parametrize("name", sorted(AST_PRESETS))
def test_every_preset_maps_full_size_input_to_logits(name):
    cfg = ASTConfig.preset(name)
    with torch.device("meta"):  # shape propagation only, so even base is instant
        model = AST(cfg)
        tokens = model.forward_features(torch.empty(2, 128, 512))
        logits = model(torch.empty(2, 1, 128, 512))
    assert tokens.shape == (2, 602, cfg.embed_dim)
    assert logits.shape == (2, 50)


@pytest.mark.parametrize("name", ["micro", "tiny"])
def test_presets_run_for_real_on_short_input(name):
    torch.manual_seed(0)
    model = AST(ASTConfig.preset(name, n_frames=64))  # 12 x 5 patches
    logits = model(torch.randn(2, 128, 64))
    assert logits.shape == (2, 50) and torch.isfinite(logits).all()


def test_channel_axis_is_optional():
    model = micro().eval()
    spec = torch.randn(3, 64, 100)
    assert torch.equal(model(spec), model(spec.unsqueeze(1)))


def test_wrong_length_says_what_was_expected():
    with pytest.raises(ValueError, match="64 mel bins x 100 frames.*resize_input"):
        micro()(torch.randn(1, 64, 120))


@pytest.mark.parametrize("pooling", ["tokens", "mean", "max"])
def test_gradients_reach_every_parameter(pooling):
    model = micro(pooling=pooling, drop_path_rate=0.0).train()
    spec = torch.randn(4, 64, 100)
    nn.functional.cross_entropy(model(spec), torch.tensor([0, 1, 2, 3])).backward()
    names = [name for name, _ in model.named_parameters()]
    starved = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert starved == []
    assert {"cls_token", "dist_token", "pos_embed", "patch_embed.proj.weight"} <= set(names)


def test_pooling_reads_the_right_tokens():
    tokens = torch.randn(2, 7, 4)  # [CLS], [DIST], 5 patches
    torch.testing.assert_close(pool(tokens, "tokens"), (tokens[:, 0] + tokens[:, 1]) / 2)
    torch.testing.assert_close(pool(tokens, "mean"), tokens[:, 2:].mean(dim=1))
    torch.testing.assert_close(pool(tokens, "max"), tokens[:, 2:].amax(dim=1))
    tokens[:, :2] = 10.0  # [CLS] and [DIST] above every patch: "max" must still ignore them
    assert (pool(tokens, "max") < 10).all()
    with pytest.raises(ValueError, match="unknown pooling"):
        micro(pooling="median")


@pytest.mark.parametrize("pooling", ["tokens", "mean", "max"])
def test_forward_is_features_then_head(pooling):
    model = micro(pooling=pooling).eval()
    spec = torch.randn(2, 64, 100)
    tokens = model.forward_features(spec)
    assert tokens.shape == (2, 47, model.cfg.embed_dim)
    torch.testing.assert_close(model(spec), model.head(pool(tokens, pooling)))


@pytest.mark.parametrize("name", ["micro", "tiny"])
def test_initial_loss_is_uniform_guessing(name):
    # Small head weights (std 0.02) give logits with std ~0.02 * sqrt(D) << 1, so softmax is near
    # uniform and cross-entropy near ln(classes). Averaging -log p over *all* classes is the
    # expected loss under a random label, without label-sampling noise.
    torch.manual_seed(0)
    model = AST(ASTConfig.preset(name, n_frames=64)).eval()
    with torch.no_grad():
        log_probs = model(torch.randn(16, 128, 64)).log_softmax(dim=-1)
    assert -log_probs.mean().item() == pytest.approx(math.log(50), abs=0.1)


def test_fused_and_manual_models_agree():
    fused = micro(fused_attention=True).eval()
    manual = micro(fused_attention=False).eval()
    manual.load_state_dict(fused.state_dict())
    spec = torch.randn(2, 64, 100)
    torch.testing.assert_close(fused(spec), manual(spec), atol=1e-5, rtol=0)


def test_same_seed_same_model_and_eval_is_deterministic():
    spec = torch.randn(2, 64, 100)
    dropouts = dict(drop_rate=0.3, attn_drop_rate=0.3)
    first, second = micro(**dropouts), micro(**dropouts)
    for (_, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items()):
        assert torch.equal(a, b)
    first.eval()
    assert torch.equal(first(spec), first(spec))
    assert torch.equal(first(spec), second.eval()(spec))
    first.train()
    assert not torch.equal(first(spec), first(spec))  # dropout and drop-path do act in training


def test_resize_pos_embed_keeps_tokens_and_interpolates_the_grid():
    torch.manual_seed(0)
    pos = torch.randn(1, 2 + 3 * 4, 5)
    assert torch.equal(resize_pos_embed(pos, (3, 4), (3, 4)), pos)
    bigger = resize_pos_embed(pos, (3, 4), (6, 9))
    assert bigger.shape == (1, 2 + 54, 5)
    assert torch.equal(bigger[:, :2], pos[:, :2])
    grid = pos[:, 2:]
    # bilinear interpolation mixes neighbours convexly: it cannot leave the original range
    assert (bigger[:, 2:].amax(1) <= grid.amax(1) + 1e-6).all()
    assert (bigger[:, 2:].amin(1) >= grid.amin(1) - 1e-6).all()
    # an embedding that only depends on the frequency row keeps doing so
    rows = torch.arange(3.0).repeat_interleave(4).view(1, 12, 1)
    stretched = resize_pos_embed(torch.cat([torch.zeros(1, 2, 1), rows], 1), (3, 4), (3, 10))
    assert torch.equal(stretched[0, 2:, 0].view(3, 10), torch.arange(3.0).view(3, 1).expand(3, 10))
    with pytest.raises(ValueError, match="needs 14"):
        resize_pos_embed(pos[:, :-1], (3, 4), (3, 4))


def test_resize_input_lets_a_model_run_on_another_length():
    model = micro().eval()
    spec = torch.randn(2, 64, 100)
    before = model(spec)
    assert torch.equal(model.resize_input(100)(spec), before)  # same length: nothing changes
    model.resize_input(200)
    assert model.patch_embed.grid_size == (5, 19) and model.cfg.n_frames == 200
    assert model.pos_embed.shape == (1, 2 + 95, model.cfg.embed_dim)
    assert model(torch.randn(2, 64, 200)).shape == (2, 10)
    with pytest.raises(ValueError, match="64 mel bins x 200 frames"):
        model(spec)


def test_pos_embed_similarity_map():
    model = micro()
    sim = model.pos_embed_similarity()
    assert sim.shape == (5, 9, 5, 9)
    flat = sim.reshape(45, 45)
    torch.testing.assert_close(flat.diagonal(), torch.ones(45))
    torch.testing.assert_close(flat, flat.T)
    # row (i, j) compares patch (i, j)'s position vector, i.e. pos_embed row 2 + 9 i + j
    a, b = model.pos_embed[0, 2 + 9 * 1 + 3], model.pos_embed[0, 2 + 9 * 4 + 8]
    expected = nn.functional.cosine_similarity(a, b, dim=0).detach()
    torch.testing.assert_close(sim[1, 3, 4, 8], expected)


def test_attention_maps_one_per_block():
    model = micro().eval()
    maps = model.attention_maps(torch.randn(2, 64, 100))
    assert len(maps) == 4
    for weights in maps:
        assert weights.shape == (2, 4, 47, 47)
        torch.testing.assert_close(weights.sum(-1), torch.ones(2, 4, 47))


def test_printout_reads_like_the_figure():
    model = micro()
    text, D = repr(model), model.cfg.embed_dim
    for piece in (
        "(patch_embed): PatchEmbed",
        "grid=5x9",
        "num_patches=45",
        f"cls_token=(1, 1, {D})",
        f"dist_token=(1, 1, {D})",
        f"pos_embed=(1, 47, {D})",
        "(blocks): Encoder",
        "(norm): LayerNorm",
        f"(head): Linear(in_features={D}, out_features=10",
    ):
        assert piece in text


def test_build_model():
    assert isinstance(build_model("ast", ASTConfig.preset("micro", n_frames=64)), AST)
    with pytest.raises(TypeError, match="ASTConfig"):
        build_model("ast", CNNConfig())
    with pytest.raises(ValueError, match="unknown model"):
        build_model("rnn", CNNConfig())


def test_trace_shapes_walks_patches_tokens_blocks_norm_head(capsys):
    model = micro().train()
    rows = trace_shapes(model, torch.randn(2, 64, 100))
    assert rows == [
        ("input", (2, 64, 100)),
        ("patch_embed", (2, 45, 64)),
        ("pos_drop", (2, 47, 64)),
        *[(f"blocks.{i}", (2, 47, 64)) for i in range(4)],
        ("norm", (2, 47, 64)),
        ("head", (2, 10)),
    ]
    printed = capsys.readouterr().out
    assert "patch_embed  PatchEmbed" in printed and "(2, 45, 64)" in printed
    assert "pos_drop     prepend [CLS]/[DIST] + add positions" in printed  # not "Identity"
    assert model.training  # mode restored
    assert all(not m._forward_hooks for m in model.modules())  # hooks removed
