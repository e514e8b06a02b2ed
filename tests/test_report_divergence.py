"""The divergence report on a small data set built by hand: every number checked against arithmetic."""

from __future__ import annotations

import math
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tracelock.errors import ConfigError, InputError
from tracelock.report import Window, divergence_report
from tracelock.report.dimensions import resolve_dimension
from tracelock.report.render import divergence_findings, failure_columns
from tracelock.report.stats import compare_rates, wilson_interval
from tracelock.store import Store

sys.path.insert(0, str(Path(__file__).parent))
from report_support import T0, eval_rows, insert_feedback, insert_spans, live_trace

PROMPT, TIER = resolve_dimension("prompt"), resolve_dimension("customer.tier")


@pytest.fixture
def story(store: Store) -> Store:
    """refund-v3 week then refund-v4 week; enterprise complaints and parse failures rise under v4.

    consumer: 20 traces per version, 1 complaint each; enterprise: 10 per version, 1 complaint under v3,
    6 under v4 (3 from span flags, 3 from the feedback table; one trace has both), 4 parse failures
    and long context under v4. Evals: 10 consumer cases per version, 8 then 9 passing; none enterprise.
    """
    spans: list[dict[str, Any]] = []
    n = 0
    for week, version in enumerate(("refund-v3", "refund-v4")):
        start = T0 + timedelta(days=7 * week)
        for i in range(20):
            n += 1
            spans += live_trace(n, version, "consumer", start + timedelta(hours=i), complaint=i == 0)
        for i in range(10):
            n += 1
            v4 = version == "refund-v4"
            flags = {"complaint": i < (3 if v4 else 1), "parse": v4 and i < 4, "long": v4}
            spans += live_trace(n, version, "enterprise", start + timedelta(hours=i, minutes=30), **flags)
    insert_spans(store, spans[: len(spans) // 2])  # two batches: a trace's spans may straddle them
    insert_spans(store, spans[len(spans) // 2 :])
    # feedback: 3 more enterprise v4 complaints (traces 54..56), one duplicate of a span complaint
    # (trace 51), and one consumer v4 thumbs-down (trace 32)
    feedback = [
        (54, "complaint"),
        (55, "complaint"),
        (56, "complaint"),
        (51, "complaint"),
        (32, "thumbs_down"),
    ]
    insert_feedback(store, feedback, T0 + timedelta(days=8))
    store.insert("eval_records", eval_rows("refund-v3", "consumer", 8, 10))
    store.insert("eval_records", eval_rows("refund-v4", "consumer", 9, 10))
    return store


def test_numbers_match_hand_arithmetic(story: Store) -> None:
    report = divergence_report(story, {PROMPT: "refund-v3"}, {PROMPT: "refund-v4"}, [TIER])
    by_tier = {s.slice["customer_tier"]: s for s in report.slices}
    assert set(by_tier) == {"consumer", "enterprise"}
    ent, con = by_tier["enterprise"], by_tier["consumer"]

    # offline: 8/10 -> 9/10 consumer; the enterprise slice has no cases and gets no offline verdict
    assert (report.overall.offline_pass.baseline.rate, report.overall.offline_pass.candidate.rate) == (
        0.8,
        0.9,
    )
    assert con.eval_cases("baseline") == con.eval_cases("candidate") == 10
    assert ent.eval_cases("baseline") == ent.eval_cases("candidate") == 0
    assert ent.offline_basis == "too_few_cases" and con.offline_basis == "slice"
    assert report.overall.offline["candidate"]["mean_score"] == pytest.approx((9 + 0.25) / 10)

    # online, enterprise: complaints 1/10 -> 6/10 (3 span flags + 3 feedback-only; trace 51 counted once)
    complaints = ent.online_rates["complaint_rate"]
    assert (complaints.baseline.successes, complaints.baseline.n) == (1, 10)
    assert (complaints.candidate.successes, complaints.candidate.n) == (6, 10)
    pooled = 7 / 20
    z = (0.6 - 0.1) / math.sqrt(pooled * (1 - pooled) * (1 / 10 + 1 / 10))
    assert complaints.p_value == pytest.approx(math.erfc(z / math.sqrt(2)))
    assert complaints.p_value == pytest.approx(0.01908, abs=1e-4)
    assert complaints.baseline.interval == pytest.approx((0.01787, 0.40415), abs=1e-4)  # Wilson 1/10
    parse = ent.online_rates["parse_failure_rate"]
    assert (parse.baseline.successes, parse.candidate.successes) == (0, 4)
    assert ent.mean("baseline", "mean_context_tokens") == 1000
    assert ent.mean("candidate", "mean_context_tokens") == 5000

    # consumer: 1/20 complaints both weeks, thumbs-down 0/20 -> 1/20 from feedback
    assert con.online_rates["complaint_rate"].delta == 0
    assert con.online_rates["thumbs_down_rate"].candidate.successes == 1

    # flags: enterprise is a blind spot (the candidate won offline overall, complaints significantly up
    # here, and no eval case of this slice to judge it by)
    assert ent.flags[0] == "blind_spot" and "offline_better" not in ent.flags
    assert {"no_eval_cases", "complaint_up", "context_tokens_up", "few_traces"} <= set(ent.flags)
    assert "diverges" not in con.flags and "offline_better" in con.flags
    assert report.as_dict()["flagged"] == [{"customer_tier": "enterprise"}]
    assert ent.examples()[:3] == [f"{n:032x}" for n in (51, 52, 53)]  # smallest ids of candidate bad traces

    # overall online: 2/30 -> 7/30 complaints
    overall = report.overall.online_rates["complaint_rate"]
    assert (overall.baseline.successes, overall.candidate.successes, overall.candidate.n) == (2, 7, 30)
    # the timeline covers both weeks; the rollout is the first candidate trace
    assert report.rollout_at == T0 + timedelta(days=7)
    assert sum(row["traces"] for row in report.timeline) == 60


def test_a_slice_with_few_cases_is_never_judged_by_another_slices_figure(story: Store) -> None:
    """Checked failing on a11d664: enterprise read 100.0% -> 50.0% and was flagged offline_better (the
    overall figure stood in), and smb with 0/0 eval cases was flagged offline_better too."""
    story.insert("eval_records", eval_rows("refund-v3", "enterprise", 2, 2))
    story.insert("eval_records", eval_rows("refund-v4", "enterprise", 1, 2))
    story.insert("eval_records", eval_rows("refund-v4", "consumer", 10, 10, intent="status"))  # v4 wins
    smb = []
    for i, version in enumerate(("refund-v3", "refund-v4") * 3):
        smb += live_trace(300 + i, version, "smb", T0 + timedelta(days=7 * (i % 2), hours=i))
    insert_spans(story, smb)
    report = divergence_report(story, {PROMPT: "refund-v3"}, {PROMPT: "refund-v4"}, [TIER])
    by_tier = {s.slice["customer_tier"]: s for s in report.slices}
    ent, small = by_tier["enterprise"], by_tier["smb"]
    assert (ent.offline_pass.baseline.rate, ent.offline_pass.candidate.rate) == (1.0, 0.5)
    assert "offline_better" not in ent.flags and "few_eval_cases" in ent.flags
    assert ent.flags[0] == "blind_spot"  # worse online, the eval set too thin here to have seen it
    assert small.eval_cases("baseline") == small.eval_cases("candidate") == 0
    assert "no_eval_cases" in small.flags and "offline_better" not in small.flags and not small.flagged
    assert "offline_better" in by_tier["consumer"].flags  # 10 cases a side: its own verdict
    assert report.as_dict()["flagged"] == [{"customer_tier": "enterprise"}]
    findings = " ".join(divergence_findings(report))
    assert "BLIND SPOT customer_tier=enterprise" in findings and "2/2 eval cases, too few" in findings
    assert "DIVERGES" not in findings


def _graded_rows(version: str, parse_failures: int, errors: int) -> dict[str, list[Any]]:
    """10 consumer attempts graded by a json_valid scorer; the first ``parse_failures`` failed to parse."""
    rows = eval_rows(version, "consumer", 10, 10, intent="json")
    n = len(rows["CaseId"])
    rows["EvalRunId"] = [f"graded-{version}"] * n
    rows["ParseFailure"] = [1 if i < parse_failures else 0 for i in range(n)]
    rows["Error"] = ["task: JSONDecodeError: Expecting ','" if i < errors else "" for i in range(n)]
    rows["Scores"] = [{"json_valid": 0.0 if i < parse_failures else 1.0, "polite": 0.9} for i in range(n)]
    rows["ScoreLabels"] = [{"json_valid": "fail" if i < parse_failures else "pass"} for i in range(n)]
    return rows


def test_failure_types_offline_beside_online(story: Store) -> None:
    """Checked failing on a11d664 (no failure types in the report): parse failures rose online (0/30 ->
    4/30 traces) and in the eval runs (0/20 -> 4/20 attempts): the report names the match."""
    story.insert("eval_records", _graded_rows("refund-v3", 0, 0))
    story.insert("eval_records", _graded_rows("refund-v4", 4, 2))
    report = divergence_report(story, {PROMPT: "refund-v3"}, {PROMPT: "refund-v4"}, [TIER])
    failures = report.overall.failures
    assert failures is not None
    assert failures.matched == ["parse_failure"] and "parse_failure_up_offline_too" in report.overall.flags
    assert failures.share("parse_failure", "baseline").successes == 0
    assert (failures.share("parse_failure", "candidate").successes, failures.attempts["candidate"]) == (4, 20)
    assert failures.classes["exception:JSONDecodeError"]["candidate"].successes == 2
    assert failures.classes["assertion:json_valid"]["candidate"].successes == 4
    json_valid = failures.scorers["json_valid"]
    assert (json_valid["baseline"].successes, json_valid["candidate"].successes) == (10, 6)
    assert failures.scorers["polite"]["candidate"].rate == 1.0  # 0.9 without a label: >= 0.5 passes
    doc = report.as_dict()["overall"]["failure_types"]
    assert doc["matched"] == ["parse_failure"]
    assert doc["offline_failures"]["parse_failure"]["candidate"]["count"] == 4
    rows = [r for r in failure_columns(report) if r["slice"] == "all traffic"]
    parse = next(r for r in rows if r["failure type"] == "parse_failure")
    assert parse["same way"] == "yes" and parse["offline attempts"] == "0.0% → 20.0%"
    assert parse["online traces"].startswith("0.0% → 13.3%")


def test_window_limits_traces(story: Store) -> None:
    window = Window(T0, T0 + timedelta(days=7, hours=5))  # v3 week plus the first 5 hours of v4
    report = divergence_report(story, {PROMPT: "refund-v3"}, {PROMPT: "refund-v4"}, [], window)
    assert report.overall.online["baseline"]["traces"] == 30
    assert report.overall.online["candidate"]["traces"] == 10  # hours 0-4: 5 consumer + 5 enterprise


def test_small_samples_are_not_called_significant() -> None:
    assert compare_rates(0, 3, 2, 3).p_value is None  # fewer than 5 units per side: no test at all
    assert not compare_rates(0, 3, 2, 3).significant()
    low, high = wilson_interval(0, 3)
    assert low == 0 and high == pytest.approx(0.5615, abs=1e-3)


def test_bad_input_is_named(story: Store) -> None:
    with pytest.raises(ConfigError, match="unknown key or label 'tierz'"):
        resolve_dimension("tierz")
    with pytest.raises(ConfigError, match="empty window"):
        Window(T0, T0)
    with pytest.raises(
        InputError, match=r"candidate gen_ai.prompt.version=refund-v9 matches no production trace"
    ):
        divergence_report(story, {PROMPT: "refund-v3"}, {PROMPT: "refund-v9"}, [TIER])
    with pytest.raises(InputError, match="no trace or eval record of this report carries that label"):
        divergence_report(
            story, {PROMPT: "refund-v3"}, {PROMPT: "refund-v4"}, [resolve_dimension("label.region")]
        )
    with pytest.raises(InputError, match="no production trace of the baseline or the candidate in window"):
        far = Window(T0 + timedelta(days=100), T0 + timedelta(days=101))
        divergence_report(story, {PROMPT: "refund-v3"}, {PROMPT: "refund-v4"}, [TIER], far)
