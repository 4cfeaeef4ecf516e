"""ast_lab.timing: interleaved rounds, per-round ratios to a reference, their median and range."""

from __future__ import annotations

import json
import time

import pytest

from ast_lab.timing import Comparison, Spread, measure_rounds, round_order, time_rounds


class FakeClock:
    """A clock that moves only when a timed call says how long it took."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def takes(self, seconds: float) -> None:
        self.now += seconds


def test_a_call_that_sleeps_twice_as_long_is_measured_twice_as_slow():
    # Sleeps overshoot by tens of microseconds, more while other work holds the cores; the
    # median of per-round ratios keeps that to a few per cent of 2 on a quiet machine, and a
    # burst during one timing moves one round only. 5 rounds x 3 calls x 6 ms: under 0.2 s.
    comparison = time_rounds(
        {"short": lambda: time.sleep(0.002), "long": lambda: time.sleep(0.004)},
        reference="short", rounds=5, repeat=3, warmup=1,
    )
    ratio = comparison.ratio("long")
    assert ratio.median == pytest.approx(2.0, rel=0.25)
    assert ratio.low <= ratio.median <= ratio.high
    assert comparison.speedup("long").median == pytest.approx(1 / ratio.median)
    assert comparison.seconds["short"].low >= 0.002  # a sleep is never shorter than asked
    assert comparison.seconds["long"].median == pytest.approx(0.004, rel=0.5)


def test_rounds_are_interleaved_and_rotated_after_the_warm_up():
    calls = []
    callables = {name: (lambda name=name: calls.append(name)) for name in "abc"}
    comparison = time_rounds(callables, reference="a", rounds=4, warmup=2)
    warm_up = list("aabbcc")
    assert calls == warm_up + list("abc" "bca" "cab" "abc")
    assert comparison.orders == (tuple("abc"), tuple("bca"), tuple("cab"), tuple("abc"))
    assert comparison.rounds == 4 and all(len(s.values) == 4 for s in comparison.seconds.values())

    calls.clear()
    time_rounds(callables, reference="b", rounds=3, warmup=0, rotate=False)
    assert calls == list("abc" * 3)
    assert round_order(["x", "y"], 1) == ["y", "x"]
    assert round_order(["x", "y"], 1, rotate=False) == ["x", "y"]


def test_each_timing_is_synchronised_and_divided_by_its_calls():
    clock, log = FakeClock(), []

    def call(name: str, seconds: float) -> None:
        log.append(name)
        clock.takes(seconds)

    comparison = time_rounds(
        {"a": lambda: call("a", 1.0), "b": lambda: call("b", 3.0)},
        reference="a", rounds=2, repeat=4, warmup=0, clock=clock,
        synchronize=lambda: log.append("sync"),
    )
    one_timing = ["sync", *["a"] * 4, "sync"]
    assert log[:6] == one_timing and log.count("sync") == 2 * 2 * 2  # 2 per timing
    assert comparison.seconds["a"].values == (1.0, 1.0)  # per call, not per timing of 4
    assert comparison.seconds["b"].values == (3.0, 3.0)
    assert comparison.ratio("b").values == (3.0, 3.0)
    assert comparison.ratio("a", reference="b").values == (1 / 3, 1 / 3)


def test_median_ignores_a_round_that_a_burst_slowed_and_the_range_shows_it():
    # b takes 2 s, but round 2 of 5 hit it with a burst (10 s); the reference drifts slowly
    # upwards from 1 s, as if the machine got busier, and the per-round ratio cancels that.
    a = iter([1.0, 1.1, 1.2, 1.3, 1.4])
    b = iter([2.0, 2.2, 10.0, 2.6, 2.8])
    comparison = measure_rounds({"a": lambda: next(a), "b": lambda: next(b)}, reference="a",
                                rounds=5)
    ratio = comparison.ratio("b")
    assert ratio.median == pytest.approx(2.0)
    assert (ratio.low, ratio.high) == (pytest.approx(2.0), pytest.approx(10.0 / 1.2))
    assert comparison.seconds["b"].median == pytest.approx(2.6)  # the raw time drifts with it
    assert comparison.orders[1] == ("b", "a")


def test_to_dict_is_json_with_ratios_of_the_other_variants():
    comparison = Comparison(
        reference="ref",
        seconds={"ref": Spread((0.002, 0.004, 0.003)), "x": Spread((0.001, 0.001, 0.0012345678))},
        orders=(("ref", "x"), ("x", "ref"), ("ref", "x")),
    )
    out = json.loads(json.dumps(comparison.to_dict()))
    assert out["reference"] == "ref" and out["rounds"] == 3
    assert out["orders"][1] == ["x", "ref"]
    assert list(out["ratio_to_reference"]) == ["x"]  # not the reference against itself
    assert out["ratio_to_reference"]["x"] == {
        "median": 0.4115, "min": 0.25, "max": 0.5, "per_round": [0.5, 0.25, 0.4115]}
    assert out["seconds"]["x"]["per_round"][2] == 0.001235  # 4 significant digits
    spread = Spread((2.0, 4.0, 8.0))
    assert spread.scaled(1000).values == (2000.0, 4000.0, 8000.0)
    assert spread.inverse().median == 0.25
    assert Spread((1.0, 3.0, 2.0, 10.0)).median == 2.5  # even rounds: the middle two's mean


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(rounds=0), "rounds must be >= 1, got 0"),
        (dict(reference="nope"), r"unknown reference 'nope'; the variants are \['a', 'b'\]"),
        (dict(repeat=0), "repeat must be >= 1, got 0"),
        (dict(warmup=-1), "warmup must be >= 0, got -1"),
    ],
)
def test_bad_inputs_raise_before_anything_is_called(kwargs, message):
    calls = []
    callables = {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}
    with pytest.raises(ValueError, match=message):
        time_rounds(callables, **{"reference": "a", **kwargs})
    assert calls == []


def test_no_variants_a_time_not_positive_or_an_unknown_name_raise():
    with pytest.raises(ValueError, match="nothing to time: no variants given"):
        time_rounds({}, reference="a")
    with pytest.raises(ValueError, match="nothing to time"):
        measure_rounds({}, reference="a")
    with pytest.raises(ValueError, match=r"'b' measured 0.0 s in round 0; a time must be > 0"):
        measure_rounds({"a": lambda: 1.0, "b": lambda: 0.0}, reference="a")
    comparison = measure_rounds({"a": lambda: 1.0}, reference="a", rounds=2)
    assert comparison.to_dict()["ratio_to_reference"] == {}
    with pytest.raises(ValueError, match=r"unknown variant 'c'; measured: \['a'\]"):
        comparison.ratio("c")
