"""Settings precedence, as the OTLP exporters do it: explicit argument -> ``TRACELOCK_*`` -> ``OTEL_*`` ->
the default. ``tracelock.env`` names every variable once."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

from tracelock.processors.setup import _otlp_exporter

_PROTOCOL_VARS = ("TRACELOCK_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")


@pytest.fixture(autouse=True)
def _clean_protocol_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _PROTOCOL_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("argument", "env", "expected"),
    [
        ("http/protobuf", {"TRACELOCK_PROTOCOL": "grpc"}, HttpExporter),  # the argument wins
        ("grpc", {"TRACELOCK_PROTOCOL": "http/protobuf"}, GrpcExporter),
        (None, {"TRACELOCK_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, HttpExporter),
        (None, {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}, HttpExporter),
        (None, {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, HttpExporter),
        (
            None,
            {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"},
            GrpcExporter,
        ),
        (None, {}, GrpcExporter),
    ],
)
def test_protocol_precedence(
    monkeypatch: pytest.MonkeyPatch, argument: str | None, env: dict[str, str], expected: type
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    exporter = _otlp_exporter("http://127.0.0.1:1", argument, None)  # type: ignore[arg-type]
    assert isinstance(exporter, expected)
    exporter.shutdown()
