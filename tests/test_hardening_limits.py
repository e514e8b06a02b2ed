"""Limits: spans per request, attributes per span, value length (truncated and counted), requests in flight.

The concurrency limits run on a real grpcio server and a real uvicorn app whose handler blocks, so the
extra calls are really concurrent.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from concurrent import futures
from pathlib import Path

import grpc
import httpx
import pytest
import uvicorn
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.routing import Route

from tracelock.collector.security import (
    SECURITY_REGISTRY,
    ConcurrencyLimitMiddleware,
    GrpcConcurrencyInterceptor,
    RequestLimits,
    apply_limits,
)
from tracelock.errors import InputError

sys.path.insert(0, str(Path(__file__).parent / "soak"))
from crash_harness import collector_process


def _metric(name: str, **labels: str) -> float:
    return SECURITY_REGISTRY.get_sample_value(name, labels) or 0.0


def _request(spans: int, attributes: int, value: str = "v") -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    ss = request.resource_spans.add().scope_spans.add()
    for i in range(spans):
        span = ss.spans.add(trace_id=b"\x01" * 16, span_id=(i + 1).to_bytes(8, "big"), name="s")
        for a in range(attributes):
            span.attributes.add(key=f"k{a}").value.string_value = value
        span.events.add(name="e").attributes.add(key="long").value.string_value = value
    return request


def test_too_many_spans_is_a_400_naming_both_numbers() -> None:
    with pytest.raises(InputError, match="request has 11 spans, limit is 10: send smaller batches"):
        apply_limits(_request(11, 1), 11, RequestLimits(max_spans_per_request=10))


def test_extra_attributes_are_dropped_and_counted_on_the_span() -> None:
    before = _metric("tracelock_collector_attributes_dropped_total")
    request = _request(3, 7)
    assert apply_limits(request, 3, RequestLimits(max_attributes_per_span=5)) is True
    spans = request.resource_spans[0].scope_spans[0].spans
    assert [len(s.attributes) for s in spans] == [5, 5, 5]
    assert [s.dropped_attributes_count for s in spans] == [2, 2, 2]
    assert [a.key for a in spans[0].attributes] == ["k0", "k1", "k2", "k3", "k4"]
    assert _metric("tracelock_collector_attributes_dropped_total") == before + 6


def test_long_values_are_truncated_not_dropped_and_counted() -> None:
    before = _metric("tracelock_collector_attribute_values_truncated_total")
    request = _request(2, 2, value="x" * 100)
    assert apply_limits(request, 2, RequestLimits(max_attribute_value_chars=16)) is True
    span = request.resource_spans[0].scope_spans[0].spans[0]
    assert [a.value.string_value for a in span.attributes] == ["x" * 16, "x" * 16]
    assert span.events[0].attributes[0].value.string_value == "x" * 16
    assert _metric("tracelock_collector_attribute_values_truncated_total") == before + 6


def test_requests_within_limits_are_untouched() -> None:
    request = _request(5, 3)
    body = request.SerializeToString()
    assert apply_limits(request, 5, RequestLimits()) is False
    assert request.SerializeToString() == body


def test_limits_config_forbids_unknown_keys_and_nonsense() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        RequestLimits(max_span_per_request=1)
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        RequestLimits(max_concurrent_requests=0)


def test_grpc_calls_beyond_the_concurrency_limit_get_resource_exhausted() -> None:
    release = threading.Event()

    def slow(request: bytes, context: grpc.ServicerContext) -> bytes:
        release.wait(10)
        return b""

    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=8), interceptors=[GrpcConcurrencyInterceptor(limit=2)]
    )
    handler = grpc.unary_unary_rpc_method_handler(slow)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("svc", {"Export": handler}),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    before = _metric("tracelock_collector_requests_refused_total", transport="grpc", reason="concurrency")
    try:
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        call = channel.unary_unary("/svc/Export")
        running = [call.future(b"", timeout=10) for _ in range(2)]
        time.sleep(0.5)
        refused = [call.future(b"", timeout=10) for _ in range(3)]
        for future in refused:
            with pytest.raises(grpc.RpcError) as info:
                future.result()
            assert info.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
            assert ("retry-after", "1") in tuple(info.value.trailing_metadata())
        release.set()
        assert [f.result() for f in running] == [b"", b""]
        assert call(b"", timeout=10) == b""  # a slot is free again
    finally:
        release.set()
        server.stop(None)
    assert (
        _metric("tracelock_collector_requests_refused_total", transport="grpc", reason="concurrency")
        == before + 3
    )


def test_http_requests_beyond_the_concurrency_limit_get_503_with_retry_after() -> None:
    release = threading.Event()

    async def slow(_request) -> Response:
        await run_in_threadpool(release.wait, 10)
        return Response("ok")

    app = ConcurrencyLimitMiddleware(
        Starlette(routes=[Route("/v1/traces", slow, methods=["POST"])]), 2, ["/v1/traces"]
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1/traces"
    try:
        with futures.ThreadPoolExecutor(4) as pool:
            running = [pool.submit(httpx.post, url, timeout=10) for _ in range(2)]
            time.sleep(0.5)
            refused = httpx.post(url, timeout=10)
            assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
            assert "too many concurrent" in refused.json()["message"]
            release.set()
            assert [f.result().status_code for f in running] == [200, 200]
    finally:
        release.set()
        server.should_exit = True
        thread.join(10)


READ_LIMITED = """
import json, sys
from pathlib import Path
from tracelock.store.chdb_store import ChdbStore
store = ChdbStore(Path(sys.argv[1]), "tracelock")
rows = store.query(
    "SELECT length(mapKeys(SpanAttributes)), arrayMax(arrayMap(v -> length(v), mapValues(SpanAttributes))) "
    "FROM otel_traces WHERE ServiceName = {s:String}", {"s": "limits"}).rows
print(json.dumps(rows))
"""


@pytest.mark.timeout(120)
def test_limits_on_a_real_collector_truncate_drop_refuse_and_show_in_metrics(tmp_path: Path) -> None:
    limits = (
        ", limits: {max_spans_per_request: 10, max_attributes_per_span: 5, max_attribute_value_chars: 100}"
    )
    collector = collector_process(tmp_path, http_extra=limits)
    collector.start()
    url = f"http://127.0.0.1:{collector.http_port}"
    protobuf = {"content-type": "application/x-protobuf"}
    try:
        too_many = httpx.post(
            f"{url}/v1/traces", content=_request(11, 1).SerializeToString(), headers=protobuf
        )
        assert too_many.status_code == 400
        assert "request has 11 spans, limit is 10" in too_many.content.decode("utf-8", "replace")
        request = _request(3, 8, value="y" * 1000)
        request.resource_spans[0].resource.attributes.add(key="service.name").value.string_value = "limits"
        accepted = httpx.post(f"{url}/v1/traces", content=request.SerializeToString(), headers=protobuf)
        assert accepted.status_code == 200, accepted.text
        metrics = httpx.get(f"{url}/metrics").text
        assert "tracelock_collector_attributes_dropped_total 9.0" in metrics
        assert "tracelock_collector_attribute_values_truncated_total 18.0" in metrics
    finally:
        assert collector.stop() == 0, collector.log_tail()
    out = subprocess.run(
        [sys.executable, "-c", READ_LIMITED, str(collector.data_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    # 5 kept attributes + tracelock.origin stamped by the collector; every value cut to 100 characters
    assert json.loads(out.stdout) == [[6, 100]] * 3
