"""``tracelock.instrument(...)``: one call that installs the processors and an OTLP exporter.

Works with or without an application-owned ``TracerProvider``: an existing SDK provider keeps its
Resource and processors and gets tracelock's added (version keys then go on each span, since its
Resource is fixed); otherwise a provider is created with the version keys on its Resource.

Precedence, as in the OTLP exporters (:mod:`tracelock.env`): ``endpoint=`` -> ``TRACELOCK_ENDPOINT`` ->
the exporter's own ``OTEL_EXPORTER_OTLP_*`` variables -> its default (``localhost:4317`` for gRPC,
``localhost:4318/v1/traces`` for HTTP); ``protocol=`` -> ``TRACELOCK_PROTOCOL`` ->
``OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`` -> ``OTEL_EXPORTER_OTLP_PROTOCOL`` -> ``grpc``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from opentelemetry import trace
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter

from tracelock import env
from tracelock.errors import ConfigError
from tracelock.processors.combined import TracelockProcessor
from tracelock.processors.problems import PROBLEMS
from tracelock.processors.prompt import prompt_hash as hash_prompt_file
from tracelock.processors.shared_keys import SharedKeysProcessor, shared_keys_resource, version_keys
from tracelock.processors.signals import PriceTable, SignalsProcessor

__all__ = ["instrument"]

_MARK = "_tracelock_processors"


def _otlp_exporter(
    endpoint: str | None, protocol: str | None, headers: Mapping[str, str] | None
) -> SpanExporter:
    endpoint = env.setting(endpoint or None, env.ENDPOINT)
    protocol = env.setting(
        protocol, env.PROTOCOL, env.OTEL_TRACES_PROTOCOL, env.OTEL_PROTOCOL, default="grpc"
    )
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        insecure = endpoint.startswith("http://") if endpoint else None
        return GrpcExporter(endpoint=endpoint, headers=dict(headers) if headers else None, insecure=insecure)
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

        if endpoint and not endpoint.rstrip("/").endswith("/v1/traces"):
            endpoint = endpoint.rstrip("/") + "/v1/traces"
        return HttpExporter(endpoint=endpoint, headers=dict(headers) if headers else None)
    raise ConfigError(f"unknown protocol {protocol!r}; use 'grpc' or 'http/protobuf'", field="protocol")


def instrument(
    service_name: str | None = None,
    *,
    model: str | None = None,
    provider: str | None = None,
    prompt_name: str | None = None,
    prompt_version: str | None = None,
    retriever_version: str | None = None,
    guardrail_version: str | None = None,
    dataset_id: str | None = None,
    dataset_version: str | None = None,
    judge_model: str | None = None,
    judge_version: str | None = None,
    experiment_bucket: str | None = None,
    prompt_hash: str | None = None,
    prompt_file: str | Path | None = None,
    endpoint: str | None = None,
    protocol: Literal["grpc", "http/protobuf"] | None = None,
    headers: Mapping[str, str] | None = None,
    exporter: SpanExporter | None = None,
    export: bool = True,
    batch: bool = True,
    prices: PriceTable | Mapping[str, Any] | None = None,
    tracer_provider: TracerProvider | None = None,
    resource_attributes: Mapping[str, Any] | None = None,
    trust_baggage: bool = True,
    validate_every: int = 64,
    set_global: bool = True,
) -> TracerProvider:
    """Install tracelock on ``tracer_provider``, on the global SDK provider, or on a new one.

    One keyword per version key (``model`` = ``gen_ai.request.model``, ``prompt_version`` =
    ``gen_ai.prompt.version``, ...). ``exporter`` replaces the OTLP exporter (tests pass an in-memory
    one); ``export=False`` adds no exporter. ``prices`` feeds the cost signal (else ``TRACELOCK_PRICES``).
    ``set_global=False`` neither adopts nor replaces the global provider. Calling it again for the same
    provider does nothing and returns it. ``prompt_file=`` (or ``prompt_hash=``) stamps the prompt
    template's content hash, ``tracelock.prompt.hash``, so spans say which prompt text they ran with (on
    the Resource: no per-span cost). Returns the provider.
    """
    versions = {
        "model": model,
        "provider": provider,
        "prompt_name": prompt_name,
        "prompt_version": prompt_version,
        "retriever_version": retriever_version,
        "guardrail_version": guardrail_version,
        "dataset_id": dataset_id,
        "dataset_version": dataset_version,
        "judge_model": judge_model,
        "judge_version": judge_version,
        "experiment_bucket": experiment_bucket,
        "prompt_hash": prompt_hash or (hash_prompt_file(prompt_file) if prompt_file is not None else None),
    }
    if tracer_provider is None and set_global:
        current = trace.get_tracer_provider()
        if isinstance(current, TracerProvider):
            tracer_provider = current
    if tracer_provider is not None and getattr(tracer_provider, _MARK, None):
        return tracer_provider

    if tracer_provider is None:
        resource = shared_keys_resource(service_name, attributes=resource_attributes, **versions)
        tracer_provider = TracerProvider(resource=resource)
        static: dict[str, Any] = {}
        if set_global:
            trace.set_tracer_provider(tracer_provider)
            if trace.get_tracer_provider() is not tracer_provider:  # another non-SDK provider was set first
                PROBLEMS.report(
                    "ignored",
                    "set_global",
                    "a global TracerProvider that is not the OTel SDK's is already set; "
                    "use the returned provider (or pass tracer_provider=)",
                    span_name="instrument",
                )
    else:  # the app's Resource is fixed: the keys go on each span instead
        wanted = {"tracelock.origin": "live", **version_keys(versions), **(resource_attributes or {})}
        on_resource = tracer_provider.resource.attributes  # e.g. built with shared_keys_resource()
        static = {k: v for k, v in wanted.items() if on_resource.get(k) != v}
        if service_name and tracer_provider.resource.attributes.get("service.name") != service_name:
            PROBLEMS.report(
                "ignored",
                "service.name",
                "the existing TracerProvider's Resource keeps its own service.name",
                span_name="instrument",
            )

    price_table = prices if isinstance(prices, PriceTable) else (PriceTable(prices) if prices else None)
    processors: list[SpanProcessor] = [
        TracelockProcessor(
            SharedKeysProcessor(static, trust_baggage=trust_baggage, validate_every=validate_every),
            SignalsProcessor(price_table if price_table is not None else PriceTable.from_env()),
        )
    ]
    if export:
        sink = exporter if exporter is not None else _otlp_exporter(endpoint, protocol, headers)
        processors.append(BatchSpanProcessor(sink) if batch else SimpleSpanProcessor(sink))
    for processor in processors:
        tracer_provider.add_span_processor(processor)
    setattr(tracer_provider, _MARK, tuple(processors))
    return tracer_provider
