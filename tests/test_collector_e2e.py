"""End to end: the real OTel SDK exporters (gRPC and HTTP) and a plain HTTP client send to a collector
running as a subprocess; ``tracelock query`` (through the collector's admin endpoint while it runs,
directly after it stops) finds every span under canonical keys."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

sys.path.insert(0, str(Path(__file__).parent))
from collector_support import CollectorProcess, query, run_cli, started_collector

# (convention, attributes as that instrumentation emits them)
CONVENTIONS = {
    "openinference": {"llm.model_name": "gpt-4o", "llm.token_count.prompt": 120, "input.value": "refund?"},
    "openllmetry": {
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.prompt_tokens": 120,
        "traceloop.association.properties.intent": "refund",
    },
    "langfuse": {
        "langfuse.observation.model.name": "gpt-4o",
        "langfuse.observation.prompt.version": 4,
        "langfuse.trace.metadata.intent": "refund",
    },
}


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorProcess]:
    with started_collector(tmp_path_factory.mktemp("e2e")) as process:
        yield process


def _send(exporter: object, service: str, conventions: dict[str, dict]) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))  # type: ignore[arg-type]
    tracer = provider.get_tracer("e2e")
    for name, attributes in conventions.items():
        with tracer.start_as_current_span(f"chat {name}", attributes={"convention": name, **attributes}):
            pass
    provider.shutdown()


def test_sdk_exporters_spans_are_stored_with_canonical_keys(collector: CollectorProcess) -> None:
    _send(GrpcExporter(endpoint=collector.grpc, insecure=True, timeout=10), "e2e-grpc", CONVENTIONS)
    _send(HttpExporter(endpoint=collector.http + "/v1/traces", timeout=10), "e2e-http", CONVENTIONS)
    _send(
        HttpExporter(endpoint=collector.http + "/api/public/otel/v1/traces", timeout=10),
        "e2e-langfuse-path",
        {"langfuse": CONVENTIONS["langfuse"]},
    )
    httpx.get(collector.ready["admin"] + "/healthz").raise_for_status()
    rows = []
    for _ in range(100):  # the batch processor writes within its 50 ms timeout
        rows = query(
            collector.data_dir,
            "SELECT ServiceName, SpanAttributes['convention'] AS conv, RequestModel, ResponseModel, "
            "InputTokens, PromptVersion, Intent, Origin, SpanAttributes['input.value'] AS input "
            "FROM otel_traces "
            "WHERE ServiceName LIKE 'e2e-%' ORDER BY ServiceName, conv",
        )
        if len(rows) >= 7:
            break
    assert len(rows) == 7, rows
    for row in rows:
        # OpenInference's llm.model_name is the model that answered (issue 15): the response model
        model = row["ResponseModel"] if row["conv"] == "openinference" else row["RequestModel"]
        assert model == "gpt-4o", row
        assert row["Origin"] == "live"
        if row["conv"] in ("openinference", "openllmetry"):
            assert row["InputTokens"] == 120, row
        if row["conv"] == "openinference":
            assert row["input"] == "refund?"  # the source attribute stays (not relabelled as messages)
        if row["conv"] == "langfuse":
            assert row["PromptVersion"] == "4", row
        if row["conv"] in ("openllmetry", "langfuse"):
            assert row["Intent"] == "refund", row
    services = {r["ServiceName"] for r in rows}
    assert services == {"e2e-grpc", "e2e-http", "e2e-langfuse-path"}
    summaries = query(
        collector.data_dir, "SELECT count() AS n FROM trace_summaries_final WHERE ServiceName LIKE 'e2e-%'"
    )
    assert summaries[0]["n"] == 7


def test_plain_http_otlp_json(collector: CollectorProcess) -> None:
    trace_id, span_id = "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174"
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "e2e-json"}}]},
                "scopeSpans": [
                    {
                        "scope": {"name": "curl"},
                        "spans": [
                            {
                                "traceId": trace_id,
                                "spanId": span_id,
                                "parentSpanId": "",
                                "name": "retrieve",
                                "kind": 3,
                                "startTimeUnixNano": "1700000000000000000",
                                "endTimeUnixNano": "1700000000500000000",
                                "attributes": [
                                    {"key": "llm.model_name", "value": {"stringValue": "claude"}},
                                    {"key": "tracelock.retrieval.empty", "value": {"boolValue": True}},
                                    {"key": "tracelock.eval.case_id", "value": {"stringValue": "c-1"}},
                                    {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "7"}},
                                ],
                                "status": {"code": 2, "message": "boom"},
                            }
                        ],
                    }
                ],
            }
        ]
    }
    response = httpx.post(collector.http + "/v1/traces", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    for _ in range(100):
        rows = query(
            collector.data_dir,
            f"SELECT TraceId, SpanId, SpanKind, StatusCode, StatusMessage, ResponseModel, EmptyRetrieval, "
            f"Origin, OutputTokens, Duration FROM otel_traces WHERE TraceId = '{trace_id}'",
        )
        if rows:
            break
    assert rows == [
        {
            "TraceId": trace_id,
            "SpanId": span_id,
            "SpanKind": "Client",
            "StatusCode": "Error",
            "StatusMessage": "boom",
            "ResponseModel": "claude",  # OpenInference's llm.model_name: the model that answered
            "EmptyRetrieval": 1,
            "Origin": "eval",
            "OutputTokens": 7,
            "Duration": 500000000,
        }
    ]


def test_feedback_over_http_and_cli_while_collector_runs(collector: CollectorProcess) -> None:
    known = query(collector.data_dir, "SELECT any(TraceId) AS t FROM otel_traces")[0]["t"]
    response = httpx.post(
        collector.http + "/v1/feedback",
        json={
            "feedback": [
                {"trace_id": known, "kind": "complaint", "comment": "wrong refund amount"},
                {"trace_id": "ab" * 16, "kind": "thumbs_down"},
            ]
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 2
    assert response.json()["unknown_trace_ids"] == ["ab" * 16]
    bad = httpx.post(collector.http + "/v1/feedback", json={"trace_id": "xyz", "kind": "complaint"})
    assert bad.status_code == 400 and "trace_id" in bad.json()["message"]
    out = run_cli(
        collector.data_dir, "feedback", "add", "--trace-id", "cd" * 16, "--kind", "rating", "--value", "2"
    )
    assert "not in otel_traces yet" in out.stdout
    rows = query(collector.data_dir, "SELECT Kind, Source FROM feedback ORDER BY Kind")
    assert [(r["Kind"], r["Source"]) for r in rows] == [
        ("complaint", "api"),
        ("rating", "cli"),
        ("thumbs_down", "api"),
    ]
    metrics = httpx.get(collector.http + "/metrics").text
    assert "tracelock_collector_feedback_unknown_trace_total 2.0" in metrics
    refused = run_cli(collector.data_dir, "query", "INSERT INTO feedback (Kind) VALUES ('x')", check=False)
    assert refused.returncode == 1 and "read-only" in refused.stderr


def test_reports_and_datetimes_go_through_the_admin_endpoint(collector: CollectorProcess) -> None:
    rows = query(collector.data_dir, "SELECT toDateTime64('2023-11-14 22:13:20.25', 3, 'UTC') AS t")
    assert rows[0]["t"].startswith("2023-11-14")  # a DateTime64 survives the admin JSON round trip
    _send(HttpExporter(endpoint=collector.http + "/v1/traces", timeout=10), "e2e-report", CONVENTIONS)
    for _ in range(50):
        if query(collector.data_dir, "SELECT count() AS n FROM otel_traces WHERE ServiceName = 'e2e-report'")[
            0
        ]["n"]:
            break
    report = run_cli(collector.data_dir, "report", "coverage", "--since", "1d")
    assert "Coverage" in report.stdout
