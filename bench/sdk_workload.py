"""The realistic ingest workload: LLM-app traces built with the real OpenTelemetry SDK and encoded by
its own OTLP encoder (``opentelemetry.exporter.otlp.proto.common.trace_encoder.encode_spans``), exactly
the bytes an instrumented application's ``OTLPSpanExporter`` sends.

Each trace has 4 spans — the request (server span), a retrieval, the LLM call and a guardrail check —
each with ~15 GenAI / OpenInference / tracelock attributes, ~700 bytes per span on the wire; a request
holds 512 spans (128 whole traces), as the SDK's ``BatchSpanProcessor`` sends them by default.

    python bench/sdk_workload.py        # prints the shape of one request
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator

__all__ = ["SPANS_PER_REQUEST", "SPANS_PER_TRACE", "sdk_request"]

SPANS_PER_TRACE = 4
SPANS_PER_REQUEST = 512
_QUESTIONS = (
    "I was charged twice for the same order last Tuesday, can I get the duplicate refunded?",
    "My card was declined at the airport although my balance is fine, what happened?",
    "How long does an international transfer to Germany take, and what does it cost?",
)
_ANSWER = (
    "I'm sorry about the double charge. Under our refund policy a duplicate card payment is refunded "
    "within 5 business days once the merchant confirms it; I have opened the request for you."
)


class _SeededIds(IdGenerator):
    """Trace and span ids from a seeded generator, so every run sends the same distinct spans."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def generate_span_id(self) -> int:
        return self.rng.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        return self.rng.getrandbits(128) or 1


def _trace(tracer: trace.Tracer, rng: random.Random, start_ns: int) -> None:
    """One support-bot request: server span -> retrieval, LLM call, guardrail (4 spans)."""
    question = rng.choice(_QUESTIONS)
    model = rng.choice(["gpt-4o", "gpt-4o-mini"])
    shared = {
        "tracelock.intent": rng.choice(["refund", "balance", "card"]),
        "tracelock.customer.tier": rng.choice(["free", "pro", "enterprise"]),
        "tracelock.language": rng.choice(["en", "de", "fr"]),
        "gen_ai.prompt.name": "refund-policy",
        "gen_ai.prompt.version": rng.choice(["v3", "v4"]),
    }
    t = start_ns
    root = tracer.start_span(
        "POST /chat",
        kind=trace.SpanKind.SERVER,
        start_time=t,
        attributes={
            **shared,
            "http.request.method": "POST",
            "http.route": "/chat",
            "http.response.status_code": 200,
            "url.scheme": "https",
            "user.id": f"u-{rng.randrange(10**6)}",
            "session.id": f"s-{rng.randrange(10**7)}",
            "openinference.span.kind": "CHAIN",
            "input.value": question,
            "output.value": _ANSWER[: rng.randrange(60, len(_ANSWER))],
            "tracelock.feature": "chat",
        },
    )
    ctx = trace.set_span_in_context(root)
    children = (
        (
            "retrieve policy",
            {
                "openinference.span.kind": "RETRIEVER",
                "gen_ai.operation.name": "retrieval",
                "retrieval.documents.0.document.id": f"policy-{rng.randrange(400)}",
                "retrieval.documents.0.document.score": rng.random(),
                "retrieval.documents.1.document.id": f"policy-{rng.randrange(400)}",
                "retrieval.documents.1.document.score": rng.random(),
                "tracelock.retriever.version": "r-12",
                "tracelock.retrieval.empty": rng.random() < 0.05,
                "embedding.model_name": "text-embedding-3-small",
                "input.value": question,
            },
        ),
        (
            f"chat {model}",
            {
                "openinference.span.kind": "LLM",
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": model,
                "gen_ai.response.model": f"{model}-2024-08-06",
                "gen_ai.request.temperature": 0.2,
                "gen_ai.usage.input_tokens": rng.randint(200, 4000),
                "gen_ai.usage.output_tokens": rng.randint(20, 500),
                "gen_ai.response.finish_reasons": ("stop",),
                "llm.token_count.total": rng.randint(300, 4500),
                "tracelock.cost.usd": rng.random() / 100,
                "input.value": question,
                "output.value": _ANSWER[: rng.randrange(40, len(_ANSWER))],
            },
        ),
        (
            "guardrail pii",
            {
                "openinference.span.kind": "GUARDRAIL",
                "gen_ai.operation.name": "apply_guardrail",
                "gen_ai.guardrail.name": "pii-filter",
                "tracelock.guardrail.version": "g-3",
                "guardrail.passed": rng.random() > 0.02,
                "guardrail.score": rng.random(),
                "guardrail.categories": ("pii", "toxicity"),
                "input.value": _ANSWER[:120],
            },
        ),
    )
    for name, attributes in children:
        t += rng.randrange(5_000_000, 400_000_000)
        span = tracer.start_span(
            name, context=ctx, kind=trace.SpanKind.CLIENT, start_time=t, attributes={**shared, **attributes}
        )
        span.end(end_time=t + rng.randrange(1_000_000, 900_000_000))
    root.end(end_time=t + 1_000_000_000)


def sdk_spans(seed: int, traces: int) -> Sequence[ReadableSpan]:
    """``traces`` whole traces (4 spans each) recorded by the SDK, ids seeded by ``seed``."""
    rng = random.Random(seed)
    exporter = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": "support-bot", "service.version": "2.14.0", "deployment.environment": "prod"}
        ),
        id_generator=_SeededIds(rng),
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("openinference.instrumentation.openai", "0.1.32")
    start = 1_760_000_000_000_000_000 + seed * 60_000_000_000
    for i in range(traces):
        _trace(tracer, rng, start + i * 10_000_000)
    provider.shutdown()
    return exporter.get_finished_spans()


def sdk_request(seed: int, spans: int = SPANS_PER_REQUEST) -> bytes:
    """One OTLP ExportTraceServiceRequest of ``spans`` spans, as the SDK's exporter serializes it."""
    return encode_spans(sdk_spans(seed, spans // SPANS_PER_TRACE)).SerializeToString()


if __name__ == "__main__":
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    body = sdk_request(0)
    request = ExportTraceServiceRequest.FromString(body)
    spans = [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    attrs = sum(len(s.attributes) for s in spans) / len(spans)
    print(
        f"{len(spans)} spans, {len(body)} bytes ({len(body) / len(spans):.0f} B/span), "
        f"{attrs:.1f} attributes/span"
    )
