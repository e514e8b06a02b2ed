"""Builders for report tests: spans as the contrib ClickHouse exporter inserts them, eval rows, feedback."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from tracelock.store import Store

T0 = datetime(2026, 11, 2, tzinfo=timezone.utc)
SPAN_COLUMNS = ("Timestamp", "TraceId", "SpanId", "ParentSpanId", "SpanName", "ServiceName", "SpanAttributes")


def insert_spans(store: Store, spans: list[dict[str, Any]]) -> None:
    """Rows into otel_traces the way the contrib exporter writes them (its INSERT names these columns)."""
    columns: dict[str, list[Any]] = {c: [] for c in (*SPAN_COLUMNS, "Duration", "StatusCode")}
    for span in spans:
        for column in SPAN_COLUMNS:
            columns[column].append(span[column])
        columns["Duration"].append(span.get("Duration", 1_000_000))
        columns["StatusCode"].append(span.get("StatusCode", "Ok"))
    store.insert("otel_traces", columns)


def live_trace(
    n: int, version: str, tier: str, at: datetime, intent: str = "refund", **flags: bool
) -> list[dict[str, Any]]:
    """A two-span trace: root with the keys, child LLM span with the signals."""
    trace_id = f"{n:032x}"
    root = {"gen_ai.prompt.version": version, "tracelock.customer.tier": tier, "tracelock.intent": intent}
    child = {"tracelock.usage.context_tokens": "5000" if flags.get("long") else "1000"}
    if flags.get("complaint"):
        child["tracelock.feedback.complaint"] = "true"
    if flags.get("parse"):
        child["tracelock.parse_failure"] = "true"
    common = {"Timestamp": at, "TraceId": trace_id, "ServiceName": "refund-assistant"}
    root_id, child_id = f"{2 * n:016x}", f"{2 * n + 1:016x}"
    return [
        {**common, "SpanId": root_id, "ParentSpanId": "", "SpanName": "POST /refund", "SpanAttributes": root},
        {**common, "SpanId": child_id, "ParentSpanId": root_id, "SpanName": "chat", "SpanAttributes": child},
    ]


def eval_rows(
    version: str, tier: str, passes: int, total: int, intent: str = "refund"
) -> dict[str, list[Any]]:
    """``total`` cases of one run; the first ``passes`` pass."""
    names = ("Timestamp", "EvalRunId", "CaseId", "PromptVersion", "CustomerTier", "Intent", "Score", "Passed")
    rows: dict[str, list[Any]] = {k: [] for k in names}
    for i in range(total):
        rows["Timestamp"].append(T0 - timedelta(days=1))
        rows["EvalRunId"].append(f"run-{version}")
        rows["CaseId"].append(f"{intent}-{tier}-{i}")
        rows["PromptVersion"].append(version)
        rows["CustomerTier"].append(tier)
        rows["Intent"].append(intent)
        rows["Score"].append(1.0 if i < passes else 0.25)
        rows["Passed"].append(1 if i < passes else 0)
    return rows


def insert_feedback(store: Store, items: list[tuple[int, str]], at: datetime) -> None:
    """(trace number, kind) pairs into the feedback table."""
    rows: dict[str, list[Any]] = {"FeedbackId": [], "Timestamp": [], "TraceId": [], "Kind": []}
    for trace_number, kind in items:
        rows["FeedbackId"].append(f"f{trace_number}-{kind}")
        rows["Timestamp"].append(at)
        rows["TraceId"].append(f"{trace_number:032x}")
        rows["Kind"].append(kind)
    store.insert("feedback", rows)
