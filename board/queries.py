"""The board's own reads: everything the report modules do not already compute.

Filters reuse :class:`~tracelock.report.query.ReportQuery` (keys and labels from the dimension table,
every value a bound parameter) and the report's ``live_traces`` template, so "a slice's traces" here
are exactly the traces the divergence and coverage reports counted.
"""

from __future__ import annotations

from typing import Any

from tracelock.report.dimensions import Dimension, resolve_dimension
from tracelock.report.query import ReportQuery, Window, bucket_seconds, load_query
from tracelock.report.rollup import live_source, timeline_source
from tracelock.store import Store

__all__ = [
    "FEEDBACK_FILTERS",
    "eval_cases",
    "eval_compare",
    "eval_runs",
    "gate_history",
    "rollouts",
    "seeds",
    "trace_detail",
    "traces",
    "versions_by_first_seen",
]

SCORE_CHANGE = 0.05  # below this a mean-score difference between two runs of a case is noise
LIST_DIMENSIONS = ("prompt", "model", "customer.tier", "intent")
FEEDBACK_FILTERS = {
    "bad": "(complained OR thumbs_down)",
    "complaint": "complained",
    "thumbs_down": "thumbs_down",
    "any": "1",
}


def rollouts(store: Store, key: Dimension, window: Window, max_stale_s: float = 0.0) -> dict[str, Any]:
    """Per version of ``key``: first/last live trace, traffic and bad-feedback counts per time bucket,
    and the offline pass rate of its eval runs."""
    q = ReportQuery()
    source, bounds = timeline_source(store, q, "1", window, max_stale_s)
    if not bounds["partial_rows"]:
        return {"versions": [], "buckets": [], "bucket_seconds": 0}
    q.params["bucket"] = bucket_seconds(bounds["first"], bounds["last"])
    live = source.live(q, slice_sql=q.slice_expr([key]), arm_sql="''", filter_sql="1", window=window)
    buckets = store.query(
        f"""WITH live AS ({live})
        SELECT slice[1] AS version, toStartOfInterval(Start, toIntervalSecond({{bucket:UInt32}})) AS bucket,
            sum(Traces) AS traces, sum(ComplaintTraces) AS complaints, sum(ThumbsDownTraces) AS thumbs_down,
            min(FirstSeen) AS first_seen, max(LastSeen) AS last_seen
        FROM live GROUP BY version, bucket ORDER BY bucket, version""",
        q.params,
    ).dicts()
    offline = store.query(
        f"""SELECT {q.column(key)} AS version, uniqExact(EvalRunId) AS runs, count() AS attempts,
            avg(Passed) AS pass_rate, max(Timestamp) AS last_run
        FROM eval_records FINAL GROUP BY version""",
        q.params,
    ).dicts()
    by_version: dict[str, dict[str, Any]] = {}
    for row in buckets:
        v = by_version.setdefault(
            row["version"],
            {"version": row["version"], "traces": 0, "complaints": 0, "thumbs_down": 0,
             "first_seen": row["first_seen"], "last_seen": row["last_seen"]},
        )  # fmt: skip
        for name in ("traces", "complaints", "thumbs_down"):
            v[name] += row[name]
        v["first_seen"] = min(v["first_seen"], row["first_seen"])
        v["last_seen"] = max(v["last_seen"], row["last_seen"])
    offline_by = {r["version"]: r for r in offline}
    versions = sorted(by_version.values(), key=lambda v: v["first_seen"])
    for v in versions:
        v["offline"] = offline_by.get(v["version"])
    return {"versions": versions, "buckets": buckets, "bucket_seconds": q.params["bucket"]}


def versions_by_first_seen(store: Store, key: Dimension) -> list[str]:
    """The non-empty values of ``key`` on live traces, oldest first (partial rows are enough: the
    earliest start of a value is the earliest start of any of its rows; no FINAL needed)."""
    q = ReportQuery()
    rows = store.query(
        f"""SELECT {q.column(key)} AS version, min(Start) AS first_seen FROM trace_summaries
        WHERE Origin = 'live' GROUP BY version HAVING version != '' ORDER BY first_seen, version""",
        q.params,
    ).rows
    return [str(r[0]) for r in rows]


def traces(
    store: Store,
    selector: dict[Dimension, str],
    window: Window,
    feedback: str,
    limit: int,
    max_stale_s: float = 0.0,
) -> list[dict[str, Any]]:
    """Newest live traces matching ``selector`` and the feedback filter, with their keys and signals.

    Bad traces (the lists Divergence and the Case board link to) are a few in a hundred: when the
    hourly rollup may be read (:mod:`tracelock.report.rollup`), they come from its lists."""
    q = ReportQuery()
    shown = [resolve_dimension(n) for n in LIST_DIMENSIONS]
    rollup = feedback != "any" and live_source(store, window, max_stale_s).rollup
    live = load_query("rollup_bad_traces" if rollup else "live_traces").substitute(
        slice=q.slice_expr(shown), arm="''", filter=q.match_expr(selector), **q.window(window)
    )
    q.params["limit"] = limit
    rows = store.query(
        f"""WITH live AS ({live})
        SELECT TraceId, Start, slice, complained, thumbs_down, parse_failed, errored, ContextTokens, CostUsd
        FROM live WHERE {FEEDBACK_FILTERS[feedback]} ORDER BY Start DESC, TraceId LIMIT {{limit:UInt32}}""",
        q.params,
    ).dicts()
    for row in rows:
        row["keys"] = dict(zip(LIST_DIMENSIONS, row.pop("slice"), strict=True))
    return rows


_SPANS = """
SELECT SpanId, ParentSpanId, SpanName, SpanKind, ServiceName, Timestamp, Duration, StatusCode, StatusMessage,
       Origin, RequestModel, PromptVersion, RetrieverVersion, Intent, CustomerTier, Language, InputTokens,
       OutputTokens, ContextTokens, CostUsd, ParseFailure, SpanAttributes, ResourceAttributes,
       `Events.Timestamp` AS EventTimes, `Events.Name` AS EventNames, `Events.Attributes` AS EventAttributes
FROM otel_traces
WHERE TraceId = {trace_id:String}
  AND Timestamp >= (SELECT min(Start) FROM otel_traces_trace_id_ts WHERE TraceId = {trace_id:String})
  AND toDateTime(Timestamp) <= (SELECT max(End) FROM otel_traces_trace_id_ts
                                WHERE TraceId = {trace_id:String})
ORDER BY Timestamp, SpanId LIMIT 2000
"""
# The time bounds come from otel_traces_trace_id_ts (ordered by TraceId), so the span read prunes to the
# trace's day partitions and time range instead of scanning otel_traces, which is ordered by service.
_FEEDBACK = """
SELECT FeedbackId, Timestamp, Kind, Value, Comment, Source, SpanId FROM feedback FINAL
WHERE TraceId = {trace_id:String} ORDER BY Timestamp, FeedbackId
"""
_EVALS = """
SELECT EvalRunId, CaseId, Repeat, DatasetId, Score, Passed, Error, TraceId, SourceTraceId, Timestamp
FROM eval_records FINAL
WHERE TraceId = {trace_id:String} OR SourceTraceId = {trace_id:String}
ORDER BY Timestamp, EvalRunId, CaseId, Repeat LIMIT 200
"""
_SEEDS = """
SELECT SeedId, Timestamp, Rule, Level, Mode, SpanId, Matched FROM seeds FINAL
WHERE TraceId = {trace_id:String} ORDER BY Timestamp, SeedId
"""
_LOCKS = """
SELECT Dataset, CaseId, DatasetVersion, LockFile, SeedId, CreatedAt, CreatedBy FROM locks FINAL
WHERE SourceTraceId = {trace_id:String} ORDER BY Dataset, CaseId
"""


def trace_detail(store: Store, trace_id: str) -> dict[str, Any]:
    """The spans of a trace (as a depth-first tree with offsets), its feedback, eval records, seeds, locks."""
    params = {"trace_id": trace_id}
    spans = store.query(_SPANS, params).dicts()
    ids = {s["SpanId"] for s in spans}
    children: dict[str, list[dict[str, Any]]] = {}
    for span in spans:
        parent = span["ParentSpanId"] if span["ParentSpanId"] in ids else ""
        children.setdefault(parent, []).append(span)
    ordered: list[dict[str, Any]] = []

    def walk(parent: str, depth: int) -> None:
        for span in children.get(parent, []):
            span["depth"] = depth
            ordered.append(span)
            if span["SpanId"] != parent:
                walk(span["SpanId"], depth + 1)

    walk("", 0)
    if spans:
        start = min(s["Timestamp"] for s in spans)
        end = max(s["Timestamp"].timestamp() * 1e9 + s["Duration"] for s in spans)
        total = max(end - start.timestamp() * 1e9, 1.0)
        for span in ordered:
            offset = (span["Timestamp"] - start).total_seconds() * 1e9
            span["offset_ns"], span["bar"] = offset, (offset / total, max(span["Duration"] / total, 0.004))
            span["events"] = list(
                zip(span.pop("EventTimes"), span.pop("EventNames"), span.pop("EventAttributes"), strict=True)
            )
    return {
        "spans": ordered,
        "feedback": store.query(_FEEDBACK, params).dicts(),
        "evals": store.query(_EVALS, params).dicts(),
        "seeds": store.query(_SEEDS, params).dicts(),
        "locks": store.query(_LOCKS, params).dicts(),
    }


def eval_runs(store: Store, limit: int = 100) -> list[dict[str, Any]]:
    return store.query(
        """SELECT EvalRunId AS run, any(DatasetId) AS dataset, any(DatasetVersion) AS dataset_version,
            any(PromptVersion) AS prompt, any(RequestModel) AS model, any(RetrieverVersion) AS retriever,
            any(Source) AS source, uniqExact(CaseId) AS cases, count() AS attempts, avg(Passed) AS pass_rate,
            avg(Score) AS mean_score, countIf(Error != '') AS errors, min(Timestamp) AS first_at,
            max(Timestamp) AS last_at
        FROM eval_records FINAL GROUP BY EvalRunId ORDER BY last_at DESC, run LIMIT {limit:UInt32}""",
        {"limit": limit},
    ).dicts()


def eval_cases(
    store: Store, run: str | None, selector: dict[Dimension, str], limit: int
) -> list[dict[str, Any]]:
    """Cases (repeats folded) of one run and/or of the records matching ``selector``."""
    q = ReportQuery()
    where = q.match_expr(selector)
    if run:
        where += f" AND EvalRunId = {q.bind('run', run)}"
    q.params["limit"] = limit
    return store.query(
        f"""SELECT EvalRunId AS run, DatasetId AS dataset, CaseId AS case_id, count() AS attempts,
            sum(Passed) AS passes, avg(Score) AS score, any(PromptVersion) AS prompt,
            any(CustomerTier) AS tier, any(Intent) AS intent, anyIf(Error, Error != '') AS error,
            any(TraceId) AS trace_id, any(SourceTraceId) AS source_trace_id,
            any(leftUTF8(Output, 160)) AS output
        FROM eval_records FINAL WHERE {where}
        GROUP BY run, dataset, case_id ORDER BY passes / attempts, run, dataset, case_id
        LIMIT {{limit:UInt32}}""",
        q.params,
    ).dicts()


def eval_compare(store: Store, run_a: str, run_b: str) -> list[dict[str, Any]]:
    """Case by case, run A vs run B: pass fraction and mean score of each, and the verdict: the pass
    fraction decides; with the same fraction, a mean score that moved by ``SCORE_CHANGE`` or more."""
    rows = store.query(
        """SELECT DatasetId AS dataset, CaseId AS case_id,
            sumIf(Passed, EvalRunId = {a:String}) AS passes_a, countIf(EvalRunId = {a:String}) AS attempts_a,
            sumIf(Passed, EvalRunId = {b:String}) AS passes_b, countIf(EvalRunId = {b:String}) AS attempts_b,
            avgIf(Score, EvalRunId = {a:String}) AS score_a, avgIf(Score, EvalRunId = {b:String}) AS score_b
        FROM eval_records FINAL WHERE EvalRunId IN ({a:String}, {b:String})
        GROUP BY dataset, case_id ORDER BY dataset, case_id""",
        {"a": run_a, "b": run_b},
    ).dicts()
    for row in rows:
        a = row["passes_a"] / row["attempts_a"] if row["attempts_a"] else None
        b = row["passes_b"] / row["attempts_b"] if row["attempts_b"] else None
        row["rate_a"], row["rate_b"] = a, b
        if a is None or b is None:
            row["verdict"] = "only in A" if b is None else "only in B"
        elif b > a or (b == a and row["score_b"] >= row["score_a"] + SCORE_CHANGE):
            row["verdict"] = "improved"
        elif b < a or (b == a and row["score_b"] <= row["score_a"] - SCORE_CHANGE):
            row["verdict"] = "regressed"
        else:
            row["verdict"] = "unchanged"
    order = {"regressed": 0, "improved": 1, "only in A": 2, "only in B": 3, "unchanged": 4}
    rows.sort(key=lambda r: (order[r["verdict"]], r["dataset"], r["case_id"]))
    return rows


def gate_history(store: Store, dataset: str | None) -> list[dict[str, Any]]:
    """One row per ``lock check`` run (and dataset): its release, pass rate, and per-case statuses."""
    q = ReportQuery()
    where = "1" if not dataset else f"Dataset = {q.bind('dataset', dataset)}"
    return store.query(
        f"""SELECT CheckRunId AS run, Dataset AS dataset, any(ReleaseTag) AS release,
            any(DatasetVersion) AS version, min(CheckedAt) AS checked_at, count() AS cases,
            countIf(Status = 'passed') AS passed, countIf(Status = 'flaky') AS flaky,
            countIf(Status IN ('regressed', 'missing')) AS failed,
            groupArray((CaseId, toString(Status))) AS statuses
        FROM lock_results WHERE {where}
        GROUP BY run, dataset ORDER BY checked_at DESC LIMIT 200""",
        q.params,
    ).dicts()


def seeds(
    store: Store, rule: str | None, selector: dict[Dimension, str], window: Window, limit: int
) -> dict[str, Any]:
    """Seeds by rule (counts) and the newest seeds with their provenance, within the window."""
    q = ReportQuery()
    where = [q.match_expr(selector, table="locks"), f"Timestamp >= {q.bind('since', window.since)}"]
    where.append(f"Timestamp < {q.bind('until', window.until)}")
    if rule:
        where.append(f"Rule = {q.bind('rule', rule)}")
    clause = " AND ".join(where)
    q.params["limit"] = limit
    per_rule = store.query(
        f"SELECT Rule AS rule, count() AS seeds, max(Timestamp) AS last_at FROM seeds FINAL WHERE {clause} "
        "GROUP BY rule ORDER BY seeds DESC, rule",
        q.params,
    ).dicts()
    rows = store.query(
        f"""SELECT SeedId, Timestamp, Rule, Level, Mode, TraceId, SpanId, Matched, PromptVersion,
            RequestModel, CustomerTier, Intent, leftUTF8(Input, 200) AS Input
        FROM seeds FINAL WHERE {clause} ORDER BY Timestamp DESC, SeedId LIMIT {{limit:UInt32}}""",
        q.params,
    ).dicts()
    return {"per_rule": per_rule, "rows": rows}
