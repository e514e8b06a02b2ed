"""The hourly rollup gives the same reports as every trace summary, and is read only when it does.

The data is random (seeded) but built to reach every corner the rollup folds: a trace's spans in two
inserts, traces on an hour boundary, labels, span complaints beside feedback (one trace with both, one
feedback row re-sent with another kind), empty retrievals, errors, costs (NaN and 1e300 among them),
eval records and locks naming bad traces as their source. Each report is computed from the summaries,
then from the rollup, and the two must be equal, dict for dict.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tracelock.board import queries
from tracelock.report import Window, coverage_report, divergence_report
from tracelock.report.dimensions import DIMENSIONS, resolve_dimension
from tracelock.report.rollup import REFRESH_GAP_S, ROLLUP, SUMMARIES, RollupState, live_source
from tracelock.store import Store
from tracelock.store.schema import cluster_statements

sys.path.insert(0, str(Path(__file__).parent))
from report_support import T0, eval_rows, insert_feedback, insert_spans

PROMPT, TIER, INTENT = (resolve_dimension(n) for n in ("prompt", "customer.tier", "intent"))
REGION = resolve_dimension("label.region")
HOURS = 96  # four days: the divergence timeline's buckets are whole hours (3 h)
TRACES = 240
HOSTILE_COSTS = {13: "nan", 17: "1e300", 19: "-inf"}  # count as 0, never a NaN mean or an overflow


def _trace_spans(rng: random.Random, n: int, at: datetime) -> list[dict[str, Any]]:
    version = "refund-v3" if at < T0 + timedelta(hours=HOURS / 2) else "refund-v4"
    root: dict[str, str] = {
        "gen_ai.prompt.version": version,
        "gen_ai.request.model": rng.choice(["gpt-4o-mini", "gpt-4o"]),
        "tracelock.customer.tier": rng.choice(["consumer", "smb", "enterprise"]),
        "tracelock.intent": rng.choice(["refund_status", "refund_request"]),
    }
    if rng.random() < 0.6:
        root["tracelock.label.region"] = rng.choice(["eu", "us"])
    llm = {
        "tracelock.usage.context_tokens": str(rng.randrange(500, 6000)),
        "tracelock.cost.usd": f"{rng.random() / 1000:.6f}",
    }
    if n in HOSTILE_COSTS:
        llm["tracelock.cost.usd"] = HOSTILE_COSTS[n]
    if rng.random() < 0.15:
        llm["tracelock.feedback.complaint"] = "true"
    if rng.random() < 0.2:
        llm["tracelock.parse_failure"] = "true"
    retrieval = {"tracelock.retrieval.empty": "true" if rng.random() < 0.1 else "false"}
    trace_id, common = f"{n:032x}", {"TraceId": f"{n:032x}", "ServiceName": "refund-assistant"}
    ids = [f"{3 * n + k:016x}" for k in range(3)]
    spans = [
        {**common, "Timestamp": at, "SpanId": ids[0], "ParentSpanId": "", "SpanName": "POST /refund",
         "SpanAttributes": root},
        {**common, "Timestamp": at + timedelta(seconds=1), "SpanId": ids[1], "ParentSpanId": ids[0],
         "SpanName": "retrieval", "SpanAttributes": retrieval},
        {**common, "Timestamp": at + timedelta(seconds=2), "SpanId": ids[2], "ParentSpanId": ids[0],
         "SpanName": "chat", "SpanAttributes": llm,
         "StatusCode": "Error" if rng.random() < 0.1 else "Ok"},
    ]  # fmt: skip
    assert spans[0]["TraceId"] == trace_id
    return spans


def build(store: Store, seed: int = 7) -> list[int]:
    """The random data; returns the trace numbers that carry any feedback."""
    rng = random.Random(seed)
    first, second = [], []
    for n in range(1, TRACES + 1):
        at = T0 + timedelta(seconds=rng.randrange(HOURS * 3600))
        if n % 40 == 0:  # on an hour boundary: the trace's spans fall in two hours
            at = at.replace(minute=59, second=59)
        spans = _trace_spans(rng, n, at)
        split = rng.randrange(len(spans) + 1)  # a trace's spans may arrive in two inserts
        first += spans[:split]
        second += spans[split:]
    insert_spans(store, first)
    insert_spans(store, second)
    with_feedback = rng.sample(range(1, TRACES + 1), 40)
    kinds = [(n, rng.choice(["complaint", "thumbs_down"])) for n in with_feedback]
    insert_feedback(store, kinds, T0 + timedelta(days=5))
    # the same feedback id again with another kind (ReplacingMergeTree: the later row wins)
    (n, kind), other = kinds[0], {"complaint": "thumbs_down", "thumbs_down": "complaint"}
    store.insert(
        "feedback",
        {"FeedbackId": [f"f{n}-{kind}"], "Timestamp": [T0 + timedelta(days=6)], "TraceId": [f"{n:032x}"],
         "Kind": [other[kind]]},
    )  # fmt: skip
    store.insert("eval_records", eval_rows("refund-v3", "consumer", 8, 12))
    store.insert("eval_records", eval_rows("refund-v4", "consumer", 11, 12))
    store.insert("eval_records", eval_rows("refund-v4", "enterprise", 3, 4, intent="refund_request"))
    sources = [f"{n:032x}" for n in with_feedback[:6]]
    store.insert(
        "eval_records",
        {"Timestamp": [T0] * 3, "EvalRunId": ["seeded"] * 3, "CaseId": ["s1", "s2", "s3"],
         "SourceTraceId": sources[:3], "PromptVersion": ["refund-v4"] * 3, "Passed": [1, 0, 1]},
    )  # fmt: skip
    store.insert(
        "locks",
        {"Dataset": ["refunds"] * 3, "DatasetVersion": ["1"] * 3, "CaseId": ["l1", "l2", "l3"],
         "SourceTraceId": sources[3:], "CustomerTier": ["enterprise"] * 3},
    )  # fmt: skip
    return with_feedback


def refresh(store: Store, timeout_s: float = 60.0) -> None:
    """Rebuild the rollup and wait until it is current."""
    store.refresh_view("trace_rollup")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = RollupState.read(store)
        if state is not None and state.current:
            return
        time.sleep(0.1)
    raise AssertionError(f"the rollup did not become current in {timeout_s} s: {RollupState.read(store)}")


def reports(store: Store, max_stale_s: float = 0.0) -> dict[str, Any]:
    """Every report the rollup serves, in several shapes (by keys, by a label, filtered, windowed)."""
    base, cand = {PROMPT: "refund-v3"}, {PROMPT: "refund-v4"}
    hours = Window(T0 + timedelta(hours=6), T0 + timedelta(hours=90))
    out: dict[str, Any] = {}
    for name, by, window in (
        ("tier", [TIER], None),
        ("intent+tier", [INTENT, TIER], None),
        ("region", [REGION], None),
        ("tier, whole hours", [TIER], hours),
    ):
        out[f"divergence {name}"] = divergence_report(
            store, base, cand, by, window, min_traces=5, max_stale_s=max_stale_s
        ).as_dict()
        out[f"coverage {name}"] = coverage_report(
            store, by, window, limit=500, max_stale_s=max_stale_s
        ).as_dict()
    out["coverage enterprise by region"] = coverage_report(
        store, [REGION], selector={TIER: "enterprise"}, max_stale_s=max_stale_s
    ).as_dict()
    out["rollouts"] = queries.rollouts(store, PROMPT, Window(), max_stale_s)
    for feedback in ("bad", "complaint", "thumbs_down"):
        for selector in ({}, {PROMPT: "refund-v4", TIER: "enterprise"}):
            key = f"traces {feedback} {sorted(d.name for d in selector)}"
            rows = queries.traces(store, selector, Window(), feedback, 25, max_stale_s)
            out[key] = [{k: "NaN" if v != v else v for k, v in row.items()} for row in rows]  # nan != nan
    return out


@pytest.fixture
def data(any_store: Store) -> Iterator[Store]:
    build(any_store)
    yield any_store


def _statements(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    query = store.query

    def recording(sql: str, params: Any = None) -> Any:
        seen.append(sql)
        return query(sql, params)

    monkeypatch.setattr(store, "query", recording)
    return seen


def _clear_of_the_hourly_refresh(seconds: float) -> None:
    """Wait until the next ``seconds`` hold no full hour: the view's own REFRESH EVERY 1 HOUR would
    rebuild it meanwhile (seen once at 19:00:00, making a rollup the test had just left behind current)."""
    now = time.time()
    to_hour = 3600 - now % 3600
    if to_hour < seconds:
        time.sleep(to_hour + 1)


def test_reports_from_the_rollup_equal_reports_from_every_summary(
    data: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clear_of_the_hourly_refresh(30)
    assert live_source(data, Window()) is SUMMARIES  # never built
    expected = reports(data)
    refresh(data)
    assert live_source(data, Window()) is ROLLUP
    statements = _statements(data, monkeypatch)
    got = reports(data)
    for name in expected:
        assert got[name] == expected[name], name
    assert expected["coverage tier"]["rows"], "the data has bad traces"
    assert any(row["covered_bad_traces"] for row in expected["coverage tier"]["rows"])
    # the online side read the rollup: no statement read every trace summary
    assert not [s for s in statements if "FROM trace_summaries FINAL" in s]


def test_a_rollup_behind_the_data_is_read_only_by_callers_that_accept_older_data(data: Store) -> None:
    _clear_of_the_hourly_refresh(30)
    refresh(data)
    before = coverage_report(data, [TIER]).as_dict()
    quiet = next(r["slice"] for r in before["rows"])  # a slice with bad traces
    trace = queries.traces(data, {TIER: quiet["customer_tier"]}, Window(), "any", 500)[-1]["TraceId"]
    data.insert("feedback", {"FeedbackId": ["late"], "TraceId": [trace], "Kind": ["complaint"]})
    state = RollupState.read(data)
    assert state is not None and not state.current
    assert live_source(data, Window()) is SUMMARIES  # the CLI: the data as it is now
    now = coverage_report(data, [TIER]).as_dict()
    assert now != before
    assert live_source(data, Window(), max_stale_s=600) is ROLLUP  # the board: up to --max-stale old
    assert coverage_report(data, [TIER], max_stale_s=600).as_dict() == before
    refresh(data)
    assert coverage_report(data, [TIER]).as_dict() == now


def test_windows_and_buckets_that_are_not_whole_hours_read_every_summary(
    data: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    refresh(data)
    assert live_source(data, Window(T0 + timedelta(minutes=30))) is SUMMARIES
    assert live_source(data, Window(until=T0 + timedelta(hours=5, seconds=1))) is SUMMARIES
    statements = _statements(data, monkeypatch)
    short = Window(T0 + timedelta(hours=38), T0 + timedelta(hours=58))  # 20 hours: 30-minute buckets
    divergence_report(data, {PROMPT: "refund-v3"}, {PROMPT: "refund-v4"}, [TIER], short)
    assert any("FROM trace_summaries FINAL" in s for s in statements)
    statements.clear()
    coverage_report(data, [TIER], short)  # no buckets: the rollup serves it
    assert not any("FROM trace_summaries FINAL" in s for s in statements)


def test_the_board_asks_for_a_rebuild_when_the_rollup_is_half_its_max_stale_behind(data: Store) -> None:
    _clear_of_the_hourly_refresh(REFRESH_GAP_S + 30)
    refresh(data)
    data.insert("feedback", {"FeedbackId": ["new"], "TraceId": [f"{1:032x}"], "Kind": ["complaint"]})
    time.sleep(REFRESH_GAP_S)
    live_source(data, Window(), max_stale_s=3600)  # behind, but by far less than half an hour: no
    state = RollupState.read(data)
    assert state is not None and not state.current and not state.running
    assert live_source(data, Window(), max_stale_s=0.01) is SUMMARIES  # too old for this caller
    deadline = time.monotonic() + 60
    while not (state := RollupState.read(data)) or not state.current:  # the rebuild it asked for
        assert time.monotonic() < deadline, state
        time.sleep(0.1)


def test_a_store_without_the_rollup_reads_every_summary(data: Store) -> None:
    expected = coverage_report(data, [TIER]).as_dict()
    data.command("DROP VIEW trace_rollup")
    assert RollupState.read(data) is None
    assert live_source(data, Window(), max_stale_s=60) is SUMMARIES
    assert coverage_report(data, [TIER], max_stale_s=60).as_dict() == expected


def test_the_rollup_has_a_column_for_every_report_dimension(store: Store) -> None:
    columns = {
        r[0]
        for r in store.query(
            "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = 'trace_rollup'"
        ).rows
    }
    dimensions = {d.column for d in DIMENSIONS.values()}
    assert dimensions <= columns, f"add to 0080_trace_rollup.sql (a new migration): {dimensions - columns}"
    assert "Labels" in columns


def test_a_cluster_gets_no_rollup_and_reads_the_distributed_summaries() -> None:
    statements = cluster_statements("analytics")
    assert not [s for s in statements if "trace_rollup" in s]


def test_rollup_state_decisions() -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)
    built = now - timedelta(seconds=40)

    def state(**fields: Any) -> RollupState:
        defaults: dict[str, Any] = {"current": False, "refreshed_at": built, "running": False}
        return RollupState(**{**defaults, "last_attempt": built, **fields}, now=now)

    behind = state()
    assert behind.usable(60) and not behind.usable(30)
    assert behind.wants_refresh(60)  # 40 s behind >= half of 60
    assert not behind.wants_refresh(120)
    assert not behind.wants_refresh(0)  # the CLI never asks
    assert not state(running=True).wants_refresh(60)
    assert not state(last_attempt=now - timedelta(seconds=1)).wants_refresh(60)
    # a rebuild that failed 20 s ago is not retried before half of max-stale (30 s) has passed
    assert not state(last_attempt=now - timedelta(seconds=20)).wants_refresh(60)
    empty = state(refreshed_at=None, last_attempt=None)
    assert not empty.usable(3600) and empty.wants_refresh(60)
    current = state(current=True, refreshed_at=now - timedelta(days=3))
    assert current.usable(0) and not current.wants_refresh(60)
