"""OpenInference: ``openinference-instrumentation-openai`` on the real ``openai`` client, session/user/
metadata/prompt version through ``using_attributes``, a hand-made RETRIEVER span as OpenInference's
manual-instrumentation docs show. Exports OTLP/gRPC."""

from __future__ import annotations

import json

import openai
from openinference.instrumentation import using_attributes
from openinference.instrumentation.openai import OpenAIInstrumentor
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from tests.conformance import scenario as s

provider = TracerProvider(resource=Resource.create({"service.name": s.service_name()}))
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=s.otlp_grpc(), insecure=True)))
OpenAIInstrumentor().instrument(tracer_provider=provider)
tracer = provider.get_tracer("conformance-app")

client = openai.OpenAI(base_url=s.openai_base_url(), api_key="sk-conformance")
metadata = {"customer_tier": s.CUSTOMER_TIER, "intent": s.INTENT, s.LABEL[0]: s.LABEL[1]}
with (
    using_attributes(
        session_id=s.SESSION_ID,
        user_id=s.USER_ID,
        metadata=metadata,
        prompt_template="Answer: {question}",
        prompt_template_version=s.PROMPT_VERSION,
        prompt_template_variables={"question": s.QUESTION},
    ),
    tracer.start_as_current_span(
        "rag", attributes={"openinference.span.kind": "CHAIN", "prompt.id": s.PROMPT_NAME}
    ),
):
    client.embeddings.create(model=s.EMBEDDING_MODEL, input=s.QUESTION)
    with tracer.start_as_current_span(
        "retrieve",
        attributes={"openinference.span.kind": "RETRIEVER", "input.value": s.QUESTION},
    ):
        pass  # nothing found: no retrieval.documents.* attributes
    client.chat.completions.create(
        model=s.CHAT_MODEL, messages=[{"role": "user", "content": s.QUESTION}], temperature=0
    )
provider.shutdown()
print(json.dumps({"ok": True}))
