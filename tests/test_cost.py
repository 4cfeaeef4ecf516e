"""What a token costs (notebook 02): the block's multiply-accumulates against a hand count, and
the stride sweep's token counts."""

from __future__ import annotations

import pytest

from ast_lab.config import ASTConfig
from ast_lab.models.cost import block_cost, stride_costs


def test_block_cost_counts_projections_attention_and_mlp():
    cost = block_cost(tokens=10, dim=8, mlp_ratio=4.0)
    assert (cost.projections, cost.attention, cost.mlp) == (4 * 10 * 64, 2 * 100 * 8, 8 * 10 * 64)
    assert cost.total == cost.projections + cost.attention + cost.mlp


def test_overlap_multiplies_scores_by_5_4_but_a_block_by_2_5_to_3_3():
    """ESC-50's 128 x 512 at stride 10 (602 tokens) against stride 16 (258 tokens)."""
    assert block_cost(602, 96).attention / block_cost(258, 96).attention == pytest.approx(5.44, abs=0.01)
    assert block_cost(602, 96).projections / block_cost(258, 96).projections == pytest.approx(2.33, abs=0.01)
    assert block_cost(602, 768).total / block_cost(258, 768).total == pytest.approx(2.5, abs=0.01)
    assert block_cost(602, 96).total / block_cost(258, 96).total == pytest.approx(3.3, abs=0.01)


def test_stride_costs_count_the_tokens_of_each_grid():
    cfg = ASTConfig(n_mels=32, n_frames=40, embed_dim=16, depth=1, num_heads=2, num_classes=3)
    rows = stride_costs(cfg, strides=(16, 8), batch_size=2, repeats=1)
    assert [(row.stride, row.grid, row.tokens) for row in rows] == [(16, (2, 2), 6), (8, (3, 4), 14)]
    assert all(row.seconds > 0 for row in rows)
