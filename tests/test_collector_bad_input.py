"""Bad input to a running collector: each kind is a 400 / INVALID_ARGUMENT naming the problem, counted in
/metrics; the collector keeps serving and what it accepted before is still there."""

from __future__ import annotations

import gzip
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

sys.path.insert(0, str(Path(__file__).parent))
from collector_support import CollectorProcess, query, started_collector

PROTOBUF = {"content-type": "application/x-protobuf"}
EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def make_request(
    service: str, n: int = 3, trace_id: bytes | None = None, span_id: bytes | None = None
) -> bytes:
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.add(key="service.name").value.string_value = service
    spans = rs.scope_spans.add().spans
    for i in range(n):
        span = spans.add(name=f"s{i}", start_time_unix_nano=1_700_000_000_000_000_000 + i)
        span.trace_id = trace_id if trace_id is not None else os.urandom(16)
        span.span_id = span_id if span_id is not None else os.urandom(8)
    return request.SerializeToString()


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorProcess]:
    with started_collector(tmp_path_factory.mktemp("bad")) as process:
        yield process


def _traces(collector: CollectorProcess) -> str:
    return collector.http + "/v1/traces"


BIG = os.urandom(2 << 20)


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (b"\xff\xff\xff garbage", PROTOBUF, "malformed protobuf ExportTraceServiceRequest"),
        (b'{"resourceSpans": [', {"content-type": "application/json"}, "malformed JSON"),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}',
            {"content-type": "application/json"},
            "resourceSpans[0].scopeSpans[0].spans[0].traceId: 'zz' is not hex",
        ),
        (
            make_request("bad", trace_id=b"\x01" * 15),
            PROTOBUF,
            "resource_spans[0].scope_spans[0].spans[0].trace_id: 15 bytes, expected 16",
        ),
        (
            make_request("bad", span_id=b"\x01" * 4),
            PROTOBUF,
            "resource_spans[0].scope_spans[0].spans[0].span_id: 4 bytes, expected 8",
        ),
        (BIG, PROTOBUF, "exceeds the limit of 1048576 bytes"),
        (
            gzip.compress(b"\0" * (3 << 20)),
            {**PROTOBUF, "content-encoding": "gzip"},
            "decompressed body exceeds the limit of 1048576 bytes",
        ),
        (
            gzip.compress(make_request("bad"))[:-12],
            {**PROTOBUF, "content-encoding": "gzip"},
            "truncated gzip body",
        ),
        (
            b'{"resourceSpans": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
            {"content-type": "application/json"},
            "malformed JSON: nested deeper than",
        ),
        (b"hello", {"content-type": "text/plain"}, "unsupported Content-Type 'text/plain'"),
        (b"hello", {**PROTOBUF, "content-encoding": "br"}, "unsupported Content-Encoding 'br'"),
    ],
    ids=[
        "protobuf",
        "json",
        "json-hex",
        "trace-id-len",
        "span-id-len",
        "too-large",
        "gzip-bomb",
        "truncated-gzip",
        "json-10000-deep",
        "content-type",
        "encoding",
    ],
)
def test_bad_http_input_is_400_naming_the_problem(
    collector: CollectorProcess, body: bytes, headers: dict[str, str], message: str
) -> None:
    response = httpx.post(_traces(collector), content=body, headers=headers, timeout=30)
    assert response.status_code == (413 if "exceeds the limit" in message else 400)  # 413: over a size limit
    if response.headers["content-type"].startswith("application/x-protobuf"):
        status = status_pb2.Status.FromString(response.content)
        assert status.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
        text = status.message
    else:
        text = response.json()["message"]
    assert message in text


def test_bad_grpc_input_is_invalid_argument(collector: CollectorProcess) -> None:
    with grpc.insecure_channel(collector.grpc) as channel:
        export = channel.unary_unary(EXPORT)
        for body, message in [
            (b"\xff\xff\xff garbage", "malformed protobuf"),
            (make_request("bad", trace_id=b"\x02" * 8), "trace_id: 8 bytes, expected 16"),
        ]:
            with pytest.raises(grpc.RpcError) as info:
                export(body, timeout=10)
            assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
            assert message in info.value.details()
        assert export(make_request("grpc-good", 2), timeout=10) == b""


def test_collector_keeps_serving_and_counts_bad_requests(collector: CollectorProcess) -> None:
    ok = httpx.post(_traces(collector), content=make_request("after-bad", 5), headers=PROTOBUF)
    assert ok.status_code == 200
    gz = httpx.post(
        _traces(collector),
        content=gzip.compress(make_request("after-bad", 5)),
        headers={**PROTOBUF, "content-encoding": "gzip"},
    )
    assert gz.status_code == 200
    for _ in range(50):
        rows = query(
            collector.data_dir, "SELECT ServiceName, count() AS n FROM otel_traces GROUP BY ServiceName"
        )
        counts = {r["ServiceName"]: r["n"] for r in rows}
        if counts.get("after-bad") == 10 and counts.get("grpc-good") == 2:
            break
    assert counts == {"after-bad": 10, "grpc-good": 2}  # nothing from the bad requests
    metrics = httpx.get(collector.http + "/metrics").text
    for reason in (
        "malformed_protobuf",
        "malformed_json",
        "bad_id_length",
        "too_large",
        "bad_compression",
        "bad_content_type",
    ):
        assert f'tracelock_collector_bad_requests_total{{reason="{reason}",transport="http"}}' in metrics, (
            reason
        )
    assert 'tracelock_collector_bad_requests_total{reason="bad_id_length",transport="grpc"} 1.0' in metrics
    assert "tracelock_collector_spans_dropped_total 0.0" in metrics


def _with_zero_id_span(service: str) -> bytes:
    request = ExportTraceServiceRequest.FromString(make_request(service, 3))
    request.resource_spans[0].scope_spans[0].spans[1].trace_id = bytes(16)
    return request.SerializeToString()


def test_all_zero_ids_are_a_partial_success(collector: CollectorProcess) -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

    response = httpx.post(_traces(collector), content=_with_zero_id_span("partial"), headers=PROTOBUF)
    assert response.status_code == 200
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_spans == 1
    assert "all-zero trace_id or span_id" in answer.partial_success.error_message
    as_json = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {"traceId": "0" * 32, "spanId": "1" * 16, "name": "zero"},
                            {
                                "traceId": "2" * 32,
                                "spanId": "3" * 16,
                                "name": "ok",
                                "startTimeUnixNano": "1700000000000000000",
                            },
                        ]
                    }
                ]
            }
        ]
    }
    response = httpx.post(_traces(collector), json=as_json)
    assert response.json() == {
        "partialSuccess": {
            "rejectedSpans": "1",
            "errorMessage": "1 span(s) rejected: all-zero trace_id or span_id",
        }
    }
    with grpc.insecure_channel(collector.grpc) as channel:
        raw = channel.unary_unary(EXPORT)(_with_zero_id_span("partial"), timeout=10)
    assert ExportTraceServiceResponse.FromString(raw).partial_success.rejected_spans == 1
    for _ in range(50):
        rows = query(collector.data_dir, "SELECT count() AS n FROM otel_traces WHERE ServiceName = 'partial'")
        if rows[0]["n"] == 4:
            break
    assert rows[0]["n"] == 4  # 2 + 2 accepted spans, the zero-id ones dropped
