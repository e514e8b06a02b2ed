"""Checking one attempt against a case's assertions.

Each check returns ``None`` when the assertion holds, or one line saying what was expected and what was
seen; failures are data (shown in the table, JUnit and markdown), never exceptions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import jsonschema

from tracelock.lock.model import Assertion, LockCase
from tracelock.lock.results import Attempt

__all__ = ["check_assertion", "check_attempt", "output_text"]

_SHOW = 80


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
    return None if attempt.passed else f"passed is {attempt.passed}, expected true"


def _exact(a: Assertion, attempt: Attempt) -> str | None:
    want = a.params["value"]
    got = attempt.output
    if got == want or (isinstance(want, str) and output_text(got) == want) or _parsed(got) == want:
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
        return f"no score {name!r} in the result (scores: {', '.join(sorted(attempt.scores)) or 'none'})"
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
        return f"no {metric} in the result"
    return None if value <= high else f"{metric} = {value:g} > {high:g}"


_CHECKS: dict[str, Callable[[Assertion, Attempt], str | None]] = {
    "passed": _passed,
    "exact": _exact,
    "contains": _contains,
    "not_contains": _contains,
    "regex": _regex,
    "json_schema": _json_schema,
    "score": _score,
    "judge": _judge,
    "ceiling": _ceiling,
}


def check_assertion(assertion: Assertion, attempt: Attempt) -> str | None:
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
