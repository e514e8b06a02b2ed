"""The one case format: what a seed, a lock case and a dataset row look like on disk.

One JSON object per line (``deploy/schemas/case.schema.json``)::

    {"id": "seed-9ddc3632aa4f070c", "input": [...], "expected": null,
     "keys": {"gen_ai.prompt.version": "refund-v4"}, "labels": {"tracelock.customer.tier": "enterprise"},
     "provenance": {"source_trace_id": "<hex32>", "source_span_id": "<hex16>", "seed_id": "...",
                    "feedback_ids": ["..."], "dataset_id": "refund", "dataset_version": "3"}}

``tracelock seeds export`` and ``tracelock lock export`` write it, ``Dataset.from_jsonl`` and the replay
runner (``python -m tracelock.lock.run_tasks``) read it, and an eval result line carries the same
``provenance`` object, so the production trace a case came from is still named when its result comes
back. Writers emit only this form. Readers also take the two older forms, because converting them is a
rename: the first ``Dataset.from_jsonl`` shape (``inputs``) and the old seeds/lock export shape
(``case_id`` plus flat ``source_trace_id``, ``rule``, ``feedback``, ``dataset_id`` ...).

Kept outside ``evals``/``lock``/``sampler`` (it is imported by all three) and free of heavy imports.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema

from tracelock.errors import InputError

__all__ = [
    "CASE_SCHEMA_FILE",
    "case_schema",
    "cases_jsonl",
    "check_case",
    "json_lines",
    "make_case",
    "read_cases",
    "read_cases_file",
    "takes_case",
]

CASE_SCHEMA_FILE = "case.schema.json"

# old flat field -> provenance field (the seeds/lock export shape before the case format)
_OLD_PROVENANCE = {
    "source_trace_id": "source_trace_id",
    "source_span_id": "source_span_id",
    "seed_id": "seed_id",
    "rule": "seed_rule",
    "rule_version": "seed_rule_version",
    "level": "seed_level",
    "mode": "seed_mode",
    "found_at": "found_at",
    "matched": "matched",
    "feedback": "feedback",
    "output": "observed_output",
    "dataset_id": "dataset_id",
    "dataset_version": "dataset_version",
}


def case_schema_path() -> Path:
    return Path(__file__).resolve().parent / "deploy" / "schemas" / CASE_SCHEMA_FILE


@functools.lru_cache(maxsize=1)
def case_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(case_schema_path().read_text(encoding="utf-8"))
    return schema


@functools.lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(case_schema())


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def make_case(
    id: str,
    input: Any,
    *,
    expected: Any = None,
    keys: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    provenance: Mapping[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A case object in the field order of the schema; empty values are left out (``input`` never)."""
    case: dict[str, Any] = {"id": id, "input": input}
    optional = {
        "expected": expected,
        "keys": dict(keys or {}),
        "labels": dict(labels or {}),
        **extra,
        "provenance": {k: v for k, v in (provenance or {}).items() if not _empty(v)},
    }
    case |= {k: v for k, v in optional.items() if not _empty(v)}
    return case


def _upgrade(obj: Mapping[str, Any]) -> dict[str, Any]:
    """An older form -> the case format (a case already in it is returned as a copy)."""
    case = dict(obj)
    if "id" not in case and "case_id" in case:
        case["id"] = case.pop("case_id")
    if "input" not in case and "inputs" in case:
        case["input"] = case.pop("inputs")
    provenance = dict(case.get("provenance") or {})
    for old, new in _OLD_PROVENANCE.items():
        if old in case:
            value = case.pop(old)
            if not _empty(value):
                provenance.setdefault(new, value)
    if "feedback" in provenance and "feedback_ids" not in provenance:
        ids = [f.get("id") for f in provenance["feedback"] if isinstance(f, Mapping) and f.get("id")]
        if ids:
            provenance["feedback_ids"] = ids
    if "dataset_version" in provenance:
        provenance["dataset_version"] = str(provenance["dataset_version"])
    case.pop("provenance", None)
    if provenance:
        case["provenance"] = provenance
    return case


def check_case(obj: Any, where: str) -> dict[str, Any]:
    """One case (any accepted form) -> the case format; InputError naming ``where`` and the field."""
    if not isinstance(obj, Mapping):
        raise InputError(f"{where}: not a case object (a JSON object with id and input)")
    case = _upgrade(obj)
    error = jsonschema.exceptions.best_match(_validator().iter_errors(case))
    if error is not None:
        field = "/".join(str(p) for p in error.absolute_path) or "(case)"
        raise InputError(f"{where}: not a case object: field {field}: {error.message}")
    return case


def json_lines(
    lines: Iterable[str], source: str, error: type[InputError] = InputError
) -> Iterator[tuple[str, Any]]:
    """(``source:line``, value) of each non-blank JSONL line; ``error`` names a line that is not JSON."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield f"{source}:{number}", json.loads(line)
        except json.JSONDecodeError as exc:
            raise error(f"{source}:{number}: not valid JSON ({exc.msg} at column {exc.colno})") from None


def read_cases(lines: Iterable[str], source: str) -> list[dict[str, Any]]:
    """Cases from JSONL lines (blank lines skipped); InputError names ``source:line`` and the field."""
    return [check_case(obj, where) for where, obj in json_lines(lines, source)]


def read_cases_file(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read cases from {path}: {exc}") from None
    return read_cases(text.splitlines(), str(path))


def cases_jsonl(cases: Iterable[Mapping[str, Any]]) -> str:
    return "".join(json.dumps(c, ensure_ascii=False, default=str) + "\n" for c in cases)


def takes_case(task: Callable[..., Any]) -> bool:
    """Whether ``task`` wants the case too: ``task(input, case)`` or a ``case=`` keyword parameter.

    A task written ``def answer(question)`` is called with the input only, as before; one written
    ``def answer(question, case)`` gets the case as well (its keys and labels: a tier-specific bug
    replays without a runner of its own).
    """
    try:
        parameters = list(inspect.signature(task).parameters.values())
    except (TypeError, ValueError):  # builtins without a signature: input only
        return False
    if any(p.name == "case" and p.kind is not p.VAR_POSITIONAL for p in parameters):
        return True
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in parameters)
