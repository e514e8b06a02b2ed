"""The Grafana dashboard's SQL runs on the schema as shipped (Grafana's macros expanded as the
ClickHouse data source plugin expands them), and computes what its titles promise."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tracelock.store import Store

DASHBOARD = Path(__file__).resolve().parent.parent / "deploy" / "dashboards" / "tracelock-overview.json"
PANELS = json.loads(DASHBOARD.read_text())["panels"]
NOW = datetime.now(timezone.utc).replace(microsecond=0)


def expand_macros(sql: str) -> str:
    sql = re.sub(
        r"\$__timeFilter\(([\w.]+)\)",
        r"(\1 >= now() - INTERVAL 7 DAY AND \1 <= now() + INTERVAL 1 DAY)",
        sql,
    )
    return re.sub(r"\$__timeInterval\(([\w.]+)\)", r"toStartOfInterval(\1, INTERVAL 1 hour)", sql)


@pytest.fixture
def loaded(store: Store) -> Store:
    spans = {
        "Timestamp": [NOW - timedelta(hours=1), NOW - timedelta(hours=1), NOW - timedelta(hours=1)],
        "TraceId": ["a1", "a2", "e1"],
        "SpanId": ["01", "02", "03"],
        "SpanAttributes": [
            {"gen_ai.prompt.version": "refund-v4", "tracelock.customer.tier": "enterprise"},
            {"gen_ai.prompt.version": "refund-v4", "tracelock.customer.tier": "consumer"},
            {"gen_ai.prompt.version": "refund-v4", "tracelock.origin": "eval"},
        ],
    }
    store.insert("otel_traces", spans)
    store.insert(
        "feedback", {"FeedbackId": ["f1"], "Timestamp": [NOW], "TraceId": ["a1"], "Kind": ["complaint"]}
    )
    store.insert(
        "eval_records",
        {
            "Timestamp": [NOW],
            "EvalRunId": ["r"],
            "CaseId": ["c"],
            "PromptVersion": ["refund-v4"],
            "Passed": [1],
        },
    )
    store.insert("seeds", {"Timestamp": [NOW], "Rule": ["complaint-linked-trace"], "TraceId": ["a1"]})
    store.insert("lock_results", {"CheckedAt": [NOW], "ReleaseTag": ["v4"], "Status": ["passed"]})
    return store


@pytest.mark.parametrize("panel", PANELS, ids=lambda p: p["title"])
def test_every_panel_query_runs_and_returns_rows(loaded: Store, panel: dict) -> None:
    (target,) = panel["targets"]
    result = loaded.query(expand_macros(target["rawSql"]))
    assert result.rows, panel["title"]


def test_complaint_rate_counts_feedback_on_live_traces_only(loaded: Store) -> None:
    (target,) = PANELS[0]["targets"]
    rows = loaded.query(expand_macros(target["rawSql"])).dicts()
    assert [(r["prompt_version"], r["complaint_rate"]) for r in rows] == [("refund-v4", 0.5)]
