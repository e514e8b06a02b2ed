"""Checking one attempt against a case's assertions.

Each check returns ``None`` when the assertion holds, or one line saying what was expected and what was
seen; failures are data (shown in the table, JUnit and markdown), never exceptions.

Every assertion reads one field of the result (:data:`NEEDS`). When the result lacks it, the failure
names the field and how a runner produces it, instead of a bare "passed is None": the simplest runner
(``python -m tracelock.lock.run_tasks``) reports only the output, latency and errors unless the task
returns an :class:`~tracelock.lock.results.Attempt`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import jsonschema

from tracelock.lock.model import Assertion, LockCase
from tracelock.lock.results import Attempt

__all__ = ["NEEDS", "check_assertion", "check_attempt", "output_text"]

_SHOW = 80
_OUTPUT = ("output", "write the task's output in the result's 'output' field (run_tasks does)")
#: assertion type -> (result field it reads, how a runner fills that field).
NEEDS: dict[str, tuple[str, str]] = {
    "passed": (
        "passed",
        "report the eval's verdict: tracelock.evals.run_eval does; with tracelock.lock.run_tasks return "
        "Attempt(output=..., passed=...) from the task; or lock with an assertion on the output "
        "(--expect contains:TEXT, not_exact:TEXT, json_schema:@FILE)",
    ),
    "completes": _OUTPUT,
    "exact": _OUTPUT,
    "not_exact": _OUTPUT,
    "contains": _OUTPUT,
    "not_contains": _OUTPUT,
    "regex": _OUTPUT,
    "json_schema": _OUTPUT,
    "score": (
        "scores",
        "run a scorer of that name (tracelock.evals.run_eval), or return Attempt(scores={NAME: value})",
    ),
    "judge": (
        "scores",
        "run the judge scorer (tracelock.evals.judge), or return Attempt(scores=..., judge_model=...)",
    ),
    "ceiling": (
        "METRIC",
        "measure it in the task: return Attempt(METRIC=...) with run_tasks, EvalOutput(METRIC=...) with "
        "run_eval (latency_ms is measured by run_tasks itself)",
    ),
}


def _missing(assertion: Assertion, field: str | None = None) -> str:
    """The failure line for a result without the field ``assertion`` reads."""
    needed, how = NEEDS[assertion.type]
    field = field or needed
    return f"the result has no {field!r} ({assertion.describe()} reads it): {how.replace('METRIC', field)}"


def output_text(output: Any) -> str:
    """The text assertions match against: strings as they are, anything else as compact JSON."""
    if output is None:
        return ""
    if isinstance(output, str):
        return output
    return json.dumps(output, ensure_ascii=False, separators=(",", ":"))


def _short(text: str) -> str:
    return text if len(text) <= _SHOW else text[: _SHOW - 1] + "…"


def _parsed(output: Any) -> Any:
    if isinstance(output, str):
        try:
            return json.loads(output)
        except ValueError:
            return output
    return output


def _passed(a: Assertion, attempt: Attempt) -> str | None:
    if attempt.passed is None:
        return _missing(a)
    return None if attempt.passed else "passed is False, expected true (the eval's own verdict)"


def _completes(a: Assertion, attempt: Attempt) -> str | None:
    return None  # the output's presence is checked for every output assertion (check_assertion)


def _same(want: Any, got: Any) -> bool:
    return got == want or (isinstance(want, str) and output_text(got) == want) or _parsed(got) == want


def _exact(a: Assertion, attempt: Attempt) -> str | None:
    want, got = a.params["value"], attempt.output
    if a.type == "not_exact":
        return f"output is again exactly {_short(output_text(want))!r}" if _same(want, got) else None
    if _same(want, got):
        return None
    return f"output {_short(output_text(got))!r} is not exactly {_short(output_text(want))!r}"


def _contains(a: Assertion, attempt: Attempt) -> str | None:
    text, want = output_text(attempt.output), a.params["value"]
    hit = want.lower() in text.lower() if a.params.get("ignore_case") else want in text
    if a.type == "contains":
        return None if hit else f"output does not contain {want!r} (got {_short(text)!r})"
    return None if not hit else f"output contains {want!r}"


def _regex(a: Assertion, attempt: Attempt) -> str | None:
    text = output_text(attempt.output)
    if re.search(a.params["pattern"], text):
        return None
    return f"output does not match /{a.params['pattern']}/ (got {_short(text)!r})"


def _json_schema(a: Assertion, attempt: Attempt) -> str | None:
    value = _parsed(attempt.output)
    error = jsonschema.exceptions.best_match(
        jsonschema.validators.validator_for(a.params["schema"])(a.params["schema"]).iter_errors(value)
    )
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "output"
    return f"output fails JSON Schema at {where}: {_short(error.message)}"


def _score_value(name: str, attempt: Attempt) -> float | None:
    if name in attempt.scores:
        return attempt.scores[name]
    if name in ("score", "primary"):
        return attempt.score
    return None


def _score(a: Assertion, attempt: Attempt) -> str | None:
    name, low = a.params["scorer"], a.params["min"]
    value = _score_value(name, attempt)
    if value is None:
        known = ", ".join(sorted(attempt.scores)) or "none"
        return f"no score {name!r} in the result's 'scores' (it has: {known}): {NEEDS[a.type][1]}"
    return None if value >= low else f"score {name} = {value:g} < {low:g}"


def _judge(a: Assertion, attempt: Attempt) -> str | None:
    model, version = a.params["judge_model"], a.params["judge_version"]
    if attempt.judge_model and attempt.judge_model != model:
        return f"judged by {attempt.judge_model}, the lock requires judge {model}"
    if attempt.judge_version and attempt.judge_version != version:
        return f"judge version {attempt.judge_version}, the lock requires {version}"
    return _score(a, attempt)


def _ceiling(a: Assertion, attempt: Attempt) -> str | None:
    metric, high = a.params["metric"], a.params["max"]
    value = attempt.metric(metric)
    if value is None:
        return _missing(a, "input_tokens/output_tokens" if metric == "total_tokens" else metric)
    return None if value <= high else f"{metric} = {value:g} > {high:g}"


_CHECKS: dict[str, Callable[[Assertion, Attempt], str | None]] = {
    "passed": _passed,
    "completes": _completes,
    "exact": _exact,
    "not_exact": _exact,
    "contains": _contains,
    "not_contains": _contains,
    "regex": _regex,
    "json_schema": _json_schema,
    "score": _score,
    "judge": _judge,
    "ceiling": _ceiling,
}


def check_assertion(assertion: Assertion, attempt: Attempt) -> str | None:
    if NEEDS[assertion.type][0] == "output" and attempt.output is None:
        return _missing(assertion)
    return _CHECKS[assertion.type](assertion, attempt)


def check_attempt(case: LockCase, attempt: Attempt) -> list[str]:
    """Every failed assertion of ``attempt`` (an attempt that errored fails with its error)."""
    if attempt.error:
        return [f"error: {_short(attempt.error)}"]
    failures = []
    for assertion in case.expect:
        problem = check_assertion(assertion, attempt)
        if problem:
            failures.append(problem)
    return failures
