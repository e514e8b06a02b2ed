"""Reading what rules need from ClickHouse: spans, trace summaries with their feedback, slices.

Values come back in ClickHouse's string form (the attribute maps) or as typed columns; the names they
are given here are the names conditions use, so :class:`tracelock.sampler.evaluate.Evaluator` sees the
same values the collector path builds from OTLP.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tracelock.sampler.seeds import utc_param
from tracelock.sampler.variables import LABEL_PREFIX, SUMMARY_COLUMNS
from tracelock.store import Store

__all__ = ["CONTENT_SQL", "span_rows", "trace_content", "trace_rows", "trace_values"]

# Per trace: feedback rows folded to what feedback.* needs, plus scores stamped on spans.
_FEEDBACK = """
    SELECT TraceId,
        countIf(Kind = 'complaint') AS fb_complaints,
        countIf(Kind = 'thumbs_down') AS fb_down,
        countIf(Kind = 'thumbs_up') AS fb_up,
        countIf(Kind = 'rating') AS fb_ratings,
        minIf(Value, Kind = 'rating') AS fb_min_rating,
        count() AS fb_count,
        max(Timestamp) AS fb_last,
        groupArray(FeedbackId) AS fb_ids
    FROM feedback FINAL
    GROUP BY TraceId
"""
_SPAN_SCORES = """
    SELECT TraceId, count() AS sc_count,
        min(toFloat64OrZero(SpanAttributes['tracelock.feedback.score'])) AS sc_min
    FROM otel_traces
    WHERE mapContains(SpanAttributes, 'tracelock.feedback.score')
        AND TraceId IN (SELECT TraceId FROM candidates)
    GROUP BY TraceId
"""
# A trace with any eval span is eval traffic (trace_summaries keeps max(Origin), where 'live' > 'eval').
_EVAL_TRACES = """
    SELECT TraceId, 1 AS any_eval FROM otel_traces
    WHERE Origin = 'eval' AND TraceId IN (SELECT TraceId FROM candidates)
    GROUP BY TraceId
"""
_TRACE_COLUMNS = (
    "t.TraceId AS TraceId, toUnixTimestamp64Nano(t.Start) AS StartNs, "
    "toUnixTimestamp64Nano(t.End) AS EndNs, t.ServiceName AS ServiceName, "
    "t.RootSpanName AS RootSpanName, t.Labels AS Labels, t.SpanCount AS SpanCount, "
    "t.ErrorCount AS ErrorCount, "
    "t.InputTokens AS InputTokens, t.OutputTokens AS OutputTokens, t.ContextTokens AS ContextTokens, "
    "t.CostUsd AS CostUsd, t.ParseFailures AS ParseFailures, t.EmptyRetrievals AS EmptyRetrievals, "
    "t.Complaints AS Complaints, "
    + ", ".join(f"t.{c} AS {c}" for c in SUMMARY_COLUMNS.values())
    + ", fb.fb_complaints, fb.fb_down, fb.fb_up, fb.fb_ratings, fb.fb_min_rating, fb.fb_count, fb.fb_ids, "
    "sc.sc_count, sc.sc_min, if(ev.any_eval = 1, 'eval', if(t.Origin = '', 'live', t.Origin)) AS TraceOrigin"
)


def trace_rows(store: Store, candidates_sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Trace summaries joined with their feedback, for the traces ``candidates_sql`` selects (TraceId)."""
    sql = (
        f"WITH candidates AS ({candidates_sql}) "
        f"SELECT {_TRACE_COLUMNS} FROM trace_summaries_final AS t "
        f"LEFT JOIN ({_FEEDBACK}) AS fb ON fb.TraceId = t.TraceId "
        f"LEFT JOIN ({_SPAN_SCORES}) AS sc ON sc.TraceId = t.TraceId "
        f"LEFT JOIN ({_EVAL_TRACES}) AS ev ON ev.TraceId = t.TraceId "
        "WHERE t.TraceId IN (SELECT TraceId FROM candidates) "
        "ORDER BY StartNs, TraceId"
    )
    return store.query(sql, params).dicts()


def window_candidates() -> str:
    """Traces that started in the window, or got feedback in it (feedback arrives after the trace)."""
    return (
        "SELECT TraceId FROM trace_summaries "
        "WHERE Start >= {since:DateTime64(9)} AND Start < {until:DateTime64(9)} "
        "UNION DISTINCT SELECT TraceId FROM feedback "
        "WHERE Timestamp >= {since:DateTime64(9)} AND Timestamp < {until:DateTime64(9)}"
    )


def trace_values(row: dict[str, Any]) -> dict[str, Any]:
    """The names trace rules read, from one row of :func:`trace_rows`."""
    complaints = int(row["Complaints"] or 0) + int(row["fb_complaints"] or 0)
    ratings = int(row["fb_ratings"] or 0)
    span_scores = int(row["sc_count"] or 0)
    scores = ([float(row["fb_min_rating"])] if ratings else []) + (
        [float(row["sc_min"])] if span_scores else []
    )
    start, end = int(row["StartNs"]), int(row["EndNs"])
    values: dict[str, Any] = {
        "trace.span_count": row["SpanCount"],
        "trace.error_count": row["ErrorCount"],
        "trace.input_tokens": row["InputTokens"],
        "trace.output_tokens": row["OutputTokens"],
        "trace.context_tokens": row["ContextTokens"],
        "trace.cost_usd": row["CostUsd"],
        "trace.parse_failures": row["ParseFailures"],
        "trace.empty_retrievals": row["EmptyRetrievals"],
        "trace.duration_ms": max(end - start, 0) / 1e6,
        "trace.root_span_name": row["RootSpanName"],
        "trace.service_name": row["ServiceName"],
        "feedback.complaint": complaints > 0,
        "feedback.complaints": complaints,
        "feedback.thumbs_down": int(row["fb_down"] or 0) > 0,
        "feedback.thumbs_up": int(row["fb_up"] or 0) > 0,
        "feedback.rated": bool(scores),
        "feedback.score": min(scores) if scores else 0.0,
        "feedback.count": int(row["fb_count"] or 0),
    }
    for name, column in SUMMARY_COLUMNS.items():
        if row[column]:
            values[name] = row[column]
    for label, value in (row["Labels"] or {}).items():
        values[LABEL_PREFIX + label] = value
    return values


def span_rows(
    store: Store,
    keys: Sequence[str],
    gates: Sequence[frozenset[str]],
    since: datetime,
    until: datetime,
) -> list[dict[str, Any]]:
    """Spans in the window that carry at least one attribute of every gate (all spans when no gate)."""
    where = ["Timestamp >= {since:DateTime64(9)}", "Timestamp < {until:DateTime64(9)}"]
    params: dict[str, Any] = {"since": utc_param(since), "until": utc_param(until), "keys": sorted(set(keys))}
    for i, gate in enumerate(gates):
        params[f"g{i}"] = sorted(gate)
        where.append(
            f"(hasAny(mapKeys(SpanAttributes), {{g{i}:Array(String)}}) "
            f"OR hasAny(mapKeys(ResourceAttributes), {{g{i}:Array(String)}}))"
        )
    wanted = "(k, v) -> has({keys:Array(String)}, k) OR startsWith(k, 'tracelock.label.')"
    sql = (
        "SELECT TraceId, SpanId, ParentSpanId, SpanName, SpanKind, ServiceName, StatusCode, Duration, "
        f"Origin, mapFilter({wanted}, SpanAttributes) AS sa, mapFilter({wanted}, ResourceAttributes) AS ra "
        f"FROM otel_traces WHERE {' AND '.join(where)} ORDER BY Timestamp, TraceId, SpanId"
    )
    return store.query(sql, params).dicts()


CONTENT_SQL = """
SELECT TraceId,
    argMinIf(SpanAttributes['gen_ai.input.messages'], Timestamp,
        mapContains(SpanAttributes, 'gen_ai.input.messages')) AS input,
    argMaxIf(SpanAttributes['gen_ai.output.messages'], Timestamp,
        mapContains(SpanAttributes, 'gen_ai.output.messages')) AS output
FROM otel_traces
WHERE TraceId IN {traces:Array(String)}
GROUP BY TraceId
"""


def trace_content(store: Store, trace_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """First input and last output messages of each trace (what an eval case replays and expects)."""
    if not trace_ids:
        return {}
    result = store.query(CONTENT_SQL, {"traces": sorted(set(trace_ids))})
    return {str(t): (str(i or ""), str(o or "")) for t, i, o in result.rows}
