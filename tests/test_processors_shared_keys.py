"""SharedKeysProcessor, labels, eval_context and instrument() with the real OTel SDK and W3C propagator."""

from __future__ import annotations

import asyncio
import logging

import pytest
from opentelemetry import baggage, context
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

import tracelock
from tracelock.processors import (
    PROBLEMS,
    SharedKeysProcessor,
    SignalsProcessor,
    TracelockProcessor,
    current_keys,
    eval_context,
    labels,
    shared_keys_resource,
)
from tracelock.semconv import TASK_LABELS, VERSION_KEYS

VERSIONS = {"model": "gpt-4o-mini", "prompt_version": "refund-v4", "retriever_version": "idx-7"}
W3C = CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])


@pytest.fixture(autouse=True)
def _clean_problems():
    PROBLEMS.clear()
    yield
    PROBLEMS.clear()


def _setup(**kwargs) -> tuple[TracerProvider, InMemorySpanExporter]:
    sink = InMemorySpanExporter()
    provider = tracelock.instrument(
        "support-bot", exporter=sink, batch=False, set_global=False, **VERSIONS, **kwargs
    )
    return provider, sink


def _keys(span: ReadableSpan) -> dict:
    """The shared keys a store row would see: span attribute first, then resource (as the schema does)."""
    merged = {**span.resource.attributes, **span.attributes}
    names = (*VERSION_KEYS, *TASK_LABELS, "tracelock.origin")
    return {k: merged[k] for k in names if k in merged}


def test_live_and_eval_span_of_the_same_request_share_version_keys_and_labels() -> None:
    provider, sink = _setup()
    tracer = provider.get_tracer("app")

    def handle_request() -> None:
        with tracer.start_as_current_span("chat gpt-4o-mini"):
            pass

    with labels(intent="refund", customer_tier="enterprise", language="en"):
        handle_request()  # production traffic
    with (
        eval_context(run_id="run-1", case_id="case-7", repeat=2, dataset_id="refunds", dataset_version="3"),
        labels(intent="refund", customer_tier="enterprise", language="en"),
    ):
        handle_request()  # the same request replayed by an eval

    live, ev = sink.get_finished_spans()
    live_keys, eval_keys = _keys(live), _keys(ev)
    assert live_keys.pop("tracelock.origin") == "live"
    assert eval_keys.pop("tracelock.origin") == "eval"
    assert live_keys == {
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.prompt.version": "refund-v4",
        "tracelock.retriever.version": "idx-7",
        "tracelock.intent": "refund",
        "tracelock.customer.tier": "enterprise",
        "tracelock.language": "en",
    }
    # dataset keys are eval-only; every key the live span has, the eval span has with the same value
    assert {k: eval_keys[k] for k in live_keys} == live_keys
    assert ev.attributes["tracelock.eval.run_id"] == "run-1"
    assert ev.attributes["tracelock.eval.case_id"] == "case-7"
    assert ev.attributes["tracelock.eval.repeat"] == 2
    assert ev.attributes["tracelock.dataset.version"] == "3"
    assert "tracelock.eval.run_id" not in live.attributes


def test_labels_reach_child_spans_and_nested_scopes_merge() -> None:
    provider, sink = _setup()
    tracer = provider.get_tracer("app")
    with (
        labels(intent="refund", feature="chat"),
        tracer.start_as_current_span("parent"),
        labels(intent="cancel", team="payments"),
        tracer.start_as_current_span("child"),
        tracer.start_as_current_span("grandchild"),
    ):
        pass
    with tracer.start_as_current_span("outside"):
        pass
    spans = {s.name: s.attributes for s in sink.get_finished_spans()}
    assert spans["parent"]["tracelock.intent"] == "refund"
    for name in ("child", "grandchild"):
        assert spans[name]["tracelock.intent"] == "cancel"
        assert spans[name]["tracelock.feature"] == "chat"
        assert spans[name]["tracelock.label.team"] == "payments"
    assert not any(k.startswith("tracelock.") for k in spans["outside"])


def test_labels_survive_a_w3c_baggage_round_trip_to_another_service() -> None:
    # client process: labels set, headers injected by the real W3C propagators
    headers: dict[str, str] = {}
    with (
        labels(intent="refund", customer_tier="enterprise", team="payments"),
        eval_context(run_id="run-9", case_id="c1", repeat=3),
    ):
        W3C.inject(headers)
    assert "baggage" in headers
    # server process: a different provider; only the headers cross
    provider, sink = _setup()
    incoming = W3C.extract(headers)
    token = context.attach(incoming)
    try:
        with provider.get_tracer("server").start_as_current_span("handle"):
            pass
        assert current_keys()["tracelock.intent"] == "refund"
    finally:
        context.detach(token)
    (span,) = sink.get_finished_spans()
    assert span.attributes["tracelock.intent"] == "refund"
    assert span.attributes["tracelock.customer.tier"] == "enterprise"
    assert span.attributes["tracelock.label.team"] == "payments"
    assert span.attributes["tracelock.origin"] == "eval"
    assert span.attributes["tracelock.eval.repeat"] == 3  # typed back from text by the registry


def test_untrusted_baggage_is_ignored_when_asked_and_bad_entries_always() -> None:
    ctx = baggage.set_baggage("tracelock.origin", "eval")
    ctx = baggage.set_baggage("tracelock.eval.repeat", "not-a-number", ctx)
    ctx = baggage.set_baggage("tracelock.intent", "refund", ctx)
    sink = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SharedKeysProcessor(trust_baggage=False))
    provider.add_span_processor(SimpleSpanProcessor(sink))
    provider.get_tracer("t").start_span("edge", context=ctx).end()
    assert "tracelock.origin" not in sink.get_finished_spans()[0].attributes

    provider2, sink2 = _setup()
    provider2.get_tracer("t").start_span("inner", context=ctx).end()
    attrs = sink2.get_finished_spans()[0].attributes
    assert attrs["tracelock.intent"] == "refund"
    assert "tracelock.eval.repeat" not in attrs


def test_labels_as_decorator_sync_and_async() -> None:
    provider, sink = _setup()
    tracer = provider.get_tracer("app")

    @labels(intent="refund")
    def sync_handler() -> None:
        with tracer.start_as_current_span("sync"):
            pass

    @labels(intent="billing")
    async def async_handler() -> None:
        with tracer.start_as_current_span("async"):
            pass

    sync_handler()
    asyncio.run(async_handler())
    spans = {s.name: s.attributes for s in sink.get_finished_spans()}
    assert spans["sync"]["tracelock.intent"] == "refund"
    assert spans["async"]["tracelock.intent"] == "billing"


def test_bad_label_values_are_warned_once_per_key_counted_and_never_raised(caplog) -> None:
    provider, sink = _setup()
    with caplog.at_level(logging.WARNING, logger="tracelock.processors"):
        for _ in range(3):
            with labels(language="english please", output_format="yaml", intent="refund"):
                provider.get_tracer("t").start_span("s").end()
    warned = [r.getMessage() for r in caplog.records]
    assert len([m for m in warned if "tracelock.language" in m]) == 1
    assert len([m for m in warned if "gen_ai.output.type" in m]) == 1
    assert PROBLEMS.snapshot()[("not_allowed", "tracelock.language")] == 3
    for span in sink.get_finished_spans():
        assert span.attributes["tracelock.intent"] == "refund"
        assert "tracelock.language" not in span.attributes


def test_span_attributes_are_validated_with_the_span_name(caplog) -> None:
    provider, _ = _setup(validate_every=1)
    with caplog.at_level(logging.WARNING, logger="tracelock.processors"):
        provider.get_tracer("t").start_span(
            "llm call", attributes={"tracelock.intnet": "x", "gen_ai.usage.input_tokens": "12"}
        ).end()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "tracelock.intnet on span 'llm call'" in text
    assert "gen_ai.usage.input_tokens on span 'llm call'" in text
    assert PROBLEMS.snapshot()[("unknown_key", "tracelock.intnet")] == 1


def test_instrument_on_an_existing_provider_keeps_its_processors_and_resource() -> None:
    app_sink = InMemorySpanExporter()
    app_processor = SimpleSpanProcessor(app_sink)
    provider = TracerProvider(resource=Resource.create({"service.name": "legacy-app"}))
    provider.add_span_processor(app_processor)
    our_sink = InMemorySpanExporter()

    returned = tracelock.instrument(
        "ignored-name", tracer_provider=provider, exporter=our_sink, batch=False, set_global=False, **VERSIONS
    )
    again = tracelock.instrument(tracer_provider=provider, exporter=our_sink, batch=False, set_global=False)
    assert returned is provider and again is provider
    registered = provider._active_span_processor._span_processors
    assert registered[0] is app_processor
    assert [type(p) for p in registered[1:]] == [TracelockProcessor, SimpleSpanProcessor]  # added once

    with labels(intent="refund"):
        provider.get_tracer("app").start_span("chat").end()
    for sink in (app_sink, our_sink):  # the app's own exporter sees the stamped keys too
        (span,) = sink.get_finished_spans()
        assert span.resource.attributes["service.name"] == "legacy-app"
        assert span.attributes["gen_ai.prompt.version"] == "refund-v4"
        assert span.attributes["tracelock.origin"] == "live"
        assert span.attributes["tracelock.intent"] == "refund"


def test_attributes_the_app_sets_at_start_win_over_context_labels() -> None:
    provider, sink = _setup()
    with labels(intent="refund"):
        provider.get_tracer("t").start_span("s", attributes={"tracelock.intent": "explicit"}).end()
    assert sink.get_finished_spans()[0].attributes["tracelock.intent"] == "explicit"


def test_span_attribute_limit_is_respected() -> None:
    from opentelemetry.sdk.trace import SpanLimits

    sink = InMemorySpanExporter()
    provider = TracerProvider(span_limits=SpanLimits(max_span_attributes=3))
    provider.add_span_processor(TracelockProcessor(SharedKeysProcessor(), SignalsProcessor()))
    provider.add_span_processor(SimpleSpanProcessor(sink))
    with labels(intent="refund", feature="chat", language="en", customer_tier="pro"):
        provider.get_tracer("t").start_span("s", attributes={"a": 1}).end()
    attrs = sink.get_finished_spans()[0].attributes
    assert len(attrs) == 3  # the SDK's limit still holds (its public path drops the oldest)


def test_one_labels_object_shared_by_concurrent_asyncio_tasks_exits_its_own_scopes() -> None:
    provider, sink = _setup()
    tracer = provider.get_tracer("t")
    shared = labels(intent="refund")
    a_in, b_in, a_out = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def first() -> None:  # enters before b, exits while b is still inside the same object
        with shared, labels(feature="a"):
            a_in.set()
            await b_in.wait()
            tracer.start_span("a").end()
        tracer.start_span("a after").end()
        a_out.set()

    async def second() -> None:
        await a_in.wait()
        with shared, labels(feature="b"):
            b_in.set()
            await a_out.wait()
            tracer.start_span("b").end()
        tracer.start_span("b after").end()

    async def main() -> None:
        await asyncio.gather(first(), second())

    asyncio.run(main())
    spans = {s.name: s.attributes for s in sink.get_finished_spans()}
    assert spans["a"]["tracelock.feature"] == "a" and spans["b"]["tracelock.feature"] == "b"
    assert spans["a"]["tracelock.intent"] == spans["b"]["tracelock.intent"] == "refund"
    assert "tracelock.intent" not in spans["a after"] and "tracelock.intent" not in spans["b after"]
    assert current_keys() == {}


def test_resource_attributes_on_an_existing_provider_are_stamped_unchanged() -> None:
    sink = InMemorySpanExporter()
    provider = TracerProvider()
    tracelock.instrument(
        tracer_provider=provider,
        exporter=sink,
        batch=False,
        set_global=False,
        model="m",
        resource_attributes={"deployment.environment.name": "prod", "tracelock.experiment.bucket": "b"},
    )
    provider.get_tracer("t").start_span("s").end()
    attrs = sink.get_finished_spans()[0].attributes
    assert attrs["deployment.environment.name"] == "prod"
    assert attrs["tracelock.experiment.bucket"] == "b"
    assert attrs["gen_ai.request.model"] == "m"
    assert not any(k.startswith("tracelock.label.") for k in attrs)


def test_keys_already_on_an_existing_providers_resource_are_not_stamped_again() -> None:
    sink = InMemorySpanExporter()
    provider = TracerProvider(resource=shared_keys_resource("svc", model="m", prompt_version="p1"))
    tracelock.instrument(
        tracer_provider=provider, exporter=sink, batch=False, set_global=False, model="m", prompt_version="p2"
    )
    provider.get_tracer("t").start_span("s").end()
    attrs = sink.get_finished_spans()[0].attributes
    assert "gen_ai.request.model" not in attrs and "tracelock.origin" not in attrs  # on the Resource
    assert attrs["gen_ai.prompt.version"] == "p2"  # differs from the Resource: the span says so
