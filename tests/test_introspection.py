"""What the AST looks at: token attention, max-pool sources and filters, on a fresh model and on
the shipped one (whose summary tokens and head should find a dog's bark in 5 s of quiet)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from ast_lab import model_plots  # noqa: E402
from ast_lab.config import ASTConfig  # noqa: E402
from ast_lab.examples import load_example  # noqa: E402
from ast_lab.features import fbank  # noqa: E402
from ast_lab.model_card import load_card  # noqa: E402
from ast_lab.models import AST  # noqa: E402
from ast_lab.models.introspection import (  # noqa: E402
    columns_near, filter_smoothness, max_pool_sources, mean_position_similarity, patch_filters,
    token_attention,
)
from ast_lab.occlusion import input_around_loudest  # noqa: E402


@pytest.fixture(scope="module")
def small():
    torch.manual_seed(0)
    model = AST(ASTConfig.preset("micro", n_mels=32, n_frames=60, num_classes=3))
    return model, torch.randn(32, 60)


def test_token_attention_is_the_tokens_row_of_each_block_on_the_grid(small):
    model, spec = small
    model.eval()
    maps = model.attention_maps(spec[None])  # eval: drop-path off
    model.train()
    for token, row in (("cls", 0), ("dist", 1)):
        attention = token_attention(model, spec, token)
        grid = model.patch_embed.grid_size
        assert attention.shape == (len(maps), model.cfg.num_heads, *grid)
        expected = torch.stack([m[0, :, row, 2:] for m in maps]).reshape(attention.shape)
        assert torch.allclose(attention, expected)
        sums = attention.sum(dim=(-2, -1))
        assert (sums > 0).all() and (sums < 1).all()  # the two summary tokens take the rest
    assert model.training  # the mode it was called in is restored
    with pytest.raises(ValueError, match="unknown token 'patch'"):
        token_attention(model, spec, "patch")
    with pytest.raises(ValueError, match="one spectrogram"):
        token_attention(model, spec.expand(2, -1, -1), "cls")


def test_max_pool_sources_count_where_each_channel_peaks(small):
    model, spec = small
    sources = max_pool_sources(model, spec)
    assert sources.shape == model.patch_embed.grid_size
    assert torch.isclose(sources.sum(), torch.tensor(1.0))
    model.eval()
    with torch.no_grad():
        tokens = model.forward_features(spec[None])[0, 2:]  # (N, D)
    peak = tokens.amax(dim=0)  # (D,)
    counted = (sources.flatten() * tokens.shape[1]).round().long()  # (N,) channels per patch
    expected = torch.bincount(tokens.argmax(dim=0), minlength=tokens.shape[0])
    assert torch.equal(counted, expected)
    holders = counted.nonzero().flatten()  # every patch credited holds some channel's peak
    assert all(torch.isclose(tokens[i], peak).any() for i in holders)


def test_patch_filters_are_the_kernels_strongest_first(small):
    model, _ = small
    filters = patch_filters(model)
    p = model.cfg.patch_size
    assert filters.shape == (model.cfg.embed_dim, p, p)
    norms = filters.flatten(1).norm(dim=1)
    assert (norms[:-1] >= norms[1:]).all()
    kernels = model.patch_embed.proj.weight[:, 0].detach()
    assert torch.allclose(filters[0], kernels[kernels.flatten(1).norm(dim=1).argmax()])


def test_patch_cells_are_centred_on_their_patches():
    left, right, bottom, top = model_plots.patch_cell_extent((5, 49), 16, 10, 10)
    assert (left, right, bottom, top) == (2.5, 492.5, 2.5, 52.5)
    centres = left + 10 * (np.arange(49) + 0.5)  # cell centres along time
    assert np.allclose(centres, np.arange(49) * 10 + 7.5)  # = patch start + (16 - 1) / 2


def test_model_plots_draw_one_panel_per_head_and_block(small):
    model, spec = small
    attention = token_attention(model, spec, "cls")
    depth, heads = attention.shape[:2]
    fig = model_plots.plot_token_attention(spec, attention, patch_size=16, fstride=10, tstride=10)
    assert len([ax for ax in fig.axes if ax.get_title().startswith("block")]) == depth * heads
    fig = model_plots.plot_patch_filters(patch_filters(model)[:20], ncols=10)
    assert sum(bool(ax.images) for ax in fig.axes) == 20
    sim = model.pos_embed_similarity()
    fig = model_plots.plot_position_similarity(sim, [(0, 0), (1, 2)])
    assert [ax.get_title() for ax in fig.axes if ax.get_title()] == [
        "similarity to patch (0, 0)", "similarity to patch (1, 2)"]
    plt.close("all")


def test_shipped_model_reads_the_dog_bark():
    """The dog clip is one bark in quiet. The shipped model reads one crop of its clip (the
    stretch around the loudest frame here), and its head max-pools the patch tokens: most of
    what the head reads should come from the few time columns within 0.25 s of the bark."""
    shipped = load_card()
    model = shipped.models[0]
    window, start, loudest = input_around_loudest(shipped, load_example("dog"))  # (n_mels, frames)
    bark = loudest - start  # the bark's frame within the window
    columns = columns_near(model, bark, 25)  # +-0.25 s
    stride, size = model.cfg.tstride, model.cfg.patch_size
    t_patches = model.patch_embed.grid_size[1]
    by_hand = [j for j in range(t_patches)
               if j * stride <= bark + 25 and j * stride + size - 1 >= bark - 25]
    assert columns == by_hand
    assert len(columns) <= 8 < t_patches
    assert max_pool_sources(model, window)[:, columns].sum() > 0.8


def test_mean_position_similarity_picks_pairs_by_row_and_time_gap():
    # 2 rows x 3 time patches; positions in row 0 identical, row 1 opposite to row 0
    vectors = torch.tensor([[1.0, 0.0]] * 3 + [[-1.0, 0.0]] * 3)  # (N=6, D=2)
    similarity = (vectors @ vectors.T).reshape(2, 3, 2, 3)  # unit vectors: cosine
    assert mean_position_similarity(similarity, True, 1, 2) == pytest.approx(1.0)
    assert mean_position_similarity(similarity, False, 0, 2) == pytest.approx(-1.0)
    similarity[0, 0, 0, 2] = similarity[0, 2, 0, 0] = 0.0  # only the pair two apart in row 0
    assert mean_position_similarity(similarity, True, 2, 2) == pytest.approx(0.5)  # row 1's pair
    assert mean_position_similarity(similarity, True, 1, 1) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no patch pairs 3 to 5"):
        mean_position_similarity(similarity, True, 3, 5)


def test_filter_smoothness_is_zero_for_noise_and_one_for_smooth_kernels():
    torch.manual_seed(0)
    noise = torch.randn(64, 16, 16)
    along_freq, along_time = filter_smoothness(noise)
    assert abs(along_freq) < 0.05 and abs(along_time) < 0.05
    frames = torch.linspace(0, 1, 16)
    stripes = torch.sin(3 * frames).expand(4, 16, 16)  # (n, bins, frames): every bin the same
    along_freq, along_time = filter_smoothness(stripes)
    assert along_freq == pytest.approx(1.0, abs=1e-5) and 0.8 < along_time < 1.0


def test_shipped_model_positions_group_by_frequency_row():
    """Trained positions are alike within a frequency row, unlike across rows (notebook 02)."""
    model = load_card().models[0]
    similarity = model.pos_embed_similarity()
    same_row = mean_position_similarity(similarity, True, 1, 1)
    across = mean_position_similarity(similarity, False, 0, 48)
    assert same_row > 0.3 and abs(across) < 0.15
    fresh = mean_position_similarity(AST(model.cfg).pos_embed_similarity(), True, 1, 1)
    assert abs(fresh) < 0.15
