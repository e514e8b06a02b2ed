"""OpenTelemetry's own GenAI instrumentation (``opentelemetry-instrumentation-openai-v2``), message
content on: prompts and completions arrive as OTLP *log events* (gRPC LogsService), token usage as
OTLP metrics. Session and user are the OTel registry's ``session.id``/``user.id`` on the app's span;
OTel GenAI has no tier/intent/label convention, so the app stamps tracelock's keys there. The retrieval
is util-genai's ``retrieval`` invocation with no documents."""

from __future__ import annotations

import json
import os

# The current GenAI conventions: content on the span and in one log event per inference.
os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental")
os.environ.setdefault("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_AND_EVENT")

import openai
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.util.genai.handler import TelemetryHandler

from tests.conformance import scenario as s

resource = Resource.create({"service.name": s.service_name()})
grpc = {"endpoint": s.otlp_grpc(), "insecure": True}
tracer_provider = TracerProvider(resource=resource)
tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(**grpc)))
logger_provider = LoggerProvider(resource=resource)
log_exporter = OTLPLogExporter(**grpc)
logger_provider.add_log_record_processor(BatchLogRecordProcessor(log_exporter))
metric_exporter = OTLPMetricExporter(**grpc)
meter_provider = MeterProvider(
    resource=resource, metric_readers=[PeriodicExportingMetricReader(metric_exporter, 60_000)]
)
providers = {
    "tracer_provider": tracer_provider,
    "logger_provider": logger_provider,
    "meter_provider": meter_provider,
}
OpenAIInstrumentor().instrument(**providers)
genai = TelemetryHandler(**providers)
tracer = tracer_provider.get_tracer("conformance-app")

client = openai.OpenAI(base_url=s.openai_base_url(), api_key="sk-conformance")
app_attributes = {
    "session.id": s.SESSION_ID,
    "user.id": s.USER_ID,
    "gen_ai.prompt.name": s.PROMPT_NAME,
    "gen_ai.prompt.version": s.PROMPT_VERSION,
    "tracelock.customer.tier": s.CUSTOMER_TIER,
    "tracelock.intent": s.INTENT,
    f"tracelock.label.{s.LABEL[0]}": s.LABEL[1],
}
with tracer.start_as_current_span("rag", attributes=app_attributes):
    client.embeddings.create(model=s.EMBEDDING_MODEL, input=s.QUESTION)
    with genai.retrieval(data_source_id="kb-refunds") as retrieval:
        retrieval.query_text = s.QUESTION
        retrieval.documents = []
    client.chat.completions.create(
        model=s.CHAT_MODEL, messages=[{"role": "user", "content": s.QUESTION}], temperature=0
    )
tracer_provider.shutdown()
logs_flushed = logger_provider.force_flush()
meter_provider.shutdown()
print(json.dumps({"ok": True, "logs_flushed": logs_flushed}))
