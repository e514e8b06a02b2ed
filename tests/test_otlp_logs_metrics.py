"""OTLP Logs and Metrics into a real collector subprocess, sent by the real OTel SDK exporters.

Issue 15 (checked failing on main a11d664): OTel GenAI instrumentation's log events got UNIMPLEMENTED on
the gRPC LogsService, and OpenLLMetry's metrics POST got 404. Logs land in ``otel_logs`` (the contrib
exporter's logs table), ``gen_ai.evaluation.result`` log events become ``eval_records``; metrics are
accepted and dropped with a counter (docs/collector.md).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import pytest
from opentelemetry._logs import LogRecord
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricExportResult
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

from tests.collector_support import CollectorProcess, query, started_collector

TRACE_ID = 0x5B8EFFF798038103D269B633813FC60C
SPAN_ID = 0xEEE19B7EC3C1B174
_JSON = "application/json"


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorProcess]:
    with started_collector(tmp_path_factory.mktemp("logs")) as process:
        yield process


class Recording(LogRecordExporter):
    """The real exporter, with what each export returned kept for the test."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.results: list[Any] = []

    def export(self, batch: Sequence[Any]) -> Any:
        result = self.inner.export(batch)
        self.results.append(result)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


def _emit(exporter: Any, service: str, **record: Any) -> Recording:
    recording = Recording(exporter)
    provider = LoggerProvider(resource=Resource.create({"service.name": service}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(recording))
    span = NonRecordingSpan(SpanContext(TRACE_ID, SPAN_ID, False, TraceFlags(1)))
    provider.get_logger("gen-ai-app", "1.2").emit(LogRecord(context=set_span_in_context(span), **record))
    provider.shutdown()
    return recording


def _rows(collector: CollectorProcess, sql: str, want: int = 1) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    while True:
        rows = query(collector.data_dir, sql)
        if len(rows) >= want or time.monotonic() > deadline:
            return rows
        time.sleep(0.3)


def test_grpc_log_events_of_genai_instrumentation_are_stored(collector: CollectorProcess) -> None:
    exporter = GrpcLogExporter(endpoint=collector.grpc, insecure=True)
    sent = _emit(
        exporter,
        "logs-grpc",
        event_name="gen_ai.client.inference.operation.details",
        body={"gen_ai.input.messages": [{"role": "user", "content": "hi"}]},
        attributes={"gen_ai.request.model": "gpt-4o-mini", "gen_ai.operation.name": "chat"},
        severity_text="INFO",
    )
    assert sent.results == [LogRecordExportResult.SUCCESS]
    rows = _rows(collector, "SELECT * FROM otel_logs WHERE ServiceName = 'logs-grpc'")
    assert len(rows) == 1
    row = rows[0]
    assert row["TraceId"] == f"{TRACE_ID:032x}" and row["SpanId"] == f"{SPAN_ID:016x}"
    assert row["EventName"] == "gen_ai.client.inference.operation.details"
    assert row["LogAttributes"]["gen_ai.request.model"] == "gpt-4o-mini"
    assert '"content": "hi"' in row["Body"] or '"content":"hi"' in row["Body"]
    assert (row["ScopeName"], row["ScopeVersion"], row["SeverityText"]) == ("gen-ai-app", "1.2", "INFO")
    assert row["TraceFlags"] == 1


def test_http_protobuf_logs_are_stored(collector: CollectorProcess) -> None:
    exporter = HttpLogExporter(endpoint=f"{collector.http}/v1/logs")
    sent = _emit(exporter, "logs-http", body="plain text body", attributes={"k": 1})
    assert sent.results == [LogRecordExportResult.SUCCESS]
    rows = _rows(collector, "SELECT Body, LogAttributes FROM otel_logs WHERE ServiceName = 'logs-http'")
    assert rows == [{"Body": "plain text body", "LogAttributes": {"k": "1"}}]


def test_json_logs_are_stored_with_hex_ids(collector: CollectorProcess) -> None:
    body = {
        "resourceLogs": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "logs-json"}}]},
                "scopeLogs": [
                    {
                        "logRecords": [
                            {
                                "timeUnixNano": "1700000000000000000",
                                "severityNumber": 9,
                                "body": {"stringValue": "json body"},
                                "traceId": f"{TRACE_ID:032x}",
                                "spanId": f"{SPAN_ID:016x}",
                                "eventName": "e",
                            }
                        ]
                    }
                ],
            }
        ]
    }
    answer = httpx.post(f"{collector.http}/v1/logs", json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    rows = _rows(
        collector, "SELECT TraceId, SeverityNumber, EventName FROM otel_logs WHERE ServiceName = 'logs-json'"
    )
    assert rows == [{"TraceId": f"{TRACE_ID:032x}", "SeverityNumber": 9, "EventName": "e"}]


def test_evaluation_result_log_events_become_eval_records(collector: CollectorProcess) -> None:
    for name, value, label in (("relevance", 0.9, "pass"), ("faithfulness", 0.2, "fail")):
        _emit(
            HttpLogExporter(endpoint=f"{collector.http}/v1/logs"),
            "judge",
            event_name="gen_ai.evaluation.result",
            attributes={
                "gen_ai.evaluation.name": name,
                "gen_ai.evaluation.score.value": value,
                "gen_ai.evaluation.score.label": label,
            },
        )
    rows = _rows(
        collector,
        "SELECT EvalRunId, CaseId, TraceId, Scores, ScoreLabels, Passed, Source FROM eval_records "
        "WHERE Source = 'otlp-log-event' ORDER BY Passed",
        want=2,
    )
    assert [r["Scores"] for r in rows] == [{"faithfulness": 0.2}, {"relevance": 0.9}]
    assert [r["Passed"] for r in rows] == [0, 1]
    assert {(r["EvalRunId"], r["TraceId"]) for r in rows} == {("otel:judge", f"{TRACE_ID:032x}")}
    assert sorted(r["CaseId"] for r in rows) == [f"{SPAN_ID:016x}#faithfulness", f"{SPAN_ID:016x}#relevance"]


def _metrics() -> Any:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], resource=Resource.create({"service.name": "m"}))
    meter = provider.get_meter("openllmetry")
    meter.create_histogram("gen_ai.client.token.usage").record(120, {"gen_ai.token.type": "input"})
    meter.create_counter("calls").add(3)
    data = reader.get_metrics_data()
    provider.shutdown()
    return data


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_metrics_are_accepted_and_dropped_with_a_counter(collector: CollectorProcess, transport: str) -> None:
    exporter = (
        HttpMetricExporter(endpoint=f"{collector.http}/v1/metrics")
        if transport == "http"
        else GrpcMetricExporter(endpoint=collector.grpc, insecure=True)
    )
    assert exporter.export(_metrics()) == MetricExportResult.SUCCESS
    exporter.shutdown()
    text = httpx.get(f"{collector.http}/metrics", timeout=10).text
    dropped = [
        ln for ln in text.splitlines() if ln.startswith("tracelock_collector_metric_points_dropped_total")
    ]
    assert dropped and float(dropped[0].split()[-1]) >= 2, text[-2000:]


# --- hostile input ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "content_type", "needle"),
    [
        (b"\xff\xff\xff", "application/x-protobuf", "malformed protobuf"),
        (b"{not json", "application/json", "malformed JSON"),
        (
            b'{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"traceId": "zz"}]}]}]}',
            "application/json",
            "hex",
        ),
    ],
    ids=["protobuf", "json", "hex-id"],
)
def test_bad_logs_get_a_clear_400(
    collector: CollectorProcess, body: bytes, content_type: str, needle: str
) -> None:
    answer = httpx.post(f"{collector.http}/v1/logs", content=body, headers={"content-type": content_type})
    assert answer.status_code == 400 and needle in answer.text, answer.text


def test_log_record_with_wrong_trace_id_length_is_refused_by_name(collector: CollectorProcess) -> None:
    request = ExportLogsServiceRequest()
    record = request.resource_logs.add().scope_logs.add().log_records.add()
    record.trace_id = b"\x01" * 5
    answer = httpx.post(
        f"{collector.http}/v1/logs",
        content=request.SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
    )
    assert answer.status_code == 400
    assert "log_records[0].trace_id" in answer.text


def test_the_collector_keeps_serving_after_bad_logs(collector: CollectorProcess) -> None:
    httpx.post(
        f"{collector.http}/v1/logs", content=b"\x00" * 100, headers={"content-type": "application/x-protobuf"}
    )
    sent = _emit(HttpLogExporter(endpoint=f"{collector.http}/v1/logs"), "after-bad", body="still here")
    assert sent.results == [LogRecordExportResult.SUCCESS]
