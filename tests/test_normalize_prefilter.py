"""The byte prefilter that keeps ordinary requests off the Python normaliser never says "no" to a
request carrying a source name it handles, and says "no" to ordinary traffic."""

from __future__ import annotations

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tracelock.collector.processors.normalize.expand import (
    expand_request,
    might_need_expanding,
    python_sources,
)
from tracelock.semconv.index import LABEL_PREFIXES


def _request(attributes: dict[str, str]) -> bytes:
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add(name="chat", trace_id=b"\1" * 16)
    for key, value in attributes.items():
        span.attributes.add(key=key).value.string_value = value
    return request.SerializeToString()


@pytest.mark.parametrize(
    "key", sorted(python_sources()) + [prefix + "customer_tier" for prefix in LABEL_PREFIXES]
)
def test_every_source_name_is_let_through(key: str) -> None:
    body = _request({"gen_ai.request.model": "gpt-4o", key: '"enterprise"'})
    assert might_need_expanding(body)


def test_ordinary_traffic_is_not_even_when_its_text_says_metadata() -> None:
    body = _request(
        {
            "gen_ai.request.model": "gpt-4o",
            "llm.token_count.total": "12",
            "input.value": "what metadata does gen_ai.system carry? see langfuse.trace.metadata docs",
        }
    )
    assert not might_need_expanding(body)
    assert expand_request(body) is body
