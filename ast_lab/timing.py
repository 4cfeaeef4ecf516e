"""Timing on a shared machine: variants measured in interleaved rounds, compared by median ratio.

One timed pass of A and then one of B says little where other work shares the cores: a burst
of it during A's pass, or a slow drift (clock boost, a job starting), moves the A/B ratio by
more than the difference being measured. Here every round measures every variant once, back
to back (round r: A, B, C, ...; with ``rotate`` the order turns by one place each round, so
that no variant is always first or last), and each variant is compared with a reference
*within* each round: ``ratio[r] = seconds[variant][r] / seconds[reference][r]``. Load that
lasts a round slows both sides and cancels in the ratio; the median over rounds then ignores
the rounds that a burst hit on one side only, and the range (min, max over rounds) shows how
much the machine moved it.

``time_rounds`` times callables itself (wall-clock ``time.perf_counter``, optionally several
calls per timing, warm-up calls first, a ``synchronize`` callback such as
``torch.cuda.synchronize`` around every timing so that queued GPU work is counted);
``measure_rounds`` takes measures that return their own seconds (e.g. processes that time
their own loop). Both return a ``Comparison``::

    comparison = time_rounds({"ours": ours, "librosa": theirs}, reference="librosa", rounds=7)
    comparison.ratio("ours").median       # time ours / time librosa (below 1: ours is faster)
    comparison.seconds["ours"].median     # seconds per call
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Mapping, Optional, Sequence

SIGNIFICANT_DIGITS = 4  # in ``to_dict``: more than any timing on a shared machine can back


def _rounded(value: float) -> float:
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


@dataclass(frozen=True)
class Spread:
    """One quantity measured once per round (seconds, or a ratio of seconds): its values in
    round order, their median and their range."""

    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    def scaled(self, factor: float) -> Spread:
        """Every value times ``factor`` (e.g. seconds per call -> milliseconds per clip)."""
        return Spread(tuple(v * factor for v in self.values))

    def inverse(self) -> Spread:
        """Every value's reciprocal: seconds per unit -> units per second, a time ratio -> a
        speed ratio. (For an odd number of rounds the median is the median's reciprocal.)"""
        return Spread(tuple(1.0 / v for v in self.values))

    def to_dict(self) -> dict[str, Any]:
        """``{"median", "min", "max", "per_round"}``, to ``SIGNIFICANT_DIGITS`` digits."""
        return {
            "median": _rounded(self.median),
            "min": _rounded(self.low),
            "max": _rounded(self.high),
            "per_round": [_rounded(v) for v in self.values],
        }


@dataclass(frozen=True)
class Comparison:
    """Variants measured in the same rounds, and their ratios to a reference.

    ``seconds[name].values[r]`` is what round ``r`` measured for ``name``: seconds per call
    for ``time_rounds``, whatever unit of work the measures return for ``measure_rounds``
    (the same for every variant). ``orders[r]`` is the order round ``r`` ran them in.
    """

    reference: str
    seconds: dict[str, Spread]
    orders: tuple[tuple[str, ...], ...]

    @property
    def rounds(self) -> int:
        return len(self.orders)

    def ratio(self, variant: str, reference: Optional[str] = None) -> Spread:
        """Per round, ``variant``'s seconds over ``reference``'s (default: the comparison's
        reference): a time ratio, below 1 where ``variant`` is faster."""
        reference = self.reference if reference is None else reference
        for name in (variant, reference):
            if name not in self.seconds:
                raise ValueError(f"unknown variant {name!r}; measured: {list(self.seconds)}")
        pairs = zip(self.seconds[variant].values, self.seconds[reference].values)
        return Spread(tuple(mine / theirs for mine, theirs in pairs))

    def speedup(self, variant: str, reference: Optional[str] = None) -> Spread:
        """Per round, ``variant``'s speed (work per second) over ``reference``'s: the
        reciprocal of ``ratio``, above 1 where ``variant`` is faster."""
        return self.ratio(variant, reference).inverse()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the reference, rounds, orders, seconds and the time ratio of every other
        variant to the reference (``Spread.to_dict`` each)."""
        return {
            "reference": self.reference,
            "rounds": self.rounds,
            "orders": [list(order) for order in self.orders],
            "seconds": {name: spread.to_dict() for name, spread in self.seconds.items()},
            "ratio_to_reference": {
                name: self.ratio(name).to_dict() for name in self.seconds
                if name != self.reference
            },
        }


def _check(names: Sequence[str], reference: str, rounds: int) -> None:
    """Raise ValueError for inputs no comparison can be made of."""
    if not names:
        raise ValueError("nothing to time: no variants given")
    if reference not in names:
        raise ValueError(f"unknown reference {reference!r}; the variants are {list(names)}")
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")


def round_order(names: Sequence[str], round_index: int, rotate: bool = True) -> list[str]:
    """The order of round ``round_index`` (0-based): ``names`` as given, or with ``rotate``
    turned left by ``round_index`` places (A B C, then B C A, then C A B, ...)."""
    shift = round_index % len(names) if rotate else 0
    return list(names[shift:]) + list(names[:shift])


def measure_rounds(
    measures: Mapping[str, Callable[[], float]],
    *,
    reference: str,
    rounds: int = 7,
    rotate: bool = True,
) -> Comparison:
    """Call every measure once per round, in ``round_order``; each returns its own seconds
    (a positive number, in the same unit of work for every variant).

    Raises ValueError for no measures, a ``reference`` that is not one of them, fewer than one
    round, or a measure that returns a time that is not positive.
    """
    names = list(measures)
    _check(names, reference, rounds)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    orders = []
    for r in range(rounds):
        order = round_order(names, r, rotate)
        for name in order:
            value = float(measures[name]())
            if not value > 0:
                raise ValueError(f"{name!r} measured {value} s in round {r}; a time must be > 0")
            seconds[name].append(value)
        orders.append(tuple(order))
    return Comparison(reference, {n: Spread(tuple(s)) for n, s in seconds.items()}, tuple(orders))


def _timed(
    call: Callable[[], object],
    repeat: int,
    synchronize: Callable[[], None],
    clock: Callable[[], float],
) -> float:
    """Seconds per call of ``call``, over ``repeat`` calls in a row (synchronised around)."""
    synchronize()
    start = clock()
    for _ in range(repeat):
        call()
    synchronize()
    return (clock() - start) / repeat


def time_rounds(
    callables: Mapping[str, Callable[[], object]],
    *,
    reference: str,
    rounds: int = 7,
    repeat: int = 1,
    warmup: int = 1,
    rotate: bool = True,
    synchronize: Optional[Callable[[], None]] = None,
    clock: Callable[[], float] = time.perf_counter,
) -> Comparison:
    """Time every callable once per round, interleaved (``measure_rounds``).

    Args:
        callables: name -> a call to time (its return value is ignored).
        reference: the name the others are compared with.
        rounds: timings per variant.
        repeat: calls per timing; the timing is divided by it (seconds per call). More
            calls per timing average out the clock's and the scheduler's granularity for
            calls of microseconds to a few milliseconds.
        warmup: untimed calls of every variant first (caches, allocator, lazy initialisation).
        rotate: turn the order of the variants by one place every round.
        synchronize: called right before a timing starts and before it stops, e.g.
            ``torch.cuda.synchronize``, so that work queued on a GPU is counted where it was
            launched. None: nothing to wait for (CPU).
        clock: seconds, monotonic; ``time.perf_counter`` by default.

    Raises ValueError for no callables, an unknown ``reference``, ``rounds`` or ``repeat``
    below 1, or ``warmup`` below 0.
    """
    names = list(callables)
    _check(names, reference, rounds)
    if repeat < 1:
        raise ValueError(f"repeat must be >= 1, got {repeat}")
    if warmup < 0:
        raise ValueError(f"warmup must be >= 0, got {warmup}")
    sync = synchronize if synchronize is not None else (lambda: None)
    for name in names:
        for _ in range(warmup):
            callables[name]()
    measures = {name: partial(_timed, callables[name], repeat, sync, clock) for name in names}
    return measure_rounds(measures, reference=reference, rounds=rounds, rotate=rotate)
