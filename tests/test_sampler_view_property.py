"""Property test: the collector path's shortcuts (the byte search on the request and on each span, the
lazy request view, decoding only candidate spans, reading only the attributes rules use) find exactly
what decoding every span with protobuf and evaluating the rules would find, and stamp exactly what
stamping the fully decoded request would give, on requests with awkward attributes: gate names inside
values and event attributes, long values, aliases, resource-level flags, schema URLs."""

from __future__ import annotations

import textwrap

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tracelock.sampler.online import SEED_IDS_ATTRIBUTE, SEED_RULES_ATTRIBUTE, SeedSampler
from tracelock.sampler.otlp_build import key_values
from tracelock.sampler.otlp_view import RequestView
from tracelock.sampler.rules import load_rules
from tracelock.sampler.spans import SpanRuleEngine, any_value

RULES = load_rules(
    textwrap.dedent(
        """
        version: 1
        rules:
          - {name: empty, condition: tracelock.retrieval.empty}
          - {name: long, condition: 'gen_ai.usage.input_tokens > 1000 && tracelock.intent == "refund"'}
        """
    )
)
FLAG = "tracelock.retrieval.empty"
NAMES = [FLAG, "gen_ai.usage.input_tokens", "llm.token_count.prompt", "tracelock.intent", "note", "x"]
VALUES = st.one_of(
    st.booleans(),
    st.integers(min_value=-5, max_value=5000),
    st.sampled_from(["refund", "true", "false", FLAG, "x" * 300, "tracelock.intent"]),
)
ATTRS = st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=5)


def _truth(value: object) -> bool:
    """What the stored data says: the exporter writes the value as text, ClickHouse reads 'true'/'1'."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1")


def _number(value: object) -> int:
    if isinstance(value, bool):
        return int(value)
    try:
        return int(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0


def _canonical(key_values: object) -> dict[str, object]:
    """One attribute map with the alias read as its canonical key (the canonical key wins)."""
    attrs = {kv.key: any_value(kv.value) for kv in key_values}  # type: ignore[attr-defined]
    if "gen_ai.usage.input_tokens" not in attrs and "llm.token_count.prompt" in attrs:
        attrs["gen_ai.usage.input_tokens"] = attrs["llm.token_count.prompt"]
    return attrs


def _reference(body: bytes) -> set[tuple[str, str]]:
    """Decode everything with protobuf and evaluate the two rules by hand.

    Aliases are renamed within each attribute map (as the normaliser does), then the span's map
    overrides the resource's: a span's alias beats a resource's canonical key.
    """
    found = set()
    request = ExportTraceServiceRequest.FromString(body)
    for rs in request.resource_spans:
        resource = _canonical(rs.resource.attributes)
        for ss in rs.scope_spans:
            for span in ss.spans:
                attrs = dict(resource)
                attrs.update(_canonical(span.attributes))
                if _truth(attrs.get(FLAG, False)):
                    found.add(("empty", span.span_id.hex()))
                tokens = _number(attrs.get("gen_ai.usage.input_tokens", 0))
                if tokens > 1000 and str(attrs.get("tracelock.intent", "")) == "refund":
                    found.add(("long", span.span_id.hex()))
    return found


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    request = ExportTraceServiceRequest()
    n = 0
    for _ in range(draw(st.integers(1, 3))):
        rs = request.resource_spans.add()
        rs.resource.attributes.extend(key_values(draw(ATTRS) if draw(st.booleans()) else {}))
        if draw(st.booleans()):
            rs.schema_url = "https://opentelemetry.io/schemas/1.26.0"
        for _ in range(draw(st.integers(1, 2))):
            ss = rs.scope_spans.add()
            ss.scope.name = "s"
            for _ in range(draw(st.integers(0, 4))):
                n += 1
                span = ss.spans.add()
                span.trace_id = n.to_bytes(16, "big")
                span.span_id = n.to_bytes(8, "big")
                span.name = "op"
                span.attributes.extend(key_values(draw(ATTRS)))
                if draw(st.booleans()):
                    event = span.events.add()
                    event.name = "e"
                    event.attributes.extend(key_values(draw(ATTRS)))
    return request.SerializeToString()


@settings(max_examples=400, deadline=None)
@given(requests())
def test_fast_paths_agree_with_decoding_everything(body: bytes) -> None:
    engine = SpanRuleEngine(RULES)
    assert {(m.rule.name, m.span_id) for m in engine.match(body)} == _reference(body)


@settings(max_examples=150, deadline=None)
@given(requests())
def test_the_view_round_trips_and_stamps_like_the_decoded_request(body: bytes) -> None:
    assert RequestView.FromString(body).SerializeToString() == body
    sampler = SeedSampler(RULES)
    stamped, seeds = sampler.process(body)
    expected = ExportTraceServiceRequest.FromString(body)
    by_span: dict[str, list] = {}
    for seed in seeds:
        by_span.setdefault(seed.span_id, []).append(seed)
    for rs in expected.resource_spans:
        for ss in rs.scope_spans:
            for span in ss.spans:
                chosen = by_span.get(span.span_id.hex(), [])
                if chosen:
                    span.attributes.add(key=SEED_RULES_ATTRIBUTE).value.string_value = ",".join(
                        s.rule for s in chosen
                    )
                    span.attributes.add(key=SEED_IDS_ATTRIBUTE).value.string_value = ",".join(
                        s.seed_id for s in chosen
                    )
    assert stamped == (expected.SerializeToString() if seeds else body)
    assert {(s.rule, s.span_id) for s in seeds} == _reference(body)
