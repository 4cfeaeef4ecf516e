"""benchmarks/recipe_speed.py: a quick run's report (eager variants only: no compiling), the
compiled variant's recorded failure, and its command line's errors."""

from __future__ import annotations

import json

import pytest

from ast_lab.features import frames_for_seconds
from ast_lab.recipes import get_recipe

pytestmark = pytest.mark.usefixtures("one_torch_thread")

RECIPES = ["esc50-cnn", "esc50-ast-distilled"]


@pytest.fixture(scope="module")
def bench(import_benchmark):
    """The benchmark script imported as a module."""
    return import_benchmark("recipe_speed")


def results_stamp(bench) -> tuple:
    """Whether the default JSON exists, and when it was last written."""
    return (bench.RESULTS.exists(), bench.RESULTS.exists() and bench.RESULTS.stat().st_mtime_ns)


def test_quick_run_reports_every_variant_and_writes_nothing(bench, capsys):
    before = results_stamp(bench)
    result = bench.main(["--quick", "--recipes", *RECIPES, "--variants", "float32", "bf16",
                         "--rounds", "2", "--warmup", "0"])
    printed = capsys.readouterr().out
    assert results_stamp(bench) == before and "wrote" not in printed
    assert result["reference"] == "float32" and result["settings"]["batch"] == 2
    assert [row["recipe"] for row in result["recipes"]] == RECIPES
    for row in result["recipes"]:
        recipe = get_recipe(row["recipe"])
        frames = frames_for_seconds(recipe.clip_seconds, recipe.fbank)
        assert row["clip"] == [recipe.fbank.n_mels, frames]
        assert row["model_input"] == [recipe.fbank.n_mels, recipe.train.crop_frames or frames]
        assert row["precision"] == recipe.train.precision and row["teacher"] == recipe.teacher
        assert row["batch"] == 2 and row["params"] > 0 and row["rounds"]["rounds"] == 2
        assert list(row["variants"]) == ["float32", "bf16"]
        for name, variant in row["variants"].items():
            assert variant["precision"] == name and variant["compiled"] is False
            assert variant["bf16_autocast"] == (name == "bf16")
            ms = variant["ms_per_clip"]
            assert 0 < ms["min"] <= ms["median"] <= ms["max"] and len(ms["per_round"]) == 2
            assert variant["ratio_to_float32"]["min"] > 0
        assert row["variants"]["float32"]["ratio_to_float32"]["per_round"] == [1.0, 1.0]
    assert "| esc50-ast-distilled | float32 | bf16 |" in printed


def test_a_failed_compile_is_recorded_not_raised(bench, monkeypatch, tmp_path):
    def broken(model):
        raise RuntimeError("no compiler here")
    monkeypatch.setattr(bench.torch, "compile", broken)
    out = tmp_path / "speed.json"
    result = bench.main(["--quick", "--recipes", "esc50-ast", "--variants", "float32",
                         "compiled", "--warmup", "0", "--out", str(out)])
    assert json.loads(out.read_text()) == result
    (row,) = result["recipes"]
    compiled = row["variants"]["compiled"]
    assert compiled["error"] == "RuntimeError: no compiler here"
    assert compiled["precision"] == get_recipe("esc50-ast").train.precision
    assert "ms_per_clip" not in compiled and row["variants"]["float32"]["ms_per_clip"]["median"] > 0
    assert "failed: RuntimeError: no compiler here" in bench.markdown_table(result["recipes"])


@pytest.mark.parametrize("argv, message", [
    (["--recipes", "esc50-nope"], "unknown recipe 'esc50-nope'"),
    (["--variants", "bf16"], "must include float32"),
])
def test_bad_command_lines_are_refused_clearly(bench, capsys, argv, message):
    with pytest.raises(SystemExit):
        bench.parse_args(["--quick", *argv])
    assert message in capsys.readouterr().err


def test_defaults(bench):
    args = bench.parse_args([])
    assert args.recipes == ["esc50-cnn", "esc50-ast", "esc50-ast-distilled"]
    assert args.variants == ["float32", "bf16", "compiled"] and args.batch is None
    assert args.out == bench.RESULTS and (args.rounds, args.warmup) == (5, 1)
    quick = bench.parse_args(["--quick", "--batch", "4"])
    assert (quick.batch, quick.rounds, quick.out) == (4, 1, None)
