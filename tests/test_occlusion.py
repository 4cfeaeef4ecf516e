"""The occlusion test's bookkeeping: hiding k patches changes exactly their k cells, the top k
come from the ranking and the control from outside it, and a model that needs one region
loses its class only when that region is hidden."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from ast_lab.config import ASTConfig
from ast_lab.model_plots import patch_cell_extent
from ast_lab.models import AST
from ast_lab.occlusion import (cell_mask, class_probability, input_around_loudest, occlude,
                               occlusion_curve, other_patches, patch_cells, ranked_patches,
                               window_around)

TINY = dict(embed_dim=16, depth=2, num_heads=2, num_classes=3, drop_path_rate=0.0)


@pytest.mark.parametrize("patch_size, fstride, tstride", [(16, 10, 10), (16, 6, 10), (16, 16, 16)])
def test_cells_tile_the_grid_one_per_patch_centred_on_it(patch_size, fstride, tstride):
    grid = (4, 5)
    cells = patch_cells(grid, patch_size, fstride, tstride)  # (N, 4)
    assert cells.shape == (20, 4)
    assert ((cells[:, 1] - cells[:, 0]) == fstride).all() and ((cells[:, 3] - cells[:, 2]) == tstride).all()
    n_mels, frames = (grid[0] - 1) * fstride + patch_size, (grid[1] - 1) * tstride + patch_size
    covered = torch.zeros(n_mels, frames, dtype=torch.int64)
    for b0, b1, t0, t1 in cells.tolist():
        covered[b0:b1, t0:t1] += 1
    assert covered.max() == 1 and covered.sum() == 20 * fstride * tstride  # disjoint, inside
    left, right, bottom, top = patch_cell_extent(grid, patch_size, fstride, tstride)
    assert (cells[:, 0].min() - 0.5, cells[:, 1].max() - 0.5) == (bottom, top)  # as drawn
    assert (cells[:, 2].min() - 0.5, cells[:, 3].max() - 0.5) == (left, right)
    row, col = 2, 3  # patch (2, 3) is token 2 * 5 + 3
    b0, b1, t0, t1 = cells[2 * 5 + 3].tolist()
    assert (b0 + b1 - 1) / 2 == row * fstride + (patch_size - 1) / 2  # centred on the patch
    assert (t0 + t1 - 1) / 2 == col * tstride + (patch_size - 1) / 2


def test_occluding_changes_exactly_the_chosen_cells():
    grid, spec = (3, 6), torch.randn(36, 66)  # patches of 16 every 10: 3 x 6
    cells = patch_cells(grid, 16, 10, 10)
    chosen = [0, 7, 17]
    hidden = occlude(spec, chosen, cells, fill=-5.0)
    changed = hidden != spec
    assert int(changed.sum()) == len(chosen) * 10 * 10
    assert torch.equal(changed, cell_mask(tuple(spec.shape), chosen, cells))
    assert (hidden[changed] == -5.0).all()
    b0, b1, t0, t1 = cells[7].tolist()  # patch (1, 1): bins 13-22, frames 13-22
    assert (b0, b1, t0, t1) == (13, 23, 13, 23) and (hidden[b0:b1, t0:t1] == -5.0).all()
    assert torch.equal(occlude(spec, torch.tensor([], dtype=torch.long), cells, 0.0), spec)


def test_rankings_and_the_control_draw():
    relevance = torch.tensor([[0.1, 0.5, 0.5], [0.9, 0.0, 0.2]])
    ranking = ranked_patches(relevance)
    assert ranking.tolist() == [3, 1, 2, 5, 0, 4]  # ties keep token order
    generator = torch.Generator().manual_seed(0)
    for k in (1, 2, 3):
        others = other_patches(ranking, k, generator)
        assert len(others) == k == len(set(others.tolist()))
        assert not set(others.tolist()) & set(ranking[:k].tolist())
    with pytest.raises(ValueError, match="only 2 lie outside the top 4"):
        other_patches(ranking, 4, generator)


def test_window_around_stays_inside_the_spectrogram():
    spec = torch.arange(100.0).expand(4, 100)
    for frame, start in ((50, 35), (3, 0), (98, 70)):
        window, first = window_around(spec, frame, 30)
        assert first == start and window.shape == (4, 30) and window[0, 0] == start
    with pytest.raises(ValueError, match="does not fit"):
        window_around(spec, 50, 101)


def test_the_curve_records_the_right_probabilities_on_a_real_model():
    torch.manual_seed(0)
    model = AST(ASTConfig(n_mels=36, n_frames=66, fstride=6, **TINY))  # grid (4, 6)
    spec = torch.randn(36, 66)
    relevance = torch.rand(model.patch_embed.grid_size)
    ks = (1, 3, 6)
    curve = occlusion_curve(model, spec, relevance, target=2, ks=ks, draws=4, seed=1)
    assert curve.top.shape == (3,) and curve.others.shape == (3, 4)
    assert torch.equal(curve.top_patches, ranked_patches(relevance)[:6])
    cells = patch_cells(model.patch_embed.grid_size, 16, 6, 10)
    fill = float(spec.min())
    assert curve.clean == pytest.approx(float(class_probability(model, spec[None], 2)[0]), abs=1e-6)
    for row, k in enumerate(ks):  # the top k are the ranking's first k, nested as k grows
        expected = class_probability(model, occlude(spec, curve.top_patches[:k], cells, fill)[None], 2)
        assert curve.top[row] == pytest.approx(float(expected[0]), abs=1e-6)
    generator = torch.Generator().manual_seed(1)  # the control, drawn again in the same order
    draws = [other_patches(ranked_patches(relevance), k, generator) for k in ks for _ in range(4)]
    again = class_probability(model, torch.stack([occlude(spec, d, cells, fill) for d in draws]), 2)
    assert np.allclose(curve.others.ravel(), again, atol=1e-6)
    assert "k others hidden" in curve.table()
    with pytest.raises(ValueError, match="patch grid"):
        occlusion_curve(model, spec, torch.rand(3, 3), 0, ks)


class NeedsOneRegion(nn.Module):
    """A stand-in model with an AST's patch grid whose class 0 depends only on the loudness of
    bins 13-22, frames 13-22 (the cell of patch (1, 1), 16 x 16 patches every 10)."""

    def __init__(self) -> None:
        super().__init__()
        self.cfg = ASTConfig(n_mels=36, n_frames=46, **TINY)
        self.patch_embed = AST(self.cfg).patch_embed  # grid (3, 4)

    def forward(self, spec: Tensor) -> Tensor:
        level = spec[:, 13:23, 13:23].mean(dim=(1, 2))  # (B,)
        return torch.stack([4 * level, torch.zeros_like(level)], dim=1)  # (B, 2)


def test_hiding_what_the_model_needs_costs_the_class_and_hiding_the_rest_does_not():
    model = NeedsOneRegion()
    spec = torch.zeros(36, 46)
    spec[13:23, 13:23] = 1.0  # the "event"
    relevance = torch.zeros(3, 4)
    relevance[1, 1] = 1.0  # a map that points at it
    curve = occlusion_curve(model, spec, relevance, target=0, ks=(1, 2, 4), draws=5, fill=0.0)
    assert curve.clean > 0.95
    assert (curve.top < 0.51).all()  # hidden: level 0, logits equal
    assert np.allclose(curve.others, curve.clean)  # the event's cell is never among the others


def test_the_input_around_the_loudest_frame_is_what_the_model_reads():
    from ast_lab.classifier import Classifier
    from ast_lab.config import FbankConfig
    from ast_lab.features import fbank

    fb = FbankConfig(n_mels=36)
    model = AST(ASTConfig(n_mels=36, n_frames=66, **TINY))
    classifier = Classifier(kind="ast", models=[model], norms=[(-40.0, 20.0)], fbank=fb,
                            clip_seconds=1.0, class_names=["a", "b", "c"], class_targets=[0, 1, 2],
                            source="test")
    wave = 0.01 * np.random.default_rng(0).standard_normal(16_000).astype(np.float32)
    wave[12_000:12_160] += 0.8  # a click at 0.75 s: frame 75 of 101
    window, start, loudest = input_around_loudest(classifier, wave)
    assert loudest == pytest.approx(75, abs=1) and window.shape == (36, 66)
    assert start == 101 - 66  # centred on frame 75 would cross the end: moved inside
    expected = (fbank(wave[None], fb)[0] + 40.0) / 20.0
    assert torch.allclose(window, expected[:, start : start + 66])
