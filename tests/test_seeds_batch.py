"""Rules over stored data (``tracelock seeds run``), on real chDB, with spans loaded the way the collector
writes them: every built-in rule fires on a trace that should match and not on one that should not, a
late complaint is seeded exactly once, online and batch agree, limits and scope hold in batch too."""

from __future__ import annotations

import textwrap
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tracelock.collector.load import load_request
from tracelock.errors import InputError
from tracelock.sampler.batch import run_rules
from tracelock.sampler.export import dataset_rows, get_seed, seed_rows
from tracelock.sampler.identity import keep_sample, seed_id
from tracelock.sampler.online import SeedSampler
from tracelock.sampler.otlp_build import SpanSpec, build_request
from tracelock.sampler.rules import load_rules
from tracelock.store import Store, apply_migrations
from tracelock.store.chdb_store import ChdbStore

HOUR = 3600 * 10**9


def _trace(n: int) -> str:
    return f"{n:032x}"


def _span(n: int, k: int = 0) -> str:
    return f"{n:012x}{k:04x}"


def _ago(hours: float) -> int:
    return time.time_ns() - int(hours * HOUR)


def _trace_spans(n: int, *, hours_ago: float = 1.0, root: dict | None = None, child: dict | None = None):
    """A two-span trace: a root with the shared keys, a child LLM call."""
    start = _ago(hours_ago)
    root_attrs = {
        "tracelock.feature": "refund",
        "gen_ai.prompt.version": "refund-v4",
        "tracelock.customer.tier": "enterprise",
        "tracelock.intent": "refund",
        "gen_ai.input.messages": '[{"role": "user", "content": "where is my refund?"}]',
        **(root or {}),
    }
    child_attrs = {
        "gen_ai.usage.input_tokens": 1200,
        "tracelock.cost.usd": 0.01,
        "gen_ai.output.messages": '[{"role": "assistant", "content": "it is on its way"}]',
        **(child or {}),
    }
    return [
        SpanSpec(
            _trace(n), _span(n, 0), name="support", start_ns=start, duration_ns=10**9, attributes=root_attrs
        ),
        SpanSpec(
            _trace(n), _span(n, 1), _span(n, 0), name="chat", start_ns=start + 1000, attributes=child_attrs
        ),
    ]


def _load(store: Store, spans: list[SpanSpec], resource: dict | None = None) -> None:
    load_request(store, build_request(spans, {"gen_ai.request.model": "gpt-4o", **(resource or {})}))


def _feedback(store: Store, trace: str, kind: str, value: float = 1.0, comment: str = "") -> None:
    store.insert(
        "feedback",
        {
            "FeedbackId": [uuid.uuid4().hex],
            "Timestamp": [datetime.now(timezone.utc)],
            "TraceId": [trace],
            "SpanId": [""],
            "Kind": [kind],
            "Value": [value],
            "Comment": [comment],
            "CustomerId": ["acme"],
            "UserId": ["u1"],
            "Source": ["test"],
            "Attributes": [{}],
        },
    )


def _found(report, rule: str) -> set[str]:
    return {s.trace_id for s in report.seeds if s.rule == rule}


def _since() -> datetime:
    return datetime.now(timezone.utc) - timedelta(hours=24)


def test_trace_rules_fire_on_matching_traces_only(store: Store) -> None:
    spans = []
    spans += _trace_spans(1, child={"tracelock.feedback.complaint": True})  # complaint flag on a span
    spans += _trace_spans(2)  # complaint row below
    spans += _trace_spans(3)  # nothing wrong
    spans += _trace_spans(4)  # thumbs_down row
    spans += _trace_spans(5, child={"tracelock.cost.usd": 0.2})  # expensive, rated 0.2
    spans += _trace_spans(6, child={"tracelock.cost.usd": 0.2})  # expensive, rated 0.9
    spans += _trace_spans(
        7, child={"tracelock.cost.usd": 0.2, "tracelock.feedback.score": 0.0}
    )  # score on span
    _load(store, spans)
    _feedback(store, _trace(2), "complaint", comment="wrong refund amount")
    _feedback(store, _trace(4), "thumbs_down")
    _feedback(store, _trace(5), "rating", 0.2)
    _feedback(store, _trace(6), "rating", 0.9)
    report = run_rules(store, load_rules(), _since())
    assert _found(report, "complaint-linked-trace") == {_trace(1), _trace(2)}
    assert _found(report, "thumbs-down") == {_trace(4)}
    assert _found(report, "high-cost-low-satisfaction") == {_trace(5), _trace(7)}
    complaint = next(
        s for s in report.seeds if s.trace_id == _trace(2) and s.rule == "complaint-linked-trace"
    )
    assert complaint.matched == {"feedback.complaint": "true"}
    assert complaint.keys["gen_ai.prompt.version"] == "refund-v4"
    assert complaint.keys["gen_ai.request.model"] == "gpt-4o"
    assert "where is my refund" in complaint.input and "on its way" in complaint.output


def test_empty_retrieval_fires_in_batch_on_the_flagged_span(store: Store) -> None:
    kept = next(n for n in range(10, 200) if keep_sample("empty-retrieval", _trace(n), 0.5))
    dropped = next(n for n in range(10, 200) if not keep_sample("empty-retrieval", _trace(n), 0.5))
    _load(store, _trace_spans(kept, child={"tracelock.retrieval.empty": True}))
    _load(store, _trace_spans(dropped, child={"tracelock.retrieval.empty": True}))
    _load(store, _trace_spans(3, child={"tracelock.retrieval.empty": False}))
    report = run_rules(store, load_rules(), _since())
    seeds = [(s.trace_id, s.span_id) for s in report.seeds if s.rule == "empty-retrieval"]
    assert seeds == [(_trace(kept), _span(kept, 1))]
    (rule_report,) = [r for r in report.rules if r.rule == "empty-retrieval"]
    assert (rule_report.matched, rule_report.sampled_out) == (2, 1)


def test_new_feature_after_rollout_seeds_the_first_n_of_each_feature_version(store: Store) -> None:
    rules = load_rules(
        textwrap.dedent(
            """
            version: 1
            rules:
              - name: new-feature
                level: trace
                condition: tracelock.feature != "" && gen_ai.prompt.version != ""
                first_n: {count: 2, by: [tracelock.feature, gen_ai.prompt.version]}
            """
        )
    )
    spans = []
    for n, hours in ((1, 5), (2, 4), (3, 3)):  # refund-v4: the first two count
        spans += _trace_spans(n, hours_ago=hours)
    spans += _trace_spans(4, hours_ago=2, root={"gen_ai.prompt.version": "refund-v5"})  # new version
    spans += _trace_spans(5, hours_ago=2, root={"tracelock.feature": ""})  # no feature: never
    _load(store, spans)
    report = run_rules(store, rules, _since())
    assert _found(report, "new-feature") == {_trace(1), _trace(2), _trace(4)}
    # a later run over a window holding only the third trace still knows it is not among the first two
    again = run_rules(store, rules, datetime.now(timezone.utc) - timedelta(hours=3.5))
    assert again.new == 0
    assert again.rules[0].matched == 1  # refund-v5 (1 of 2 seeds); full refund-v4 is not even read
    after = load_rules(
        textwrap.dedent(
            f"""
            version: 1
            rules:
              - name: after-rollout
                level: trace
                condition: tracelock.feature != ""
                first_n:
                  count: 1
                  by: [tracelock.feature]
                  after: "{(datetime.now(timezone.utc) - timedelta(hours=3.5)).isoformat()}"
            """
        )
    )
    assert _found(run_rules(store, after, _since()), "after-rollout") == {_trace(3)}


def test_high_complaint_slice_seeds_complaint_linked_traces_of_the_bad_slice(store: Store) -> None:
    spans = []
    for n in range(1, 21):  # refund-v4 x enterprise: 3 of 20 complain (15% > 5%)
        spans += _trace_spans(n, child={"tracelock.feedback.complaint": n <= 3})
    for n in range(21, 41):  # refund-v3 x free: nobody complains
        spans += _trace_spans(
            n, root={"gen_ai.prompt.version": "refund-v3", "tracelock.customer.tier": "free"}
        )
    for n in range(41, 46):  # a small slice with complaints, below min_traces
        spans += _trace_spans(
            n, root={"tracelock.customer.tier": "pro"}, child={"tracelock.feedback.complaint": True}
        )
    _load(store, spans)
    report = run_rules(store, load_rules(), _since())
    slice_seeds = [s for s in report.seeds if s.rule == "high-complaint-slice"]
    assert len(slice_seeds) == 5
    traces = {s.trace_id for s in slice_seeds}
    assert {_trace(1), _trace(2), _trace(3)} <= traces <= {_trace(n) for n in range(1, 21)}
    matched = slice_seeds[0].matched
    assert matched["slice.traces"] == "20" and matched["slice.complaint_traces"] == "3"
    assert (
        matched["gen_ai.prompt.version"] == "refund-v4" and matched["tracelock.customer.tier"] == "enterprise"
    )
    assert slice_seeds[0].level == "slice" and slice_seeds[0].span_id == ""


def test_a_complaint_that_arrives_an_hour_later_is_seeded_exactly_once(store: Store) -> None:
    _load(store, _trace_spans(1, hours_ago=1.5))
    rules = load_rules()
    first = run_rules(store, rules, _since())
    assert _found(first, "complaint-linked-trace") == set()
    _feedback(store, _trace(1), "complaint", comment="the refund never came")  # an hour after the trace
    late = run_rules(store, rules, datetime.now(timezone.utc) - timedelta(minutes=30))  # trace is older
    assert _found(late, "complaint-linked-trace") == {_trace(1)}
    again = run_rules(store, rules, _since())
    assert again.new == 0
    (report,) = [r for r in again.rules if r.rule == "complaint-linked-trace"]
    assert (report.matched, report.already) == (1, 1)
    rows = store.query("SELECT count() FROM seeds WHERE Rule = 'complaint-linked-trace'").scalar()
    assert rows == 1
    (row,) = seed_rows(store, rule="complaint-linked-trace")
    assert row["SeedId"] == seed_id("complaint-linked-trace", _trace(1)) and row["Mode"] == "batch"


def test_scope_keeps_eval_traces_out_of_live_rules_in_batch(store: Store) -> None:
    _load(store, _trace_spans(1, child={"tracelock.feedback.complaint": True}), {"tracelock.origin": "eval"})
    _load(store, _trace_spans(2, child={"tracelock.feedback.complaint": True, "tracelock.eval.run_id": "r1"}))
    _load(store, _trace_spans(3, child={"tracelock.feedback.complaint": True}))
    assert _found(run_rules(store, load_rules(), _since()), "complaint-linked-trace") == {_trace(3)}
    both = load_rules(
        "version: 1\nrules:\n  - {name: c, level: trace, scope: both, condition: feedback.complaint}\n"
    )
    assert _found(run_rules(store, both, _since()), "c") == {_trace(1), _trace(2), _trace(3)}


def test_rate_limit_holds_in_batch_and_across_runs(store: Store) -> None:
    rules = load_rules(
        "version: 1\nrules:\n  - {name: c, level: trace, condition: feedback.complaint, max_per_hour: 4}\n"
    )
    spans = []
    for n in range(1, 11):
        spans += _trace_spans(n, child={"tracelock.feedback.complaint": True})
    _load(store, spans)
    first = run_rules(store, rules, _since())
    assert first.new == 4 and first.rules[0].rate_limited == 6
    second = run_rules(store, rules, _since())
    assert second.new == 0 and second.rules[0].rate_limited == 6
    backfill = run_rules(store, rules, _since(), limits=False)
    assert backfill.new == 6


@pytest.fixture
def second_store(chdb_session_dir: Path):
    database = f"t_{uuid.uuid4().hex[:12]}"
    store = ChdbStore(chdb_session_dir, database)
    apply_migrations(store)
    yield store
    store.command(f"DROP DATABASE IF EXISTS {database}")
    store.close()


def _agreement_data() -> list[list[SpanSpec]]:
    requests = []
    for n in range(1, 41):
        child = {}
        if n % 3 == 0:
            child["tracelock.retrieval.empty"] = True
        if n % 5 == 0:
            child["tracelock.feedback.complaint"] = True
            child["tracelock.cost.usd"] = 0.3
        if n % 7 == 0:
            child["tracelock.feedback.score"] = 0.1
            child["tracelock.cost.usd"] = 0.08
        root = {"gen_ai.prompt.version": "refund-v4" if n % 2 else "refund-v5"}
        requests.append(_trace_spans(n, hours_ago=1 + n / 100, root=root, child=child))
    return requests


def _stored(store: Store) -> dict[tuple[str, str, str], tuple[str, dict]]:
    rows = store.query("SELECT Rule, TraceId, SpanId, SeedId, Matched FROM seeds FINAL").rows
    return {(r, t, s): (i, dict(m)) for r, t, s, i, m in rows}


def test_online_and_batch_agree_on_the_same_data(store: Store, second_store: Store) -> None:
    rules = load_rules()
    sampler = SeedSampler(rules, store)
    bodies = []
    for spans in _agreement_data():  # online: span rules on the stream, then the trace/slice pass
        body, _ = sampler.process(
            build_request(spans, {"gen_ai.request.model": "gpt-4o"}).SerializeToString()
        )
        bodies.append(body)
    load_request(store, b"".join(bodies))  # concatenated requests are one request, as in the collector
    sampler.run_trace_rules(settle=timedelta(0), lookback=timedelta(hours=24))
    _load(second_store, [span for spans in _agreement_data() for span in spans])  # batch only, same spans
    run_rules(second_store, rules, _since())
    online, batch = _stored(store), _stored(second_store)
    assert online == batch
    assert {rule for rule, _, _ in online} >= {
        "complaint-linked-trace",
        "empty-retrieval",
        "high-cost-low-satisfaction",
    }
    modes = store.query("SELECT DISTINCT Mode FROM seeds").rows
    assert modes == [("online",)]
    # and a batch run after the collector adds nothing
    assert run_rules(store, rules, _since()).new == 0
    stamped = store.query(
        "SELECT count() FROM otel_traces WHERE SpanAttributes['tracelock.seed.rules'] = 'empty-retrieval'"
    ).scalar()
    assert stamped == sum(1 for r, _, s in online if r == "empty-retrieval" and s)


def test_export_rows_carry_inputs_outputs_keys_labels_source_and_feedback(store: Store) -> None:
    _load(store, _trace_spans(1, root={"tracelock.label.team": "payments"}))
    _feedback(store, _trace(1), "complaint", comment="charged twice")
    run_rules(store, load_rules(), _since())
    rows = dataset_rows(store, seed_rows(store, rule="complaint-linked-trace"))
    (row,) = rows
    provenance = row["provenance"]
    assert provenance["seed_id"] == seed_id("complaint-linked-trace", _trace(1))
    assert row["id"] == f"seed-{provenance['seed_id']}"
    assert provenance["source_trace_id"] == _trace(1) and "source_span_id" not in provenance
    assert row["input"] == [{"role": "user", "content": "where is my refund?"}]
    assert provenance["observed_output"] == [{"role": "assistant", "content": "it is on its way"}]
    assert row["keys"] == {"gen_ai.request.model": "gpt-4o", "gen_ai.prompt.version": "refund-v4"}
    assert row["labels"] == {
        "tracelock.intent": "refund",
        "tracelock.feature": "refund",
        "tracelock.customer.tier": "enterprise",
        "tracelock.label.team": "payments",
    }
    assert [(f["kind"], f["comment"]) for f in provenance["feedback"]] == [("complaint", "charged twice")]
    assert provenance["feedback_ids"] == [f["id"] for f in provenance["feedback"]]
    seed = get_seed(store, provenance["seed_id"].upper())
    assert seed["provenance"]["seed_rule"] == "complaint-linked-trace"
    with pytest.raises(InputError, match="no seed with id 'ffff'"):
        get_seed(store, "ffff")
