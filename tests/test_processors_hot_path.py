"""The processors' hot paths read SDK internals (processors/_sdk.py): the SDK must still have them, and
the fast paths must give the same spans as the public API would."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import tracelock
from tracelock.processors import PROBLEMS, labels
from tracelock.processors._sdk import check_sdk_internals


@pytest.fixture(autouse=True)
def _clean_problems():
    PROBLEMS.clear()
    yield
    PROBLEMS.clear()


def test_the_installed_sdk_has_every_internal_the_hot_paths_read() -> None:
    assert check_sdk_internals() == []  # an SDK upgrade that moves one: update _sdk.py and the hot paths


def _existing_provider(**kwargs) -> tuple[TracerProvider, InMemorySpanExporter]:
    sink = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "legacy-app"}))
    provider.add_span_processor(SimpleSpanProcessor(sink))
    tracelock.instrument(
        tracer_provider=provider,
        export=False,
        set_global=False,
        model="gpt-4o-mini",
        prompt_version="refund-v4",
        prices={"gpt-4o": (2.5, 10.0)},
        **kwargs,
    )
    return provider, sink


def test_a_version_key_the_instrumentation_already_set_wins_and_the_others_are_stamped() -> None:
    provider, sink = _existing_provider()
    with labels(intent="refund"):
        provider.get_tracer("openai").start_span(
            "chat gpt-4o", attributes={"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 1000}
        ).end()
    attrs = sink.get_finished_spans()[0].attributes
    assert attrs["gen_ai.request.model"] == "gpt-4o"  # the call's own model, not the configured one
    assert attrs["gen_ai.prompt.version"] == "refund-v4"
    assert attrs["tracelock.origin"] == "live"
    assert attrs["tracelock.intent"] == "refund"
    assert attrs["tracelock.cost.usd"] == pytest.approx(0.0025)


def test_a_bad_value_is_reported_on_every_sampled_span_even_after_good_ones_were_remembered() -> None:
    provider, _ = _existing_provider(validate_every=1)
    tracer = provider.get_tracer("t")
    for _ in range(3):
        tracer.start_span("good", attributes={"tracelock.retrieval.empty": True}).end()
    for _ in range(2):
        tracer.start_span("bad", attributes={"tracelock.retrieval.empty": "yes"}).end()
    assert sum(n for (_, key), n in PROBLEMS.snapshot().items() if key == "tracelock.retrieval.empty") == 2


def test_events_are_seen_through_the_fast_path() -> None:
    provider, sink = _existing_provider()
    span = provider.get_tracer("t").start_span("parse")
    span.record_exception(ValueError("x"), attributes={"exception.type": "json.JSONDecodeError"})
    span.end()
    assert sink.get_finished_spans()[0].attributes["tracelock.parse_failure"] is True
