"""OTLP Logs and Metrics next to the traces: gRPC ``LogsService``/``MetricsService`` and ``POST
/v1/logs``/``/v1/metrics`` (protobuf or JSON), hooked into the OTLP servers by two small calls.

Logs go to ``otel_logs`` in the contrib ClickHouse exporter's shape (deploy/sql/0050_otel_logs.sql):
attribute and body values as the exporter writes them (strings as they are, maps and arrays as JSON).
GenAI instrumentation sends prompts, completions and ``gen_ai.evaluation.result`` events this way.

Durability: a logs request is inserted into ``otel_logs`` before it is acknowledged; a failed insert
answers UNAVAILABLE/503 (retryable), so nothing acknowledged exists only in memory. Logs do not go
through the spans' WAL: an insert is on disk when acknowledged, but not fsync'd, and a client that
times out after the insert and resends stores that request twice.

Metrics are accepted per the OTLP spec and dropped, counted in
``tracelock_collector_metric_points_dropped_total`` (nothing in tracelock reads metrics; a 404 or
UNIMPLEMENTED makes SDKs log an error every interval and retry).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from prometheus_client import Counter

from tracelock.collector.host import Host
from tracelock.errors import InputError

__all__ = ["LOGS_SERVICE", "METRICS_SERVICE", "LogsAndMetrics"]

LOGS_SERVICE = "opentelemetry.proto.collector.logs.v1.LogsService"
METRICS_SERVICE = "opentelemetry.proto.collector.metrics.v1.MetricsService"
_LOG_COLUMNS = (
    "Timestamp", "TraceId", "SpanId", "TraceFlags", "SeverityText", "SeverityNumber", "ServiceName", "Body",
    "ResourceSchemaUrl", "ResourceAttributes", "ScopeSchemaUrl", "ScopeName", "ScopeVersion",
    "ScopeAttributes", "LogAttributes", "EventName",
)  # fmt: skip


# --- values as the contrib exporter writes them ------------------------------------------------------------
def _plain(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "kvlist_value":
        return {kv.key: _plain(kv.value) for kv in value.kvlist_value.values}
    if kind == "array_value":
        return [_plain(v) for v in value.array_value.values]
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return getattr(value, kind) if kind else ""


def value_text(value: Any) -> str:
    """An AnyValue as one string: str as is, bool as true/false, maps and arrays as JSON."""
    plain = _plain(value)
    if isinstance(plain, bool):
        return "true" if plain else "false"
    if isinstance(plain, dict | list):
        return json.dumps(plain, separators=(",", ":"), ensure_ascii=False)
    return str(plain)


def _attributes(kvs: Any) -> dict[str, str]:
    return {kv.key: value_text(kv.value) for kv in kvs}


# --- decoding -----------------------------------------------------------------------------------------------
def _parse(message: type[Message], body: bytes, content_type: str) -> Any:
    name = message.__name__
    if content_type == "application/json":
        try:
            doc = json.loads(body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"malformed JSON {name}: {exc}") from exc
        if not isinstance(doc, dict):
            raise InputError(f"malformed OTLP/JSON: the body must be a JSON object ({name})")
        if message is ExportLogsServiceRequest:
            _hex_log_ids(doc)
        try:
            return json_format.ParseDict(doc, message(), ignore_unknown_fields=True)
        except (json_format.ParseError, binascii.Error, ValueError, TypeError) as exc:
            raise InputError(f"malformed OTLP/JSON {name}: {exc}") from exc
    try:
        return message.FromString(body)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise InputError(f"malformed protobuf {name}: {exc}") from exc


def _hex_log_ids(doc: dict[str, Any]) -> None:
    """OTLP/JSON ids are hex; protobuf's JSON mapping wants base64."""
    for i, rl in enumerate(_items(doc, "resourceLogs", "")):
        for j, sl in enumerate(_items(rl, "scopeLogs", f"resourceLogs[{i}]")):
            for k, record in enumerate(_items(sl, "logRecords", f"resourceLogs[{i}].scopeLogs[{j}]")):
                where = f"resourceLogs[{i}].scopeLogs[{j}].logRecords[{k}]"
                for name in ("traceId", "spanId"):
                    value = record.get(name) if isinstance(record, dict) else None
                    if value in (None, ""):
                        continue
                    try:
                        record[name] = base64.b64encode(bytes.fromhex(value)).decode()
                    except (TypeError, ValueError) as exc:
                        raise InputError(f"{where}.{name}: {str(value)[:40]!r} is not hex") from exc


def _items(obj: Any, name: str, where: str) -> list[Any]:
    value = obj.get(name) if isinstance(obj, dict) else None
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(f"{where or 'body'}.{name}: expected a list")
    return value


def _nanos(ns: int) -> datetime:
    return datetime.fromtimestamp(ns // 1_000_000_000, timezone.utc).replace(
        microsecond=(ns // 1000) % 1_000_000
    )


def log_rows(request: Any) -> dict[str, list[Any]]:
    """Columns of ``otel_logs`` for every record; InputError names the first record with a bad id."""
    columns: dict[str, list[Any]] = {name: [] for name in _LOG_COLUMNS}
    for i, rl in enumerate(request.resource_logs):
        resource = _attributes(rl.resource.attributes)
        service = resource.get("service.name", "")
        for j, sl in enumerate(rl.scope_logs):
            scope = _attributes(sl.scope.attributes)
            for k, record in enumerate(sl.log_records):
                where = f"resource_logs[{i}].scope_logs[{j}].log_records[{k}]"
                if len(record.trace_id) not in (0, 16):
                    raise InputError(f"{where}.trace_id: {len(record.trace_id)} bytes, expected 0 or 16")
                if len(record.span_id) not in (0, 8):
                    raise InputError(f"{where}.span_id: {len(record.span_id)} bytes, expected 0 or 8")
                row = (
                    _nanos(record.time_unix_nano or record.observed_time_unix_nano),
                    record.trace_id.hex(),
                    record.span_id.hex(),
                    record.flags & 0xFF,
                    record.severity_text,
                    record.severity_number & 0xFF,
                    service,
                    value_text(record.body),
                    rl.schema_url,
                    resource,
                    sl.schema_url,
                    sl.scope.name,
                    sl.scope.version,
                    scope,
                    _attributes(record.attributes),
                    record.event_name,
                )
                for name, value in zip(_LOG_COLUMNS, row, strict=True):
                    columns[name].append(value)
    return columns


def metric_points(request: Any) -> int:
    points = 0
    for rm in request.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                kind = metric.WhichOneof("data")
                if kind:
                    points += len(getattr(metric, kind).data_points)
    return points


# --- the service, for both transports ---------------------------------------------------------------
class LogsAndMetrics:
    """What both OTLP servers call for logs and metrics (one per collector, built on first use)."""

    def __init__(self, host: Host) -> None:
        self.host = host
        registry = host.metrics.registry
        self.logs_written = Counter(
            "tracelock_collector_log_records_written", "Log records stored in otel_logs.", registry=registry
        )
        self.points_dropped = Counter(
            "tracelock_collector_metric_points_dropped",
            "OTLP metric data points accepted and dropped (tracelock stores no metrics).",
            registry=registry,
        )

    @classmethod
    def of(cls, host: Host) -> LogsAndMetrics:
        existing = getattr(host, "_logs_and_metrics", None)
        if existing is None:
            existing = cls(host)
            host._logs_and_metrics = existing  # type: ignore[attr-defined]
        return existing

    def export_logs(self, body: bytes, content_type: str = "application/x-protobuf") -> Message:
        columns = log_rows(_parse(ExportLogsServiceRequest, body, content_type))
        if columns["Timestamp"]:
            self.host.store.insert("otel_logs", columns)
            self.logs_written.inc(len(columns["Timestamp"]))
        return ExportLogsServiceResponse()

    def export_metrics(self, body: bytes, content_type: str = "application/x-protobuf") -> Message:
        self.points_dropped.inc(metric_points(_parse(ExportMetricsServiceRequest, body, content_type)))
        return ExportMetricsServiceResponse()

    def grpc_handlers(self, abort: Callable[[BaseException, grpc.ServicerContext], Any]) -> list[Any]:
        """Generic handlers for the two services; ``abort`` turns an exception into the OTLP status."""

        def unary(export: Callable[[bytes], Message]) -> Any:
            def handle(body: bytes, context: grpc.ServicerContext) -> bytes:
                try:
                    answer: bytes = export(body).SerializeToString()
                    return answer
                except Exception as exc:
                    abort(exc, context)
                    raise

            return grpc.unary_unary_rpc_method_handler(handle)

        return [
            grpc.method_handlers_generic_handler(LOGS_SERVICE, {"Export": unary(self.export_logs)}),
            grpc.method_handlers_generic_handler(METRICS_SERVICE, {"Export": unary(self.export_metrics)}),
        ]
