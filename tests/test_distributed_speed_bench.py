"""benchmarks/distributed_speed.py: how the processes share the threads and the work, and a
quick run of 1 process against 2 (data- and fold-parallel, gloo) whose report is complete and
consistent with its own rounds."""

from __future__ import annotations

import json

import pytest
import torch

from ast_lab.config import CNNConfig
from ast_lab.models import CNN, count_parameters

pytestmark = pytest.mark.usefixtures("one_torch_thread")

MODES = ["single", "data", "folds"]


@pytest.fixture(scope="module")
def bench(import_benchmark):
    """The benchmark script imported as a module."""
    return import_benchmark("distributed_speed")


def test_the_pair_shares_the_threads_and_fold_parallel_counts_twice_the_clips(bench):
    single, pair = bench.groups(bench.parse_args(["--threads", "2"]))
    assert (single.processes, single.threads, single.modes) == (1, 2, ("single",))
    assert (pair.processes, pair.threads, pair.modes) == (2, 1, ("data", "folds"))
    assert bench.groups(bench.parse_args(["--threads", "1"]))[1].threads == 1  # never 0
    settings = bench.Settings(("cnn",), batch=16, steps=3, warmup=1, device="cpu")
    assert single.clips_per_pass("single", settings) == 48
    assert pair.clips_per_pass("data", settings) == 48  # one model, each rank half a batch
    assert pair.clips_per_pass("folds", settings) == 96  # a model per rank


def test_options_defaults_and_bad_values(bench):
    full, quick = bench.parse_args([]), bench.parse_args(["--quick"])
    assert (full.models, full.rounds, full.out) == (["cnn", "ast"], 7, bench.RESULTS)
    assert (quick.models, quick.out) == (["cnn"], None)  # a smoke run writes nothing
    if torch.cuda.device_count() < 2:
        assert full.device == "cpu"
    for bad in (["--batch", "15"], ["--rounds", "0"], ["--models", "rnn"]):
        with pytest.raises(SystemExit):
            bench.parse_args(bad)


def test_quick_run_reports_medians_ranges_and_ratios_of_its_rounds(bench, tmp_path):
    out = tmp_path / "distributed.json"
    result = bench.main(["--quick", "--threads", "1", "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    settings = result["settings"]
    assert (settings["backend"], settings["input"], settings["classes"]) == ("gloo", [64, 101], 12)
    assert settings["torch"] == torch.__version__ and settings["rounds"] == 2
    (row,) = result["results"]
    expected = count_parameters(CNN(CNNConfig(channels=(16, 32, 64), num_classes=12)))
    assert row["model"] == "cnn" and row["params"] == expected
    rounds = row["rounds"]
    assert rounds["reference"] == "single"
    assert rounds["orders"] == [MODES, MODES[1:] + MODES[:1]]  # interleaved, turned each round
    seconds = {mode: rounds["seconds"][mode]["per_round"] for mode in MODES}
    for mode in MODES:
        speed = row["clips_per_s"][mode]
        assert 0 < speed["min"] <= speed["median"] <= speed["max"]
        assert speed["per_round"] == pytest.approx([1 / s for s in seconds[mode]], rel=2e-3)
    assert list(row["speed_ratio_to_single"]) == ["data", "folds"]
    for mode in ("data", "folds"):
        ratio = row["speed_ratio_to_single"][mode]
        per_round = [one / two for one, two in zip(seconds["single"], seconds[mode])]
        assert ratio["per_round"] == pytest.approx(per_round, rel=2e-3)
        assert ratio["min"] <= ratio["median"] <= ratio["max"]
        assert 0.05 < ratio["median"] < 20  # the same work, give or take a loaded machine
