"""OpenLLMetry: traceloop's ``opentelemetry-instrumentation-openai`` with a meter provider (token and
duration histograms over OTLP/HTTP metrics). Session, user and metadata are traceloop association
properties and the prompt is ``traceloop.prompt.*`` on the workflow span, as traceloop-sdk writes them.
Exports OTLP/HTTP (protobuf)."""

from __future__ import annotations

import json

import openai
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.openai import OpenAIInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from tests.conformance import scenario as s

resource = Resource.create({"service.name": s.service_name()})
tracer_provider = TracerProvider(resource=resource)
tracer_provider.add_span_processor(
    BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{s.otlp_http()}/v1/traces"))
)
metric_exporter = OTLPMetricExporter(endpoint=f"{s.otlp_http()}/v1/metrics")
meter_provider = MeterProvider(
    resource=resource, metric_readers=[PeriodicExportingMetricReader(metric_exporter, 60_000)]
)
OpenAIInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
tracer = tracer_provider.get_tracer("conformance-app")

client = openai.OpenAI(base_url=s.openai_base_url(), api_key="sk-conformance")
association = "traceloop.association.properties"
workflow = {
    "traceloop.span.kind": "workflow",
    "traceloop.entity.name": "rag",
    "traceloop.entity.input": json.dumps({"question": s.QUESTION}),
    f"{association}.session_id": s.SESSION_ID,
    f"{association}.user_id": s.USER_ID,
    f"{association}.customer_tier": s.CUSTOMER_TIER,
    f"{association}.intent": s.INTENT,
    f"{association}.{s.LABEL[0]}": s.LABEL[1],
    "traceloop.prompt.managed": True,
    "traceloop.prompt.key": s.PROMPT_NAME,
    "traceloop.prompt.version": int(s.PROMPT_VERSION),
}
with tracer.start_as_current_span("rag.workflow", attributes=workflow):
    client.embeddings.create(model=s.EMBEDDING_MODEL, input=s.QUESTION)
    with tracer.start_as_current_span(
        "retrieve.task",
        attributes={
            "traceloop.span.kind": "task",
            "traceloop.entity.name": "retrieve",
            "traceloop.entity.input": json.dumps({"query": s.QUESTION}),
            "traceloop.entity.output": "[]",
        },
    ):
        pass
    client.chat.completions.create(
        model=s.CHAT_MODEL, messages=[{"role": "user", "content": s.QUESTION}], temperature=0
    )
tracer_provider.shutdown()
metrics_exported = meter_provider.force_flush()
meter_provider.shutdown()
print(json.dumps({"ok": True, "metrics_exported": metrics_exported}))
