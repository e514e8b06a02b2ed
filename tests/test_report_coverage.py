"""The coverage report ranks complaint/thumbs-down slices by the coverage gap (bad traces the eval set
leaves open), flags thin coverage, and counts eval cases and locks."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tracelock.errors import ConfigError, InputError
from tracelock.report import Window, coverage_report
from tracelock.report.dimensions import resolve_dimension
from tracelock.store import Store

sys.path.insert(0, str(Path(__file__).parent))
from report_support import T0, eval_rows, insert_feedback, insert_spans, live_trace

INTENT, TIER, PROMPT = resolve_dimension("intent"), resolve_dimension("tier"), resolve_dimension("prompt")


@pytest.fixture
def shop(store: Store) -> Store:
    """Slices (intent, tier) with 10 traces each under refund-v4 and known bad-feedback counts.

    refund/enterprise: 5 complaints (span flag) + 2 thumbs-down (feedback)   -> 7 bad
    refund/consumer:   1 complaint + 4 thumbs-down                           -> 5 bad
    billing/consumer:  2 complaints (one of them also thumbs-down)           -> 2 bad
    billing/smb:       none                                                  -> not listed
    Eval cases: refund/consumer 12, billing/consumer 3, refund/enterprise 0. Locks: billing/consumer 2.
    An older refund-v3 trace with a complaint in refund/enterprise must not count under --where v4.
    """
    plan = {
        ("refund", "enterprise"): (5, [2]),
        ("refund", "consumer"): (1, [4]),
        ("billing", "consumer"): (2, []),
        ("billing", "smb"): (0, []),
    }
    spans: list[dict[str, Any]] = []
    feedback: list[tuple[int, str]] = []
    n = 0
    for (intent, tier), (complaints, thumbs) in plan.items():
        first = n + 1
        for i in range(10):
            n += 1
            spans += live_trace(
                n, "refund-v4", tier, T0 + timedelta(hours=n), intent, complaint=i < complaints
            )
        for k in range(thumbs[0] if thumbs else 0):
            feedback.append((first + 9 - k, "thumbs_down"))
        if (intent, tier) == ("billing", "consumer"):
            feedback.append((first, "thumbs_down"))  # a trace that also complained: one bad trace
    n += 1
    spans += live_trace(n, "refund-v3", "enterprise", T0 - timedelta(days=3), "refund", complaint=True)
    insert_spans(store, spans)
    insert_feedback(store, feedback, T0 + timedelta(days=1))
    store.insert("eval_records", eval_rows("refund-v4", "consumer", 10, 12, intent="refund"))
    store.insert("eval_records", eval_rows("refund-v4", "consumer", 3, 3, intent="billing"))
    locks = {"CaseId": ["l1", "l2"], "Dataset": ["billing", "billing"], "Intent": ["billing"] * 2,
             "CustomerTier": ["consumer"] * 2, "UpdatedAt": [T0, T0]}  # fmt: skip
    store.insert("locks", locks)
    return store


def test_ranks_by_gap_not_by_volume(shop: Store) -> None:
    """Checked failing on a11d664: refund/consumer (5 bad traces, 12 eval cases) ranked above
    billing/consumer (2 bad, 3 cases), and billing/consumer's 3 cases raised no flag."""
    report = coverage_report(shop, [INTENT, TIER], selector={PROMPT: "refund-v4"})
    rows = [
        (r.slice["intent"], r.slice["customer_tier"], r.bad_traces, r.eval_cases, r.locks, r.gap)
        for r in report.rows
    ]
    assert rows == [
        ("refund", "enterprise", 7, 0, 0, 7.0),  # 7 uncovered bad traces x (1 - 0/10)
        ("billing", "consumer", 2, 3, 2, 1.4),  # 2 x (1 - 3/10)
        ("refund", "consumer", 5, 12, 0, 0.0),  # 12 >= 10 cases: covered, however many bad traces
    ]
    top = report.rows[0]
    assert (top.rank, top.complaint_traces, top.thumbs_down_traces, top.traces) == (1, 5, 2, 10)
    assert top.flags == ["no_eval_cases", "no_locks"]
    assert report.rows[1].flags == ["thin_eval_cases"]
    assert report.rows[2].flags == ["no_locks"]
    assert report.rows[1].complaint_traces == 2 and report.rows[1].thumbs_down_traces == 1
    assert top.examples == sorted(top.examples) and len(top.examples) == 3
    assert report.as_dict()["settings"] == {"min_eval_cases": 10, "min_locks": 1}


def test_thresholds_are_settable_and_locked_bad_traces_are_covered(shop: Store) -> None:
    bad = shop.query(
        "SELECT TraceId FROM trace_summaries FINAL WHERE Complaints > 0 AND CustomerTier = 'enterprise' "
        "AND PromptVersion = 'refund-v4' ORDER BY TraceId LIMIT 2"
    ).rows
    locks = {"CaseId": ["l3", "l4"], "Dataset": ["refund"] * 2, "SourceTraceId": [t for (t,) in bad]}
    shop.insert("locks", {**locks, "UpdatedAt": [T0, T0]})
    report = coverage_report(
        shop, [INTENT, TIER], selector={PROMPT: "refund-v4"}, min_eval_cases=3, min_locks=3
    )
    by_slice = {(r.slice["intent"], r.slice["customer_tier"]): r for r in report.rows}
    enterprise = by_slice[("refund", "enterprise")]
    assert (enterprise.covered_bad_traces, enterprise.uncovered_bad_traces, enterprise.gap) == (2, 5, 5.0)
    billing = by_slice[("billing", "consumer")]
    assert billing.gap == 0.0 and billing.flags == ["few_locks"]  # 3 cases are enough now, 2 locks not
    with pytest.raises(ConfigError, match="--min-eval-cases"):
        coverage_report(shop, [TIER], min_eval_cases=-1)


def test_without_filter_older_versions_count(shop: Store) -> None:
    report = coverage_report(shop, [INTENT, TIER])
    assert report.rows[0].bad_traces == 8  # the refund-v3 complaint joins its slice
    only_tier = coverage_report(shop, [TIER])
    assert [(r.slice["customer_tier"], r.bad_traces, r.eval_cases) for r in only_tier.rows] == [
        ("enterprise", 8, 0),
        ("consumer", 7, 15),
    ]


def test_empty_window_or_unknown_label_is_an_error(shop: Store) -> None:
    with pytest.raises(
        InputError, match=r"--by tracelock\.label\.regoin: no complaint or thumbs-down trace carries"
    ):
        coverage_report(shop, [TIER, resolve_dimension("label.regoin")])
    with pytest.raises(InputError, match="no production traces in window"):
        coverage_report(shop, [TIER], Window(T0 + timedelta(days=300), T0 + timedelta(days=301)))
