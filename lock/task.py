"""Running lock cases through the application itself: the pytest plugin's task mode and example runners.

A task is a plain function called with a case's ``input``, once per repeat; written with a second
parameter (``def answer(question, case)``) it gets the case too, with its ``keys`` and ``labels``, and
every call runs inside ``tracelock.labels(case.labels)``, so a tier-specific bug replays as it happened.
It returns the output, or an :class:`~tracelock.lock.results.Attempt` to report scores, a verdict, cost
and tokens as well. A task that raises gives a failed attempt carrying the error, as an eval run would
record it. Each attempt carries the case's provenance back, so the result still names its source trace.
"""

from __future__ import annotations

import dataclasses
import importlib
import time
from collections.abc import Callable
from typing import Any

from tracelock.cases import takes_case
from tracelock.errors import ConfigError
from tracelock.lock.model import LockCase
from tracelock.lock.results import Attempt
from tracelock.processors.context import labels

__all__ = ["load_task", "run_task"]


def load_task(spec: str) -> Callable[..., Any]:
    """``package.module:function`` -> the function; ConfigError naming the spec when it is not one."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"{spec!r} is not module:function", field="task")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{spec!r}: cannot import {module_name}: {exc}", field="task") from exc
    function = getattr(module, attr, None)
    if not callable(function):
        raise ConfigError(f"{spec!r}: {attr} is not a function of {module_name}", field="task")
    task: Callable[..., Any] = function
    return task


def run_task(task: Callable[..., Any], case: LockCase, *, run_id: str, dataset_version: int) -> list[Attempt]:
    """Call ``task`` on the case input ``case.repeats`` times; one Attempt per call (latency measured)."""
    attempts = []
    with_case = takes_case(task)
    provenance = {
        **case.provenance.to_dict(),
        "dataset_id": case.dataset,
        "dataset_version": str(dataset_version),
    }
    for repeat in range(case.repeats):
        started = time.perf_counter()
        try:
            with labels(case.labels):
                value = task(case.input, case) if with_case else task(case.input)
        except Exception as exc:  # a crashing task is a failed attempt, as in an eval run
            value = Attempt(run_id=run_id, case_id=case.id, error=f"{type(exc).__name__}: {exc}")
        latency_ms = (time.perf_counter() - started) * 1000
        base = value if isinstance(value, Attempt) else Attempt(run_id=run_id, case_id=case.id, output=value)
        attempts.append(
            dataclasses.replace(
                base,
                run_id=base.run_id or run_id,
                case_id=case.id,
                repeat=repeat,
                dataset_id=case.dataset,
                dataset_version=str(dataset_version),
                latency_ms=latency_ms if base.latency_ms is None else base.latency_ms,
                provenance=base.provenance or provenance,
            )
        )
    return attempts
