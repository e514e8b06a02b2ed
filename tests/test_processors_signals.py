"""SignalsProcessor derives outcome signals on the SDK side, visible to every exporter of the provider."""

from __future__ import annotations

import json

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tracelock.errors import ConfigError
from tracelock.processors import PROBLEMS, ModelPrice, PriceTable, SignalsProcessor

PRICES = {"gpt-4o-mini": (0.15, 0.60), "gpt-4o": {"input_per_million": 2.5, "output_per_million": 10.0}}


def _provider(**kwargs) -> tuple[TracerProvider, InMemorySpanExporter]:
    sink = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"gen_ai.request.model": "gpt-4o"}))
    provider.add_span_processor(SimpleSpanProcessor(sink))  # the app's exporter, registered first
    provider.add_span_processor(SignalsProcessor(**kwargs))
    return provider, sink


def _one(provider: TracerProvider, sink: InMemorySpanExporter, name: str = "s", **attrs) -> dict:
    span = provider.get_tracer("t").start_span(name, attributes=attrs)
    span.end()
    return dict(sink.get_finished_spans()[-1].attributes)


def test_cost_from_tokens_and_price_table_reaches_an_exporter_registered_before_it() -> None:
    provider, sink = _provider(prices=PRICES)
    attrs = _one(
        provider,
        sink,
        **{
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.model": "gpt-4o-mini-2024-07-18",  # priced by the longest prefix
            "gen_ai.usage.input_tokens": 1_000_000,
            "gen_ai.usage.output_tokens": 500_000,
        },
    )
    assert attrs["tracelock.cost.usd"] == pytest.approx(0.15 + 0.30)


def test_cost_uses_alias_token_names_and_the_resource_model() -> None:
    provider, sink = _provider(prices=PRICES)
    attrs = _one(provider, sink, **{"llm.token_count.prompt": 1000, "llm.token_count.completion": 100})
    assert attrs["tracelock.cost.usd"] == pytest.approx((1000 * 2.5 + 100 * 10.0) / 1e6)


def test_cost_set_by_the_app_is_kept_and_unknown_models_are_reported() -> None:
    PROBLEMS.clear()
    provider, sink = _provider(prices=PRICES)
    kept = _one(provider, sink, **{"gen_ai.usage.input_tokens": 10, "tracelock.cost.usd": 9.0})
    assert kept["tracelock.cost.usd"] == 9.0
    unknown = _one(provider, sink, **{"gen_ai.request.model": "mystery", "gen_ai.usage.input_tokens": 10})
    assert "tracelock.cost.usd" not in unknown
    assert PROBLEMS.snapshot()[("no_price", "mystery")] == 1
    PROBLEMS.clear()


def test_empty_retrieval_from_document_count_json_documents_and_openinference() -> None:
    provider, sink = _provider()
    empty = _one(
        provider, sink, **{"gen_ai.operation.name": "retrieval", "tracelock.retrieval.document_count": 0}
    )
    assert empty["tracelock.retrieval.empty"] is True
    docs = json.dumps([{"id": "a", "content": "x" * 40}, {"id": "b", "content": "y" * 8}])
    found = _one(provider, sink, **{"gen_ai.operation.name": "retrieval", "gen_ai.retrieval.documents": docs})
    assert found["tracelock.retrieval.document_count"] == 2
    assert found["tracelock.retrieval.empty"] is False
    assert found["tracelock.usage.context_tokens"] == 10 + 2
    oi = _one(
        provider,
        sink,
        **{
            "openinference.span.kind": "RETRIEVER",
            "retrieval.documents.0.document.id": "a",
            "retrieval.documents.0.document.content": "abcd" * 5,
            "retrieval.documents.1.document.id": "b",
        },
    )
    assert oi["tracelock.retrieval.document_count"] == 2
    assert oi["tracelock.usage.context_tokens"] == 5
    plain = _one(provider, sink, **{"gen_ai.operation.name": "chat"})
    assert "tracelock.retrieval.empty" not in plain


def test_parse_failure_from_a_recorded_exception_not_from_other_errors() -> None:
    provider, sink = _provider()
    tracer = provider.get_tracer("t")
    span = tracer.start_span("tool call")
    try:
        json.loads("{not json")
    except ValueError as exc:
        span.record_exception(exc)
    span.end()
    other = tracer.start_span("timeout")
    other.record_exception(TimeoutError("slow"))
    other.end()
    parsed, timed_out = sink.get_finished_spans()
    assert parsed.attributes["tracelock.parse_failure"] is True
    assert "tracelock.parse_failure" not in timed_out.attributes


def test_token_counter_is_pluggable() -> None:
    provider, sink = _provider(token_counter=lambda text: len(text.split()))
    docs = json.dumps([{"content": "one two three"}])
    attrs = _one(provider, sink, **{"gen_ai.operation.name": "retrieval", "gen_ai.retrieval.documents": docs})
    assert attrs["tracelock.usage.context_tokens"] == 3


def test_price_table_from_file_and_errors(tmp_path) -> None:
    good = tmp_path / "prices.json"
    good.write_text(json.dumps({"m": [1, 2], "n": {"input_per_million": 3, "output_per_million": 4}}))
    table = PriceTable.from_file(good)
    assert table.get("m-2026") == ModelPrice(1.0, 2.0)
    assert table.get("n") == ModelPrice(3.0, 4.0)
    assert table.get("zzz") is None
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"m": {"input": 1}}))
    with pytest.raises(ConfigError, match=r"prices\.m: expected"):
        PriceTable.from_file(bad)
    with pytest.raises(ConfigError, match="cannot read price table"):
        PriceTable.from_file(tmp_path / "missing.json")
