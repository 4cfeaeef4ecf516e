"""The checking machinery every notebook's exercises share: run, compare, explain.

A grader runs the learner's function on a list of ``Case`` inputs (ordinary ones first, then
edge cases), compares each answer with the package's own reference implementation and stops at
the first difference. Its ``Feedback`` says, in words, which input, what was expected and what
came back (shape against shape, or the first differing value), and gives the hint of the first
``Mistake`` whose test recognises the answer (e.g. "one frame short"). A stub that still raises
``NotImplementedError`` is "not attempted yet": nothing raises, so notebooks run under nbval.

An experiment is checked by ``grade_reading``: what the learner read off a measurement (a
window length, a probability, a yes or no) against what the measurement shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Optional, Sequence

import numpy as np

Status = Literal["correct", "not attempted", "wrong"]


@dataclass(frozen=True)
class Feedback:
    """The verdict on one exercise; its repr is what the notebook shows."""

    exercise: str
    status: Status
    message: str
    hint: str = ""

    @property
    def correct(self) -> bool:
        return self.status == "correct"

    def __repr__(self) -> str:
        mark = {"correct": "✓", "not attempted": "…", "wrong": "✗"}[self.status]
        text = f"{mark} {self.exercise}: {self.message}"
        return f"{text}\n  hint: {self.hint}" if self.hint else text


@dataclass(frozen=True)
class Case:
    """One input to the learner's function: ``label`` names it in the feedback."""

    label: str
    args: tuple
    kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Mistake:
    """A common wrong answer: ``matches(case, expected, got)`` recognises it, ``hint`` explains
    it (a string, or a function of the same three arguments that returns one)."""

    hint: str | Callable[[Case, Any, Any], str]
    matches: Callable[[Case, Any, Any], bool]

    def explain(self, case: Case, expected: Any, got: Any) -> Optional[str]:
        """The hint when this mistake matches the answer, else None (never raises)."""
        try:
            if not self.matches(case, expected, got):
                return None
            return self.hint(case, expected, got) if callable(self.hint) else self.hint
        except Exception:  # noqa: BLE001 - an odd answer type is simply not this mistake
            return None


@dataclass(frozen=True)
class Check:
    """A property a right answer has: ``problem(case, got)`` is None, or what is wrong, in words."""

    hint: str
    problem: Callable[[Case, Any], Optional[str]]


def as_array(value: Any) -> np.ndarray:
    """A float64 numpy copy of a number, sequence, array or (grad-carrying) tensor."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def close(a: Any, b: Any, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    """Whether two answers agree in shape and value; never raises (odd types are unequal)."""
    try:
        a, b = as_array(a), as_array(b)
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)


def describe_difference(expected: Any, got: Any, rtol: float = 1e-4, atol: float = 1e-5) -> Optional[str]:
    """None when ``got`` matches ``expected``, else the first difference in words."""
    if isinstance(expected, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"expected {len(expected)} values {_short(expected)}, got {_short(got)}"
        for position, (want, have) in enumerate(zip(expected, got)):
            difference = describe_difference(want, have, rtol, atol)
            if difference is not None:
                return f"value {position} of the result: {difference}"
        return None
    try:
        want, have = as_array(expected), as_array(got)
    except (TypeError, ValueError):
        return f"expected {_short(expected)}, got {_short(got)} (not a number or array)"
    if want.shape != have.shape:
        return f"expected shape {want.shape}, got shape {have.shape}"
    off = ~np.isclose(have, want, rtol=rtol, atol=atol, equal_nan=True)
    if not off.any():
        return None
    if want.ndim == 0:
        return f"expected {_number(want)}, got {_number(have)}"
    where = tuple(int(i) for i in np.argwhere(off)[0])
    return (f"first difference at index {where}: expected {_number(want[where])}, got "
            f"{_number(have[where])} ({int(off.sum())} of {off.size} values differ)")


NOT_ATTEMPTED = ("not attempted yet: fill in the stub above (replace the "
                 "`raise NotImplementedError` line) and run the cell again.")


def run_learner(exercise: str, learner: Callable, case: Case, hint: str = "") -> tuple[Any, Optional[Feedback]]:
    """``(answer, None)``, or ``(None, feedback)`` when the learner's function raised.

    ``NotImplementedError`` means "not attempted"; any other exception is a wrong answer,
    reported with its message and ``hint``.
    """
    try:
        return learner(*case.args, **case.kwargs), None
    except NotImplementedError:
        return None, Feedback(exercise, "not attempted", NOT_ATTEMPTED)
    except Exception as error:  # noqa: BLE001 - any learner error is feedback, not a crash
        message = f"on {case.label}, your function raised {type(error).__name__}: {error}"
        return None, Feedback(exercise, "wrong", message, hint)


def grade(
    exercise: str,
    learner: Callable,
    reference: Callable,
    cases: Sequence[Case],
    mistakes: Sequence[Mistake] = (),
    fallback_hint: str = "",
    rtol: float = 1e-4,
    atol: float = 1e-5,
) -> Feedback:
    """Run ``learner`` and ``reference`` on every case; stop at the first difference.

    ``reference`` returns a number, an array/tensor, or a tuple of them. The hint is that of
    the first of ``mistakes`` that recognises the answer, else ``fallback_hint``.
    """
    for case in cases:
        expected = reference(*case.args, **case.kwargs)
        got, failed = run_learner(exercise, learner, case, fallback_hint)
        if failed is not None:
            return failed
        difference = describe_difference(expected, got, rtol, atol)
        if difference is not None:
            hints = (m.explain(case, expected, got) for m in mistakes)
            hint = next((h for h in hints if h is not None), fallback_hint)
            return Feedback(exercise, "wrong", f"on {case.label}: {difference}", hint)
    return correct(exercise, len(cases))


def grade_properties(exercise: str, learner: Callable, cases: Sequence[Case],
                     checks: Sequence[Check]) -> Feedback:
    """Grade an answer that has many right forms (e.g. a random split) by the properties every
    right answer has: the first failing ``Check`` on the first case gives the message and hint."""
    for case in cases:
        got, failed = run_learner(exercise, learner, case)
        if failed is not None:
            return failed
        for check in checks:
            try:
                problem = check.problem(case, got)
            except Exception as error:  # noqa: BLE001 - an answer of the wrong form
                problem = f"your answer could not be checked ({type(error).__name__}: {error})"
            if problem is not None:
                return Feedback(exercise, "wrong", f"on {case.label}: {problem}", check.hint)
    return correct(exercise, len(cases))


def grade_reading(exercise: str, answers: dict[str, Any], expected: dict[str, Any],
                  hints: dict[str, str], conclusion: str, atol: float = 0.0) -> Feedback:
    """Check what a learner read off an experiment: every value in ``answers`` (by name) must
    equal ``expected`` (numbers within ``atol``). An answer still ``...`` (or None) means not
    attempted; the first wrong one is reported with its entry of ``hints``; when all are right
    the feedback is ``conclusion``, what the reading means."""
    if any(value is ... or value is None for value in answers.values()):
        return Feedback(exercise, "not attempted", "not attempted yet: replace each `...` with "
                        "what you read off the experiment above, and run the cell again.")
    for name, want in expected.items():
        have = answers.get(name)
        same = (have == want if isinstance(want, (bool, str)) or isinstance(have, (bool, str))
                else close(have, want, rtol=0.0, atol=atol))
        if not same:
            return Feedback(exercise, "wrong", f"{name} = {have!r} is not what the experiment "
                            f"shows", hints.get(name, ""))
    return Feedback(exercise, "correct", conclusion)


def correct(exercise: str, n_cases: int) -> Feedback:
    """The verdict for an answer right on all ``n_cases`` inputs."""
    return Feedback(exercise, "correct", f"correct on all {n_cases} inputs, edge cases included.")


def _number(x: Any) -> str:
    value = float(x)
    return str(int(value)) if value.is_integer() and abs(value) < 1e12 else f"{value:.6g}"


def _short(x: Any, limit: int = 60) -> str:
    text = repr(x) if not hasattr(x, "shape") else f"{type(x).__name__} of shape {tuple(x.shape)}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def differs_by(expected: Any, got: Any, offset: float) -> bool:
    """Whether ``got == expected + offset`` (numbers, or element by element)."""
    return close(as_array(expected) + offset, got)


def is_finite_answer(got: Any) -> bool:
    """Whether every value of ``got`` is a finite number."""
    try:
        return bool(np.isfinite(as_array(got)).all())
    except (TypeError, ValueError):
        return False

