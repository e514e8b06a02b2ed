"""Eval spans and live spans of the same release join on every shared key: version keys (model, prompt,
retriever, guardrail, experiment bucket) and task labels (intent, feature, language, customer tier,
output type, a user label), written the way applications write them (OTel SDK + tracelock processors,
OTLP bytes into the store through the collector's write path)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from tracelock.demo.sink import StoreSpanExporter
from tracelock.evals import Case, Dataset, run_eval
from tracelock.processors import instrument, labels, shared_keys_resource
from tracelock.report import coverage_report, divergence_report
from tracelock.report.dimensions import DIMENSIONS, resolve_dimension
from tracelock.store import Store

VERSIONS = {
    "model": "gpt-4o-mini",
    "prompt_version": "refund-v4",
    "retriever_version": "kb-7",
    "guardrail_version": "gr-2",
    "experiment_bucket": "treatment",
}
LABELS = {
    "intent": "refund_request",
    "feature": "refund-assistant",
    "language": "de",
    "customer.tier": "enterprise",
    "output.type": "json",
    "region": "eu",
}


def provider(store: Store, service: str, **versions: str) -> TracerProvider:
    tp = TracerProvider(resource=shared_keys_resource(service, **versions))
    instrument(tracer_provider=tp, export=False, set_global=False)
    tp.add_span_processor(BatchSpanProcessor(StoreSpanExporter(store)))  # flushed by shutdown()
    return tp


@pytest.fixture
def joined(store: Store) -> Iterator[Store]:
    app = provider(store, "refund-assistant", **VERSIONS)
    tracer = app.get_tracer("app")
    processor_labels = {
        "intent": LABELS["intent"],
        "feature": LABELS["feature"],
        "language": LABELS["language"],
        "customer_tier": LABELS["customer.tier"],
        "output_format": LABELS["output.type"],
        "region": LABELS["region"],
    }
    for i in range(4):
        with labels(processor_labels), tracer.start_as_current_span("POST /refund") as root:
            with tracer.start_as_current_span("chat"):
                pass
            if i == 0:
                root.set_attribute("tracelock.feedback.complaint", True)
    evals = provider(store, "refund-evals")
    cases = [Case(f"c{i}", {"q": i}, "ok", labels=LABELS) for i in range(3)]
    run_eval(
        Dataset("refund-cases", "1", cases),
        lambda inputs: "ok",
        [lambda output, case: output == case.expected],
        keys={k.replace("_version", ".version").replace("experiment_", ""): v for k, v in VERSIONS.items()},
        tracer_provider=evals,
    )
    app.shutdown()
    evals.shutdown()
    yield store


def test_every_shared_key_matches_between_eval_records_and_traces(joined: Store) -> None:
    columns = sorted({d.column for d in DIMENSIONS.values() if d.column})
    live = joined.query(
        f"SELECT {', '.join(columns)}, Labels FROM trace_summaries_final WHERE Origin = 'live'"
    ).dicts()
    evals = joined.query(f"SELECT {', '.join(columns)}, Labels FROM eval_records FINAL").dicts()
    assert len(live) == 4 and len(evals) == 3
    expected = {
        "RequestModel": "gpt-4o-mini", "PromptVersion": "refund-v4", "RetrieverVersion": "kb-7",
        "GuardrailVersion": "gr-2", "ExperimentBucket": "treatment", "Intent": "refund_request",
        "Feature": "refund-assistant", "Language": "de", "CustomerTier": "enterprise", "OutputFormat": "json",
    }  # fmt: skip
    assert set(expected) == set(columns)
    for row in live + evals:
        assert {c: row[c] for c in columns} == expected
        assert row["Labels"] == {"region": "eu"}
    # the join itself, in SQL, on every key at once
    on = " AND ".join(f"e.{c} = t.{c}" for c in columns) + " AND e.Labels['region'] = t.Labels['region']"
    pairs = joined.query(
        f"SELECT count() FROM eval_records AS e FINAL INNER JOIN "
        f"(SELECT * FROM trace_summaries_final WHERE Origin = 'live') AS t ON {on}"
    ).scalar()
    assert pairs == 3 * 4


def test_each_dimension_puts_evals_and_traces_in_one_slice(joined: Store) -> None:
    for name in [*(d.name for d in DIMENSIONS.values()), "label.region"]:
        (row,) = coverage_report(joined, [resolve_dimension(name)]).rows
        assert (row.bad_traces, row.traces, row.eval_cases) == (1, 4, 3), name


def test_divergence_slices_carry_both_sides(joined: Store) -> None:
    baseline = provider(joined, "refund-assistant", **{**VERSIONS, "prompt_version": "refund-v3"})
    with labels(intent="refund_request", customer_tier="enterprise", language="de", region="eu"):
        baseline.get_tracer("app").start_span("POST /refund").end()
    baseline.shutdown()
    prompt, bucket = resolve_dimension("prompt"), resolve_dimension("bucket")
    by = [resolve_dimension(n) for n in ("intent", "tier", "language", "label.region")]
    report = divergence_report(joined, {prompt: "refund-v3"}, {prompt: "refund-v4", bucket: "treatment"}, by)
    (s,) = report.slices
    assert s.slice == {
        "intent": "refund_request",
        "customer_tier": "enterprise",
        "language": "de",
        "region": "eu",
    }
    assert (s.eval_cases("candidate"), s.online["candidate"]["traces"]) == (3, 4)
    assert (s.eval_cases("baseline"), s.online["baseline"]["traces"]) == (0, 1)
