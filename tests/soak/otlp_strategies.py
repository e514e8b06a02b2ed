"""Hypothesis strategies for OTLP trace requests (protobuf messages and OTLP/JSON documents).

Shared by the property tests and ``bench/fuzz_otlp.py``'s long hypothesis run.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

__all__ = ["any_values", "json_trees", "otlp_json_documents", "otlp_requests"]

HOSTILE = [
    "'; DROP TABLE otel_traces; --",
    "\\' OR 1=1 --",
    "{source}",
    "{x:String}",
    "\x00",
    "\u2028",
    "😀" * 3,
    "a" * 5000,
]
texts = st.one_of(st.text(max_size=30), st.sampled_from(HOSTILE))
keys = st.one_of(
    st.sampled_from(
        ["gen_ai.request.model", "tracelock.intent", "input.value", "llm.model_name", "service.name"]
    ),
    texts,
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
)
json_trees = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(texts, children, max_size=4)),
    max_leaves=25,
)


def any_values(depth: int = 2) -> st.SearchStrategy[AnyValue]:
    leaves = st.one_of(
        texts.map(lambda v: AnyValue(string_value=v)),
        st.booleans().map(lambda v: AnyValue(bool_value=v)),
        st.integers(-(2**63), 2**63 - 1).map(lambda v: AnyValue(int_value=v)),
        st.floats().map(lambda v: AnyValue(double_value=v)),
        st.binary(max_size=20).map(lambda v: AnyValue(bytes_value=v)),
    )
    if depth == 0:
        return leaves
    inner = any_values(depth - 1)

    def array(values: list[AnyValue]) -> AnyValue:
        value = AnyValue()
        value.array_value.values.extend(values)
        return value

    def kvlist(items: list[tuple[str, AnyValue]]) -> AnyValue:
        value = AnyValue()
        value.kvlist_value.values.extend(KeyValue(key=k, value=v) for k, v in items)
        return value

    return st.one_of(
        leaves,
        st.lists(inner, max_size=3).map(array),
        st.lists(st.tuples(texts, inner), max_size=3).map(kvlist),
    )


attributes = st.lists(st.tuples(keys, any_values()), max_size=6).map(
    lambda items: [KeyValue(key=k, value=v) for k, v in items]
)


@st.composite
def spans(draw: Any) -> Span:
    span = Span(
        trace_id=draw(st.binary(min_size=16, max_size=16)),
        span_id=draw(st.binary(min_size=8, max_size=8)),
        parent_span_id=draw(st.sampled_from([b"", b"\x07" * 8])),
        name=draw(texts),
        kind=draw(st.integers(0, 5)),
        start_time_unix_nano=draw(st.integers(0, 2**64 - 1)),
        end_time_unix_nano=draw(st.integers(0, 2**64 - 1)),
    )
    span.attributes.extend(draw(attributes))
    for _ in range(draw(st.integers(0, 2))):
        event = span.events.add(name=draw(texts), time_unix_nano=draw(st.integers(0, 2**64 - 1)))
        event.attributes.extend(draw(attributes))
    span.status.code = draw(st.integers(0, 2))
    span.status.message = draw(texts)
    return span


@st.composite
def otlp_requests(draw: Any) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    for _ in range(draw(st.integers(0, 2))):
        rs = request.resource_spans.add()
        rs.resource.attributes.extend(draw(attributes))
        for _ in range(draw(st.integers(0, 2))):
            ss = rs.scope_spans.add()
            ss.scope.name = draw(texts)
            ss.spans.extend(draw(st.lists(spans(), max_size=3)))
    return request


@st.composite
def otlp_json_documents(draw: Any) -> dict[str, Any]:
    """OTLP/JSON close to valid: right shape, with hypothesis choosing ids, values and the odd wrong type."""
    hexes = st.one_of(
        st.binary(min_size=16, max_size=16).map(bytes.hex),
        st.binary(min_size=8, max_size=8).map(bytes.hex),
        texts,
        json_trees,
    )
    value = st.one_of(
        st.fixed_dictionaries({"stringValue": json_trees}),
        st.fixed_dictionaries({"intValue": st.one_of(st.integers(), st.text(max_size=25))}),
        st.fixed_dictionaries({"doubleValue": json_trees}),
        st.fixed_dictionaries({"boolValue": json_trees}),
        st.fixed_dictionaries({"arrayValue": st.fixed_dictionaries({"values": json_trees})}),
        json_trees,
    )
    span = st.fixed_dictionaries(
        {"traceId": hexes, "spanId": hexes, "name": json_trees},
        optional={
            "parentSpanId": hexes,
            "kind": json_trees,
            "startTimeUnixNano": st.one_of(st.integers(), st.text(max_size=25)),
            "attributes": st.lists(st.fixed_dictionaries({"key": json_trees, "value": value}), max_size=3),
            "links": st.lists(st.fixed_dictionaries({"traceId": hexes, "spanId": hexes}), max_size=2),
        },
    )
    return {"resourceSpans": [{"scopeSpans": [{"spans": draw(st.lists(span, max_size=3))}]}]}
