"""Progress output of training: bars on a terminal, one plain line per epoch anywhere else.

A CI log or ``> file`` gets no carriage-return bar frames: ``EpochProgress`` prints one
readable line per finished epoch there, such as::

    cnn fold 2 epoch 7/30: loss 1.204, train acc 0.613, val acc 0.588, lr 9.1e-04, 3.2 s

and a metric that was not measured (no validation split) is left out rather than shown as nan.
"""

from __future__ import annotations

import math
import sys
from typing import Iterable, Iterator, Optional, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def is_terminal() -> bool:
    """Whether progress goes to an interactive terminal (stderr, where tqdm writes)."""
    return sys.stderr.isatty()


def batch_bar(items: Iterable[T], total: int, enabled: bool, desc: str = "train") -> Iterator[T]:
    """A transient per-batch bar over ``items`` on a terminal; the bare items elsewhere."""
    if enabled and is_terminal():
        return iter(tqdm(items, total=total, desc=desc, leave=False))
    return iter(items)


def epoch_summary(stats: dict[str, float]) -> dict[str, str]:
    """The measured numbers of one epoch, formatted; NaN entries (not measured) are dropped."""
    formats = {"train_loss": ("loss", ".3f"), "train_acc": ("train acc", ".3f"),
               "val_acc": ("val acc", ".3f"), "lr": ("lr", ".1e")}
    return {
        label: format(stats[key], spec)
        for key, (label, spec) in formats.items()
        if key in stats and not math.isnan(stats[key])
    }


class EpochProgress:
    """Epoch progress of one fold: a tqdm bar with the last epoch's numbers on a terminal, one
    printed line per epoch elsewhere; silent when ``enabled`` is False."""

    def __init__(self, name: str, total: int, initial: int = 0, *, enabled: bool = True,
                 terminal: Optional[bool] = None) -> None:
        self.name, self.total = name, total
        self.enabled = enabled
        self.terminal = is_terminal() if terminal is None else terminal
        self.bar = tqdm(total=total, initial=initial, desc=name,
                        disable=not (enabled and self.terminal))

    def __enter__(self) -> "EpochProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()

    def update(self, epoch: int, stats: dict[str, float], seconds: float) -> None:
        """Report 0-based ``epoch``, just finished, with its ``stats`` and wall time."""
        summary = epoch_summary(stats)
        if not self.enabled:
            return
        if self.terminal:
            self.bar.update(1)
            self.bar.set_postfix(summary)
            return
        numbers = ", ".join(f"{label} {value}" for label, value in summary.items())
        print(f"{self.name} epoch {epoch + 1}/{self.total}: {numbers}, {seconds:.1f} s",
              flush=True)
