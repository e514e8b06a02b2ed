"""The ``--expect`` mini-language of ``tracelock lock add``: one assertion per option, written like a test.

passed                      the eval's own verdict (``passed: true``; the runner must report one)
completes                   the task returned an output without an error
exact:TEXT                  output equals TEXT (or the JSON value TEXT parses to)
not_exact:TEXT              output is anything but TEXT
contains:TEXT               output contains TEXT            not_contains:TEXT   ... does not
icontains:TEXT              contains, ignoring case
regex:PATTERN               output matches PATTERN (re.search)
json_schema:JSON|@FILE      output validates against the JSON Schema
score:NAME>=X               scorer NAME scored at least X
judge:NAME>=X               as score, by the judge given with --judge-model/--judge-version
METRIC<=X                   ceiling; METRIC is cost_usd, latency_ms, input_tokens, output_tokens,
                            context_tokens or total_tokens

Without ``--expect``, ``lock add`` locks :func:`default_expectations`: the output the source trace
produced must not come back (``not_exact`` of the observed output), or, for a trace without a recorded
output, the task must complete. Both need only the output, which every runner reports.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tracelock.errors import ConfigError
from tracelock.lock.model import CEILING_METRICS, Assertion

__all__ = ["default_expectations", "parse_expect"]

_THRESHOLD = re.compile(r"^\s*([^<>=\s]+)\s*>=\s*(-?[0-9.]+(?:[eE]-?[0-9]+)?)\s*$")
_CEILING = re.compile(r"^\s*([a-z_]+)\s*<=\s*([0-9.]+(?:[eE]-?[0-9]+)?)\s*$")


def _number(text: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{text!r} is not a number in {spec!r}", field="--expect") from None
    return int(value) if value.is_integer() and "." not in text else value


def _json_schema(body: str, spec: str) -> dict[str, Any]:
    text = body
    if body.startswith("@"):
        try:
            text = Path(body[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read JSON Schema file {body[1:]}: {exc}", field="--expect") from None
    try:
        schema = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"JSON Schema in {spec!r} is not valid JSON: {exc}", field="--expect") from None
    if not isinstance(schema, dict):
        raise ConfigError(f"JSON Schema in {spec!r} must be an object", field="--expect")
    return schema


def parse_expect(spec: str, *, judge_model: str = "", judge_version: str = "") -> Assertion:
    """One ``--expect`` value -> an Assertion; ConfigError naming the spec when it does not parse."""
    spec_stripped = spec.strip()
    if spec_stripped in ("passed", "completes"):
        return Assertion(spec_stripped)
    ceiling = _CEILING.match(spec_stripped)
    if ceiling and ":" not in spec_stripped:
        metric = ceiling.group(1)
        if metric not in CEILING_METRICS:
            raise ConfigError(
                f"unknown metric {metric!r} in {spec!r} (known: {', '.join(CEILING_METRICS)})",
                field="--expect",
            )
        return Assertion("ceiling", {"metric": metric, "max": _number(ceiling.group(2), spec)})
    kind, sep, body = spec.partition(":")
    if not sep or not body:
        raise ConfigError(f"cannot read {spec!r}: write TYPE:VALUE, 'passed' or METRIC<=X", field="--expect")
    if kind in ("exact", "not_exact", "contains", "not_contains", "icontains"):
        if kind in ("exact", "not_exact"):
            try:
                return Assertion(kind, {"value": json.loads(body) if body.lstrip()[:1] in "{[" else body})
            except ValueError:
                return Assertion(kind, {"value": body})
        if kind == "icontains":
            return Assertion("contains", {"value": body, "ignore_case": True})
        return Assertion(kind, {"value": body})
    if kind == "regex":
        try:
            re.compile(body)
        except re.error as exc:
            raise ConfigError(f"invalid regex in {spec!r}: {exc}", field="--expect") from None
        return Assertion("regex", {"pattern": body})
    if kind == "json_schema":
        return Assertion("json_schema", {"schema": _json_schema(body, spec)})
    if kind in ("score", "judge"):
        match = _THRESHOLD.match(body)
        if not match:
            raise ConfigError(f"cannot read {spec!r}: write {kind}:NAME>=X", field="--expect")
        params: dict[str, Any] = {"scorer": match.group(1), "min": _number(match.group(2), spec)}
        if kind == "judge":
            if not judge_model or not judge_version:
                raise ConfigError(
                    f"{spec!r} needs the judge recorded: pass --judge-model and --judge-version",
                    field="--expect",
                )
            params |= {"judge_model": judge_model, "judge_version": judge_version}
        return Assertion(kind, params)
    raise ConfigError(
        f"unknown assertion type {kind!r} in {spec!r} (known: passed, completes, exact, not_exact, contains, "
        "not_contains, "
        "icontains, regex, json_schema, score, judge, METRIC<=X)",
        field="--expect",
    )


def default_expectations(observed_output: Any) -> tuple[Assertion, ...]:
    """What ``lock add`` asserts without ``--expect``: the observed (bad) output must not come back."""
    if observed_output is None or observed_output == "":
        return (Assertion("completes"),)
    return (Assertion("not_exact", {"value": observed_output}),)
