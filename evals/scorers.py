"""Scorers: the user's functions that grade one output, or LLM judges whose model and version are
recorded with the result (``tracelock.judge.model`` / ``tracelock.judge.version``).

A scorer is called ``scorer(output, case)`` and returns a number in [0, 1], a bool, or a
:class:`Score` (value, label, explanation, passed). Its name is the function's name unless given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tracelock.evals.dataset import Case

__all__ = ["Score", "Scorer", "as_scorer", "judge"]


@dataclass(frozen=True)
class Score:
    """A scorer's verdict. ``passed`` None means: value >= the run's pass threshold."""

    value: float
    label: str | None = None
    explanation: str | None = None
    passed: bool | None = None


@dataclass(frozen=True)
class Scorer:
    name: str
    fn: Callable[[Any, Case], Any]
    judge_model: str | None = None
    judge_version: str | None = None

    def score(self, output: Any, case: Case) -> Score:
        """Run the function and normalise its answer; TypeError when it returns something else."""
        result = self.fn(output, case)
        if isinstance(result, Score):
            return result
        if isinstance(result, bool):
            return Score(1.0 if result else 0.0, label="pass" if result else "fail", passed=result)
        if isinstance(result, int | float):
            return Score(float(result))
        raise TypeError(f"scorer {self.name} returned {type(result).__name__}; expected float, bool or Score")


def as_scorer(obj: Scorer | Callable[[Any, Case], Any]) -> Scorer:
    if isinstance(obj, Scorer):
        return obj
    return Scorer(getattr(obj, "__name__", "score"), obj)


def judge(fn: Callable[[Any, Case], Any], *, model: str, version: str, name: str | None = None) -> Scorer:
    """Wrap an LLM-judge call so its model and version are recorded on every result it grades."""
    return Scorer(name or str(getattr(fn, "__name__", "judge")), fn, judge_model=model, judge_version=version)
