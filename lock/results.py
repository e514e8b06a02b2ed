"""Eval results for the gate: one :class:`Attempt` per line of the shared eval-results JSONL shape.

Three sources, one shape: a JSONL file (``--results``), the ``eval_records`` table (``--run-id``), or the
JSONL a user command writes (``--runner``; see :mod:`tracelock.lock.runner`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracelock.cases import json_lines
from tracelock.errors import ResultsError
from tracelock.lock.model import normalize_version
from tracelock.store import Store
from tracelock.store.base import json_or_text

__all__ = ["Attempt", "attempts_from_run", "parse_results", "read_results_file"]


@dataclass(frozen=True)
class Attempt:
    """One attempt of one case (a line of the results JSONL)."""

    run_id: str
    case_id: str
    repeat: int = 0
    dataset_id: str = ""
    dataset_version: str = ""
    score: float | None = None
    scores: dict[str, float] = field(default_factory=dict)
    passed: bool | None = None
    error: str | None = None
    output: Any = None
    judge_model: str = ""
    judge_version: str = ""
    cost_usd: float | None = None
    latency_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    context_tokens: int | None = None
    trace_id: str = ""
    #: The case format's provenance object, echoed back by the runner (source trace, seed, dataset).
    provenance: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    def to_record(self) -> dict[str, Any]:
        """The attempt as one line of the eval-results JSONL (fields without a value left out)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name != "source" and value not in (None, "", {}):
                out[name] = value
        out.setdefault("repeat", self.repeat)
        return out

    def metric(self, name: str) -> float | None:
        """A ceiling metric by name (``total_tokens`` = input + output)."""
        if name == "total_tokens":
            if self.input_tokens is None and self.output_tokens is None:
                return None
            return float((self.input_tokens or 0) + (self.output_tokens or 0))
        value = getattr(self, name)
        return None if value is None else float(value)


_NUMBERS = ("cost_usd", "latency_ms", "score")
_INTEGERS = ("input_tokens", "output_tokens", "context_tokens", "repeat")
_TEXTS = ("dataset_id", "judge_model", "judge_version", "trace_id")


def _attempt(record: Any, where: str) -> Attempt:
    if not isinstance(record, dict):
        raise ResultsError(f"{where}: expected a JSON object, got {type(record).__name__}")
    for required in ("run_id", "case_id"):
        if not isinstance(record.get(required), str) or not record[required]:
            raise ResultsError(f"{where}: field {required!r} is required (a non-empty string)")
    values: dict[str, Any] = {"run_id": record["run_id"], "case_id": record["case_id"], "source": where}
    for name in _NUMBERS:
        value = record.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ResultsError(f"{where}: field {name!r} must be a number, got {value!r}")
        values[name] = None if value is None else float(value)
    for name in _INTEGERS:
        value = record.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ResultsError(f"{where}: field {name!r} must be an integer, got {value!r}")
        values[name] = value
    values["repeat"] = values["repeat"] or 0
    for name in _TEXTS:
        values[name] = str(record.get(name) or "")
    if record.get("dataset_version") is not None:
        values["dataset_version"] = normalize_version(record["dataset_version"])
    passed = record.get("passed")
    if passed is not None and not isinstance(passed, bool):
        raise ResultsError(f"{where}: field 'passed' must be true, false or null, got {passed!r}")
    values["passed"] = passed
    error = record.get("error")
    values["error"] = None if error in (None, "") else str(error)
    scores = record.get("scores") or {}
    if not isinstance(scores, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in scores.values()
    ):
        raise ResultsError(f"{where}: field 'scores' must map scorer names to numbers")
    values["scores"] = {str(k): float(v) for k, v in scores.items()}
    values["output"] = record.get("output")
    provenance = record.get("provenance") or {}
    if not isinstance(provenance, dict):
        raise ResultsError(f"{where}: field 'provenance' must be an object (the case format's provenance)")
    values["provenance"] = provenance
    return Attempt(**values)


def parse_results(lines: Iterable[str], source: str) -> list[Attempt]:
    """Parse results JSONL; blank lines are skipped, anything else malformed names ``source:line``."""
    return [_attempt(record, where) for where, record in json_lines(lines, source, ResultsError)]


def read_results_file(path: Path) -> list[Attempt]:
    """Results JSONL from ``path``; ``-`` reads standard input (``evals | tracelock lock check -r -``)."""
    if str(path) == "-":
        return parse_results(sys.stdin.read().splitlines(), "<stdin>")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultsError(f"{path}: results file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{path}: cannot read results: {exc}") from exc
    return parse_results(text.splitlines(), str(path))


_RUN_SQL = """
SELECT EvalRunId, CaseId, Repeat, DatasetId, DatasetVersion, Score, Scores, Passed, Error, Output,
       JudgeModel, JudgeVersion, CostUsd, LatencyMs, InputTokens, OutputTokens, ContextTokens, TraceId
FROM eval_records FINAL
WHERE EvalRunId = {run_id:String}
ORDER BY DatasetId, CaseId, Repeat
"""


def attempts_from_run(store: Store, run_id: str) -> list[Attempt]:
    """The attempts of one eval run stored in ``eval_records`` (raises StoreError when the store fails)."""
    attempts = []
    for row in store.query(_RUN_SQL, {"run_id": run_id}).dicts():
        attempts.append(
            Attempt(
                run_id=row["EvalRunId"],
                case_id=row["CaseId"],
                repeat=int(row["Repeat"]),
                dataset_id=row["DatasetId"],
                dataset_version=normalize_version(row["DatasetVersion"]) if row["DatasetVersion"] else "",
                score=float(row["Score"]),
                scores={str(k): float(v) for k, v in (row["Scores"] or {}).items()},
                passed=bool(row["Passed"]),
                error=row["Error"] or None,
                output=json_or_text(row["Output"]) if row["Output"] else None,
                judge_model=row["JudgeModel"],
                judge_version=row["JudgeVersion"],
                cost_usd=float(row["CostUsd"]),
                latency_ms=float(row["LatencyMs"]),
                input_tokens=int(row["InputTokens"]),
                output_tokens=int(row["OutputTokens"]),
                context_tokens=int(row["ContextTokens"]),
                trace_id=row["TraceId"],
                source=f"eval_records run {run_id}",
            )
        )
    return attempts
