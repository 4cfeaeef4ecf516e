"""benchmarks/model_speed.py: FLOP counting of the fused CPU attention, plans, references, a
tiny run (medians, ranges and per-round speed ratios)."""

from __future__ import annotations

import json
import statistics

import pytest
import torch

from ast_lab.config import ASTConfig
from ast_lab.models import AST

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def bench(import_benchmark):
    """The benchmark script imported as a module."""
    return import_benchmark("model_speed")


def counted_flops(bench, fused: bool) -> int:
    """FLOPs of one training step of a micro AST on 2 clips of 128 x 64 log-mels."""
    args = bench.parse_args(["--quick", "--frames", "64"])
    torch.manual_seed(0)
    case = bench.ast_case("micro", fused, 2, args, torch.device("cpu"))
    optimizer = torch.optim.AdamW(case.model.parameters())
    return bench.counted_train_step(case, optimizer, torch.device("cpu"))


def test_fused_cpu_attention_counts_like_written_out(bench):
    # Written-out attention is batched matmuls (counted by FlopCounterMode itself); the fused CPU
    # kernel is counted only through the benchmark's own formulas, which, as PyTorch's for CUDA,
    # include recomputing the scores QK^T in the backward: one (B, heads) batch of
    # (tokens x head_dim) @ (head_dim x tokens) products more per layer than written out.
    tokens, cfg = 62, ASTConfig.preset("micro")  # 128 x 64 input: 12 x 5 patches + 2
    batch, head_dim = 2, cfg.embed_dim // cfg.num_heads
    recompute = batch * cfg.depth * cfg.num_heads * 2 * tokens * tokens * head_dim
    assert counted_flops(bench, fused=False) > 0
    assert counted_flops(bench, fused=True) == counted_flops(bench, fused=False) + recompute


def test_flop_count_matches_hand_count_of_patch_embedding_and_linears(bench):
    cfg = ASTConfig.preset("micro", n_frames=64)
    model = AST(cfg)
    tokens = model.patch_embed.num_patches + 2
    n_patches, dim, depth, hidden = tokens - 2, cfg.embed_dim, cfg.depth, int(4 * cfg.embed_dim)
    head_dim = dim // cfg.num_heads
    per_clip_forward = (
        2 * n_patches * dim * cfg.patch_size**2  # patch embedding (a convolution)
        + depth * 2 * tokens * (dim * 3 * dim + dim * dim + 2 * dim * hidden)  # linears
        + depth * cfg.num_heads * 2 * (2 * tokens * tokens * head_dim)  # QK^T and AV
        + 2 * dim * cfg.num_classes  # head on the pooled token
    )
    # Backward: twice the forward for everything but the patch embedding, whose input needs
    # no gradient, and the attention, whose backward recomputes the scores (5 matmuls, not 4).
    attention = depth * cfg.num_heads * 2 * tokens * tokens * head_dim
    expected = 2 * (3 * per_clip_forward - 2 * n_patches * dim * cfg.patch_size**2 + attention)
    assert counted_flops(bench, fused=True) == expected


def test_plans_and_overrides(bench):
    assert bench.preset_int("3") == (None, 3)
    assert bench.preset_int("base=1") == ("base", 1)
    for bad in ("huge=2", "0", "tiny=x"):
        with pytest.raises(Exception):
            bench.preset_int(bad)
    args = bench.parse_args(["--train-batch", "8", "base=1", "--train-repeats", "tiny=7"])
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert bench.train_plan("base", cpu, args) == bench.Plan(batch=1, repeats=3)
    assert bench.train_plan("tiny", cpu, args) == bench.Plan(batch=8, repeats=7)
    assert bench.train_plan("small", cuda, args) == bench.Plan(batch=8, repeats=10)
    assert args.frames == 512 and args.out == bench.RESULTS
    quick = bench.parse_args(["--quick", "--frames", "96"])
    assert (quick.frames, quick.batch, quick.out) == (96, 1, None)


def test_quick_run_writes_all_sections(bench, tmp_path):
    out = tmp_path / "speed.json"
    bench.main(["--quick", "--presets", "micro", "--frames", "64", "--no-cnn", "--rounds", "3",
                "--train-repeats", "3", "--out", str(out)])
    result = json.loads(out.read_text())
    assert [r["attention"] for r in result["results"]] == ["fused", "manual"] * 2 + ["torch"]
    for r in result["results"]:
        low, high = r["ms_per_step_range"]
        assert 0 < low <= r["ms_per_step"] <= high
        assert r["clips_per_s_range"][0] <= r["clips_per_s"] <= r["clips_per_s_range"][1]
    assert [(r["variant"], r["reference"]) for r in result["speed_ratios"]] == [
        ("ast-micro/manual", "ast-micro/fused"),
        ("encoder-micro/fused", "encoder-micro/torch"),
        ("encoder-micro/manual", "encoder-micro/torch"),
    ]
    rounds = result["comparison_rounds"]["cpu"]
    assert rounds["rounds"] == 3 and len(rounds["orders"]) == 3
    assert rounds["orders"][1][-1] == rounds["orders"][0][0]  # the order turns every round
    seconds = {name: spread["per_round"] for name, spread in rounds["seconds"].items()}
    for r in result["speed_ratios"]:  # a speed ratio: the reference's time over the variant's
        pairs = zip(seconds[r["reference"]], seconds[r["variant"]])
        per_round = [reference / variant for reference, variant in pairs]
        assert r["speed_ratio"] == pytest.approx(statistics.median(per_round), rel=2e-3)
        assert r["speed_ratio_range"] == pytest.approx([min(per_round), max(per_round)], rel=2e-3)
    (summary,) = result["fused_vs_torch"]
    assert summary["model"] == "encoder-micro"
    assert summary["fused_over_torch"] == result["speed_ratios"][1]["speed_ratio"]
    assert summary["manual_over_torch_range"] == result["speed_ratios"][2]["speed_ratio_range"]
    (row,) = result["train_step"]
    assert row["preset"] == "micro" and row["dtype"] == "float32" and row["batch"] == 1
    assert row["repeats"] == 3
    assert row["flops_per_step"] > 0 and row["tflops_per_s"] > 0
    assert row["tflops_per_s_range"][0] <= row["tflops_per_s"] <= row["tflops_per_s_range"][1]
    assert row["clips_per_s"] == pytest.approx(1000 / row["ms_per_step"], rel=0.01)


def test_the_cnn_is_compared_with_the_first_fused_ast(bench):
    args = bench.parse_args(["--quick", "--presets", "micro", "--frames", "64"])
    cases = bench.comparison(args, torch.device("cpu"))
    assert [(case.key, case.reference) for case in cases] == [
        ("ast-micro/fused", ""),
        ("ast-micro/manual", "ast-micro/fused"),
        ("encoder-micro/fused", "encoder-micro/torch"),
        ("encoder-micro/manual", "encoder-micro/torch"),
        ("encoder-micro/torch", ""),
        ("cnn/-", "ast-micro/fused"),
    ]
    args = bench.parse_args(["--quick", "--compare", "--frames", "64"])  # the CNN alone
    assert [(case.key, case.reference) for case in bench.comparison(args, torch.device("cpu"))] \
        == [("cnn/-", "")]
