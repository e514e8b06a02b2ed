"""One eval attempt as a row of ``eval_records``, built from the shared results shape (JSONL line,
promptfoo result, SDK run) with every field checked and every problem named.

The shape (see the shared brief and ``docs``): ``run_id`` and ``case_id`` required; ``repeat``,
``dataset_id``, ``dataset_version``, ``score``, ``scores``, ``passed``, ``error``, ``output``, ``input``,
``expected``, ``keys`` (canonical version keys), ``labels`` (canonical/short label names or user labels),
``judge_model``, ``judge_version``, ``cost_usd``, ``latency_ms``, ``input_tokens``, ``output_tokens``,
``context_tokens``, ``parse_failure``, ``artifacts_url``, ``trace_id``, ``span_id``, ``source_trace_id``,
``source_span_id``, ``timestamp`` and ``provenance`` (the case format's object: its source trace and span
stand in for the flat fields) optional.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from tracelock.errors import ConfigError
from tracelock.report.dimensions import resolve_dimension
from tracelock.semconv import KEY_BY_NAME, VERSION_KEYS, canonical_name

__all__ = ["COLUMNS", "FIELDS", "RecordError", "columns_for", "record_from_result"]

FIELDS = frozenset(
    (
        "run_id",
        "case_id",
        "repeat",
        "dataset_id",
        "dataset_version",
        "score",
        "scores",
        "passed",
        "error",
        "output",
        "input",
        "expected",
        "keys",
        "labels",
        "judge_model",
        "judge_version",
        "cost_usd",
        "latency_ms",
        "input_tokens",
        "output_tokens",
        "context_tokens",
        "trace_id",
        "span_id",
        "source_trace_id",
        "source_span_id",
        "timestamp",
        "artifacts_url",
        "parse_failure",
        "provenance",
    )
)
#: eval_records columns every row carries, in insert order.
COLUMNS = (
    "Timestamp",
    "EvalRunId",
    "CaseId",
    "Repeat",
    "DatasetId",
    "DatasetVersion",
    "RequestModel",
    "PromptVersion",
    "RetrieverVersion",
    "GuardrailVersion",
    "ExperimentBucket",
    "Intent",
    "Feature",
    "Language",
    "CustomerTier",
    "OutputFormat",
    "Labels",
    "Score",
    "Scores",
    "ScoreLabels",
    "Passed",
    "Error",
    "JudgeModel",
    "JudgeVersion",
    "Input",
    "Output",
    "Expected",
    "ArtifactsUrl",
    "TraceId",
    "SpanId",
    "SourceTraceId",
    "SourceSpanId",
    "InputTokens",
    "OutputTokens",
    "ContextTokens",
    "CostUsd",
    "ParseFailure",
    "LatencyMs",
    "Source",
)
_HEX = {"trace_id": 32, "source_trace_id": 32, "span_id": 16, "source_span_id": 16}
# version keys the registry stores in otel_traces/trace_summaries but eval_records has no column for
_KNOWN_KEYS_WITHOUT_COLUMN = {
    name for name in VERSION_KEYS if KEY_BY_NAME[name].column and KEY_BY_NAME[name].column not in COLUMNS
}


class RecordError(ValueError):
    """A field of one result is wrong; ``field`` names it (dotted for nested: ``keys.model``)."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"field {field}: {problem}")


def _text(value: Any, field: str, *, required: bool = False) -> str:
    if value is None:
        if required:
            raise RecordError(field, "is required")
        return ""
    if not isinstance(value, str):
        raise RecordError(field, f"must be a string, got {type(value).__name__}")
    if required and not value.strip():
        raise RecordError(field, "must not be empty")
    return value


def _number(value: Any, field: str, *, integer: bool = False, default: float = 0) -> Any:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(field, f"must be a number, got {json.dumps(value)[:40]}")
    if isinstance(value, float) and not math.isfinite(value):
        raise RecordError(field, "must be finite")
    if integer:
        if value != int(value) or value < 0:
            raise RecordError(field, f"must be a non-negative integer, got {value}")
        return int(value)
    if value < 0 and field != "score" and not field.startswith("scores."):
        raise RecordError(field, f"must not be negative, got {value}")
    return float(value)


def _flag(value: Any, field: str) -> bool:
    if value is not None and not isinstance(value, bool):
        raise RecordError(field, f"must be true, false or null, got {json.dumps(value)[:40]}")
    return bool(value)


def _json_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _timestamp(value: Any) -> datetime:
    if value is None:
        return datetime.now(timezone.utc)
    text = _text(value, "timestamp")
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise RecordError("timestamp", f"not ISO-8601: {text!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _dimensions(mapping: Any, field: str, *, kind: str) -> tuple[dict[str, str], dict[str, str]]:
    """keys/labels object -> ({column: value}, {user label: value})."""
    if mapping is None:
        return {}, {}
    if not isinstance(mapping, Mapping):
        raise RecordError(field, "must be an object")
    columns: dict[str, str] = {}
    labels: dict[str, str] = {}
    for name, value in mapping.items():
        where = f"{field}.{name}"
        text = _text(
            value if not isinstance(value, int | float) or isinstance(value, bool) else str(value), where
        )
        if name in ("tracelock.dataset.id", "tracelock.dataset.version"):
            columns["DatasetId" if name.endswith(".id") else "DatasetVersion"] = text
            continue
        if (canonical_name(name) or name) in _KNOWN_KEYS_WITHOUT_COLUMN:
            continue
        try:  # under labels, any other plain word is a user label
            dimension = resolve_dimension(name, option=field, bare_labels=kind == "labels")
        except ConfigError:
            raise RecordError(
                where, "unknown key; use a canonical version key such as gen_ai.prompt.version"
            ) from None
        if dimension.label is not None:
            labels[dimension.label] = text
        elif kind == "keys" and dimension.kind != "key":
            raise RecordError(where, f"{dimension.name} is a task label: put it under labels")
        else:
            columns[str(dimension.column)] = text
    return columns, labels


def record_from_result(data: Any, *, source: str, pass_threshold: float = 0.5) -> dict[str, Any]:
    """One eval_records row (column -> value) from one result object; RecordError names the bad field."""
    if not isinstance(data, Mapping):
        raise RecordError("(line)", f"must be a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise RecordError(unknown[0], f"unknown field (known: {', '.join(sorted(FIELDS))})")
    for name, length in _HEX.items():
        value = _text(data.get(name), name)
        if value and not re.fullmatch(f"[0-9a-f]{{{length}}}", value):
            raise RecordError(name, f"must be {length} lowercase hex digits")
    provenance = data.get("provenance") or {}
    if not isinstance(provenance, Mapping):
        raise RecordError("provenance", "must be an object (the case format's provenance)")
    for name in ("source_trace_id", "source_span_id"):
        value, length = _text(provenance.get(name), f"provenance.{name}"), _HEX[name]
        if value and not re.fullmatch(f"[0-9a-f]{{{length}}}", value):
            raise RecordError(f"provenance.{name}", f"must be {length} lowercase hex digits")
    scores_raw = data.get("scores") or {}
    if not isinstance(scores_raw, Mapping):
        raise RecordError("scores", "must be an object of name -> number")
    scores = {str(k): _number(v, f"scores.{k}") for k, v in scores_raw.items()}
    score = data.get("score")
    error = _text(data.get("error"), "error")
    passed = data.get("passed")
    if passed is not None and not isinstance(passed, bool):
        raise RecordError("passed", f"must be true, false or null, got {json.dumps(passed)[:40]}")
    score_value = None if score is None else _number(score, "score")
    if score_value is None and scores:
        score_value = sum(scores.values()) / len(scores)
    if passed is None:
        passed = not error and score_value is not None and score_value >= pass_threshold
    if score_value is None:
        score_value = 1.0 if passed else 0.0
    key_columns, key_labels = _dimensions(data.get("keys"), "keys", kind="keys")
    label_columns, labels = _dimensions(data.get("labels"), "labels", kind="labels")
    row: dict[str, Any] = dict.fromkeys(COLUMNS, "")
    row |= {
        "Timestamp": _timestamp(data.get("timestamp")),
        "EvalRunId": _text(data.get("run_id"), "run_id", required=True),
        "CaseId": _text(data.get("case_id"), "case_id", required=True),
        "Repeat": _number(data.get("repeat"), "repeat", integer=True),
        "DatasetId": _text(data.get("dataset_id"), "dataset_id"),
        "DatasetVersion": _text(data.get("dataset_version"), "dataset_version"),
        "Labels": {**key_labels, **labels},
        "Score": score_value,
        "Scores": scores,
        "ScoreLabels": {},
        "Passed": 1 if passed and not error else 0,
        "Error": error,
        "JudgeModel": _text(data.get("judge_model"), "judge_model"),
        "JudgeVersion": _text(data.get("judge_version"), "judge_version"),
        "Input": _json_text(data.get("input")),
        "Output": _json_text(data.get("output")),
        "Expected": _json_text(data.get("expected")),
        "ArtifactsUrl": _text(data.get("artifacts_url"), "artifacts_url"),
        "TraceId": data.get("trace_id") or "",
        "SpanId": data.get("span_id") or "",
        "SourceTraceId": data.get("source_trace_id") or provenance.get("source_trace_id") or "",
        "SourceSpanId": data.get("source_span_id") or provenance.get("source_span_id") or "",
        "InputTokens": _number(data.get("input_tokens"), "input_tokens", integer=True),
        "OutputTokens": _number(data.get("output_tokens"), "output_tokens", integer=True),
        "ContextTokens": _number(data.get("context_tokens"), "context_tokens", integer=True),
        "CostUsd": _number(data.get("cost_usd"), "cost_usd"),
        "ParseFailure": 1 if _flag(data.get("parse_failure"), "parse_failure") else 0,
        "LatencyMs": _number(data.get("latency_ms"), "latency_ms"),
        "Source": source,
    }
    row |= key_columns | label_columns
    if row["Repeat"] > 65535:
        raise RecordError("repeat", f"must be at most 65535, got {row['Repeat']}")
    return row


def columns_for(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Rows -> the columnar batch ``Store.insert`` takes."""
    return {column: [row[column] for row in rows] for column in COLUMNS}
