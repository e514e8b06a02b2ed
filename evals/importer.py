"""``tracelock eval import``: results produced by another eval tool, into ``eval_records``.

Two formats: the shared JSONL shape (one attempt per line, see :mod:`tracelock.evals.records`) and
promptfoo's JSON output (``promptfoo eval -o results.json``). An import is all-or-nothing: every line
is checked first and, if any is bad, nothing is written and the error lists each bad line with its
field; otherwise all rows go in one insert. eval_records deduplicates on (run, case, repeat), so
importing the same file twice does not double-count.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracelock.errors import InputError
from tracelock.evals.records import RecordError, columns_for, record_from_result
from tracelock.store.base import Store

__all__ = ["EvalImportError", "ImportResult", "import_results", "parse_jsonl", "parse_promptfoo"]

_MAX_LISTED = 20


class EvalImportError(InputError):
    """A results file has bad lines; nothing was imported. ``problems`` is [(line, field, problem)]."""

    def __init__(self, path: str, problems: list[tuple[int, str, str]], good: int) -> None:
        self.problems = problems
        self.good = good
        listed = "; ".join(
            f"line {line}: {field}: {problem}" for line, field, problem in problems[:_MAX_LISTED]
        )
        more = f"; and {len(problems) - _MAX_LISTED} more" if len(problems) > _MAX_LISTED else ""
        super().__init__(
            f"{path}: {len(problems)} bad line(s), nothing imported ({good} good line(s) were not imported "
            f"either): {listed}{more}"
        )


@dataclass(frozen=True)
class ImportResult:
    path: str
    format: str
    rows: int
    runs: list[str]
    cases: int


def _check_duplicates(rows: list[tuple[int, dict[str, Any]]], problems: list[tuple[int, str, str]]) -> None:
    seen: dict[tuple[str, str, int], int] = {}
    for line, row in rows:
        key = (row["EvalRunId"], row["CaseId"], row["Repeat"])
        if key in seen:
            problems.append((line, "repeat", f"duplicate of line {seen[key]} (same run_id, case_id, repeat)"))
        else:
            seen[key] = line


def parse_jsonl(
    lines: Iterable[str], *, pass_threshold: float = 0.5
) -> tuple[list[tuple[int, dict[str, Any]]], list[tuple[int, str, str]]]:
    """(good rows with their line numbers, problems as (line, field, problem)); blank lines skipped."""
    rows: list[tuple[int, dict[str, Any]]] = []
    problems: list[tuple[int, str, str]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append((number, "(json)", f"not valid JSON: {exc.msg} at column {exc.colno}"))
            continue
        try:
            rows.append(
                (number, record_from_result(data, source="import-jsonl", pass_threshold=pass_threshold))
            )
        except RecordError as exc:
            problems.append((number, exc.field, exc.problem))
    _check_duplicates(rows, problems)
    return rows, problems


def _promptfoo_results(doc: Any) -> tuple[list[Any], str, str | None]:
    """The result list, the run id and the timestamp of a promptfoo JSON output (v2 to v4 layouts)."""
    if not isinstance(doc, Mapping):
        raise InputError("promptfoo output must be a JSON object")
    results = doc.get("results")
    run_id = str(doc.get("evalId") or "")
    timestamp = doc.get("timestamp")
    if isinstance(results, Mapping):
        timestamp = results.get("timestamp", timestamp)
        results = results.get("results", results.get("outputs"))
    if not isinstance(results, list):
        raise InputError("promptfoo output has no results list (expected results.results)")
    return results, run_id or f"promptfoo:{timestamp or 'unknown'}", timestamp


def _provider_model(provider: Any) -> str:
    text = provider.get("id", "") if isinstance(provider, Mapping) else str(provider or "")
    return text.split(":", 1)[1] if ":" in text else text


def promptfoo_to_result(
    item: Mapping[str, Any], run_id: str, timestamp: str | None, repeat: int
) -> dict[str, Any]:
    """One promptfoo result -> the shared result shape."""
    test = item.get("testCase") or {}
    metadata = dict(test.get("metadata") or {}) if isinstance(test, Mapping) else {}
    prompt = item.get("prompt") or {}
    response = item.get("response") or {}
    usage = response.get("tokenUsage") or {} if isinstance(response, Mapping) else {}
    grading = item.get("gradingResult") or {}
    keys = {"gen_ai.request.model": _provider_model(item.get("provider"))}
    version = metadata.pop("prompt_version", None) or (
        prompt.get("label") if isinstance(prompt, Mapping) else None
    )
    if version:
        keys["gen_ai.prompt.version"] = str(version)
    labels = {str(k): str(v) for k, v in metadata.items() if isinstance(v, str | int | float)}
    case = test.get("description") if isinstance(test, Mapping) else None
    return {
        "run_id": run_id,
        "case_id": str(case or f"test-{item.get('testIdx', 0)}"),
        "repeat": repeat,
        "score": item.get("score"),
        "scores": item.get("namedScores") or {},
        "passed": bool(item.get("success", grading.get("pass", False))),
        "error": item.get("error") or None,
        "output": response.get("output") if isinstance(response, Mapping) else None,
        "input": item.get("vars") or (test.get("vars") if isinstance(test, Mapping) else None),
        "keys": {k: v for k, v in keys.items() if v},
        "labels": labels,
        "cost_usd": item.get("cost"),
        "latency_ms": item.get("latencyMs"),
        "input_tokens": usage.get("prompt"),
        "output_tokens": usage.get("completion"),
        "timestamp": timestamp,
    }


def parse_promptfoo(
    text: str, *, pass_threshold: float = 0.5
) -> tuple[list[tuple[int, dict[str, Any]]], list[tuple[int, str, str]]]:
    """Rows and problems of a promptfoo JSON output; "line" numbers are 1-based result positions."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"promptfoo output is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    results, run_id, timestamp = _promptfoo_results(doc)
    rows: list[tuple[int, dict[str, Any]]] = []
    problems: list[tuple[int, str, str]] = []
    attempts: dict[tuple[Any, Any], int] = {}
    for number, item in enumerate(results, start=1):
        if not isinstance(item, Mapping):
            problems.append((number, "(result)", "must be an object"))
            continue
        slot = (item.get("promptIdx"), item.get("testIdx"))
        repeat = attempts.get(slot, 0)
        attempts[slot] = repeat + 1
        try:
            shared = promptfoo_to_result(item, run_id, timestamp, repeat)
            rows.append(
                (number, record_from_result(shared, source="import-promptfoo", pass_threshold=pass_threshold))
            )
        except RecordError as exc:
            problems.append((number, exc.field, exc.problem))
    return rows, problems


def detect_format(path: Path, text: str) -> str:
    """``promptfoo`` for one JSON document with ``results``/``evalId``, else ``jsonl``."""
    if path.suffix == ".jsonl":
        return "jsonl"
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        return "jsonl"
    return "promptfoo" if isinstance(doc, Mapping) and ("results" in doc or "evalId" in doc) else "jsonl"


def import_results(
    store: Store, path: Path, *, fmt: str = "auto", pass_threshold: float = 0.5
) -> ImportResult:
    """Check every result in ``path`` and insert them all, or raise EvalImportError and insert none."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    if fmt == "auto":
        fmt = detect_format(path, text)
    if fmt == "promptfoo":
        rows, problems = parse_promptfoo(text, pass_threshold=pass_threshold)
    elif fmt == "jsonl":
        rows, problems = parse_jsonl(text.splitlines(), pass_threshold=pass_threshold)
    else:
        raise InputError(f"unknown import format {fmt!r}: use auto, jsonl or promptfoo")
    if problems:
        raise EvalImportError(
            str(path), sorted(problems), len(rows) - len({p[0] for p in problems} & {r[0] for r in rows})
        )
    if not rows:
        raise InputError(f"{path}: no results in the file, nothing imported")
    records = [row for _, row in rows]
    store.insert("eval_records", columns_for(records))
    return ImportResult(
        path=str(path),
        format=fmt,
        rows=len(records),
        runs=sorted({r["EvalRunId"] for r in records}),
        cases=len({(r["DatasetId"], r["CaseId"]) for r in records}),
    )
