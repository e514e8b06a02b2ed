"""instrument() exports over real OTLP (gRPC and HTTP) on loopback, with the keys on the wire."""

from __future__ import annotations

import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

import tracelock
from tracelock.errors import ConfigError


class _Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.requests: list[trace_service_pb2.ExportTraceServiceRequest] = []

    def Export(self, request, context):
        self.requests.append(request)
        return trace_service_pb2.ExportTraceServiceResponse()


def _attrs(kvs) -> dict:
    out = {}
    for kv in kvs:
        which = kv.value.WhichOneof("value")
        out[kv.key] = getattr(kv.value, which)
    return out


def _spans(requests) -> list[tuple[dict, str, dict]]:
    """(resource attributes, span name, span attributes) for every exported span."""
    found = []
    for request in requests:
        for rs in request.resource_spans:
            for ss in rs.scope_spans:
                for span in ss.spans:
                    found.append((_attrs(rs.resource.attributes), span.name, _attrs(span.attributes)))
    return found


def _check(exported: list[tuple[dict, str, dict]]) -> None:
    by_name = {name: (res, attrs) for res, name, attrs in exported}
    res, attrs = by_name["chat"]
    assert res["service.name"] == "support-bot"
    assert res["gen_ai.request.model"] == "gpt-4o-mini"
    assert res["gen_ai.prompt.version"] == "refund-v4"
    assert res["tracelock.origin"] == "live"
    assert attrs["tracelock.intent"] == "refund"
    assert attrs["tracelock.cost.usd"] == pytest.approx((1000 * 0.15 + 100 * 0.6) / 1e6)
    _, eval_attrs = by_name["eval chat"]
    assert eval_attrs["tracelock.origin"] == "eval"
    assert eval_attrs["tracelock.eval.case_id"] == "c1"


def _emit(provider) -> None:
    tracer = provider.get_tracer("app")
    with tracelock.labels(intent="refund"):
        tracer.start_span(
            "chat", attributes={"gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 100}
        ).end()
    with tracelock.eval_context(run_id="r1", case_id="c1"):
        tracer.start_span("eval chat").end()
    assert provider.force_flush(10_000)


def _instrument(endpoint: str, protocol: str):
    return tracelock.instrument(
        "support-bot",
        model="gpt-4o-mini",
        prompt_version="refund-v4",
        endpoint=endpoint,
        protocol=protocol,
        prices={"gpt-4o-mini": (0.15, 0.6)},
        set_global=False,
    )


def test_instrument_exports_over_otlp_grpc_on_loopback() -> None:
    receiver = _Receiver()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(receiver, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        provider = _instrument(f"http://127.0.0.1:{port}", "grpc")
        _emit(provider)
        provider.shutdown()
    finally:
        server.stop(None)
    _check(_spans(receiver.requests))


def test_instrument_exports_over_otlp_http_on_loopback() -> None:
    bodies: list[bytes] = []
    paths: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            paths.append(self.path)
            bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
            payload = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        provider = _instrument(f"http://127.0.0.1:{server.server_port}", "http/protobuf")
        _emit(provider)
        provider.shutdown()
    finally:
        server.shutdown()
    assert set(paths) == {"/v1/traces"}
    requests = [trace_service_pb2.ExportTraceServiceRequest.FromString(b) for b in bodies]
    _check(_spans(requests))


def test_unknown_protocol_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="protocol: unknown protocol 'udp'"):
        tracelock.instrument("x", endpoint="http://127.0.0.1:1", protocol="udp", set_global=False)
