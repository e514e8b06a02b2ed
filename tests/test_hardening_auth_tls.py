"""Bearer-token auth and TLS/mTLS from ``tracelock.collector.security``, on real servers over loopback.

A real grpcio server (sync and aio) and a real uvicorn/starlette app, each answering the OTLP trace export,
are called by the real OTel SDK exporters configured with credentials and headers.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
import uvicorn
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tracelock.collector.security import (
    AUTH_FAILURES,
    AuthConfig,
    BearerAuthMiddleware,
    BearerTokens,
    GrpcAioBearerAuthInterceptor,
    GrpcBearerAuthInterceptor,
    TLSConfig,
    grpc_server_credentials,
    uvicorn_ssl_options,
)
from tracelock.collector.security.devcerts import DevCertificates, make_dev_certificates
from tracelock.errors import ConfigError

TOKEN = "s3cret-token-A"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> DevCertificates:
    return make_dev_certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> BearerTokens:
    path = tmp_path_factory.mktemp("tokens") / "tokens"
    path.write_text(f"# collector tokens\n{TOKEN}\n\nsecond-token\n")
    return BearerTokens.from_config(AuthConfig(tokens_file=path))


def _spans(n: int = 3) -> list[ReadableSpan]:
    sink = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(sink))
    tracer = provider.get_tracer("hardening")
    for i in range(n):
        with tracer.start_as_current_span(f"span-{i}"):
            pass
    return list(sink.get_finished_spans())


def _failures(endpoint: str, reason: str) -> float:
    return AUTH_FAILURES.labels(endpoint, reason)._value.get()


# --- token sources -------------------------------------------------------------------------------


def test_tokens_from_file_and_env_compare_only_exact_bearer_values(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text("# comment\nfile-token\n")
    config = AuthConfig(tokens_file=path, tokens_env="MY_TOKENS")
    tokens = BearerTokens.from_config(config, environ={"MY_TOKENS": "env-a, env-b"})
    assert len(tokens) == 3
    assert tokens.check("Bearer file-token") is None
    assert tokens.check(b"bearer env-b") is None
    assert tokens.check(None) == "missing"
    assert tokens.check("") == "missing"
    assert tokens.check("Bearer file-toke") == "invalid"
    assert tokens.check("Bearer file-token-and-more") == "invalid"
    assert tokens.check("Basic file-token") == "invalid"
    assert tokens.check("Bearer ") == "invalid"
    assert tokens.check("Bearer # comment") == "invalid"


def test_token_sources_that_cannot_work_are_refused_with_the_field_named(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="names no token source"):
        AuthConfig()
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        AuthConfig(tokens_env="X", token="typo")
    with pytest.raises(ConfigError, match=r"auth.tokens_env: environment variable NOPE is not set"):
        BearerTokens.from_config(AuthConfig(tokens_env="NOPE"), environ={})
    # a tokens file that cannot be read, or holds no token, is refused when the config is validated
    with pytest.raises(ValidationError, match=r"tokens_file\n.*cannot read"):
        AuthConfig(tokens_file=tmp_path / "absent")
    empty = tmp_path / "empty"
    empty.write_text("# nothing yet\n")
    with pytest.raises(ValidationError, match=r"tokens_file\n.*holds no token"):
        AuthConfig(tokens_file=empty)
    with pytest.raises(ConfigError, match="no bearer tokens configured"):
        BearerTokens.from_config(AuthConfig(tokens_env="EMPTY"), environ={"EMPTY": " , "})


def test_tls_config_names_a_missing_file(certs: DevCertificates, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"client_ca_file .* does not exist"):
        TLSConfig(cert_file=certs.server_cert, key_file=certs.server_key, client_ca_file=tmp_path / "ca.pem")
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        TLSConfig(cert_file=certs.server_cert, key_file=certs.server_key, ca_file=certs.ca_cert)
    assert TLSConfig(cert_file=certs.server_cert, key_file=certs.server_key).mutual is False


# --- OTLP/gRPC -----------------------------------------------------------------------------------


class _TraceSink(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.spans = 0

    def Export(self, request, context):
        self.spans += sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
        return trace_service_pb2.ExportTraceServiceResponse()


@pytest.fixture(scope="module")
def grpc_mtls_server(certs: DevCertificates, tokens: BearerTokens) -> Iterator[tuple[int, _TraceSink]]:
    sink = _TraceSink()
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=2), interceptors=[GrpcBearerAuthInterceptor(tokens)]
    )
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(sink, server)
    tls = TLSConfig(cert_file=certs.server_cert, key_file=certs.server_key, client_ca_file=certs.ca_cert)
    port = server.add_secure_port("127.0.0.1:0", grpc_server_credentials(tls))
    server.start()
    yield port, sink
    server.stop(None)


def _grpc_exporter(
    port: int, certs: DevCertificates, *, token: str | None, client: str = "client"
) -> GrpcExporter:
    key = (certs.client_key if client == "client" else certs.other_client_key).read_bytes()
    chain = (certs.client_cert if client == "client" else certs.other_client_cert).read_bytes()
    credentials = grpc.ssl_channel_credentials(
        certs.ca_cert.read_bytes(), key if client else None, chain if client else None
    )
    if client == "":
        credentials = grpc.ssl_channel_credentials(certs.ca_cert.read_bytes())
    headers = {"authorization": f"Bearer {token}"} if token else None
    return GrpcExporter(endpoint=f"localhost:{port}", credentials=credentials, headers=headers, timeout=3)


def test_grpc_mtls_with_token_is_accepted(grpc_mtls_server, certs: DevCertificates) -> None:
    port, sink = grpc_mtls_server
    before = sink.spans
    exporter = _grpc_exporter(port, certs, token=TOKEN)
    assert exporter.export(_spans(3)) is SpanExportResult.SUCCESS
    exporter.shutdown()
    assert sink.spans == before + 3


@pytest.mark.parametrize(("token", "reason"), [(None, "missing"), ("wrong-token", "invalid")])
def test_grpc_without_a_valid_token_is_unauthenticated(grpc_mtls_server, certs, token, reason) -> None:
    port, sink = grpc_mtls_server
    before, failures = sink.spans, _failures("otlp_grpc", reason)
    exporter = _grpc_exporter(port, certs, token=token)
    assert exporter.export(_spans(2)) is SpanExportResult.FAILURE
    exporter.shutdown()
    assert sink.spans == before
    assert _failures("otlp_grpc", reason) == failures + 1


@pytest.mark.parametrize("client", ["", "stranger"])
def test_grpc_mtls_refuses_clients_without_a_certificate_from_our_ca(grpc_mtls_server, certs, client) -> None:
    port, sink = grpc_mtls_server
    before = sink.spans
    exporter = _grpc_exporter(port, certs, token=TOKEN, client=client)
    assert exporter.export(_spans(1)) is SpanExportResult.FAILURE
    exporter.shutdown()
    assert sink.spans == before


def test_grpc_aio_interceptor_checks_tokens(certs: DevCertificates, tokens: BearerTokens) -> None:
    sink = _TraceSink()

    def export_twice(port: int) -> tuple[SpanExportResult, SpanExportResult]:
        credentials = grpc.ssl_channel_credentials(certs.ca_cert.read_bytes())
        results = []
        for token in (TOKEN, "nope"):
            exporter = GrpcExporter(
                endpoint=f"localhost:{port}",
                credentials=credentials,
                headers={"authorization": f"Bearer {token}"},
            )
            results.append(exporter.export(_spans(2)))
            exporter.shutdown()
        return results[0], results[1]

    async def serve_and_call() -> tuple[SpanExportResult, SpanExportResult]:
        server = grpc.aio.server(
            interceptors=[GrpcAioBearerAuthInterceptor(tokens, endpoint="otlp_grpc_aio")]
        )
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(sink, server)
        tls = TLSConfig(cert_file=certs.server_cert, key_file=certs.server_key)
        port = server.add_secure_port("127.0.0.1:0", grpc_server_credentials(tls))
        await server.start()
        try:
            return await asyncio.get_running_loop().run_in_executor(None, export_twice, port)
        finally:
            await server.stop(None)

    good, bad = asyncio.run(serve_and_call())
    assert good is SpanExportResult.SUCCESS
    assert bad is SpanExportResult.FAILURE
    assert sink.spans == 2
    assert _failures("otlp_grpc_aio", "invalid") >= 1


# --- OTLP/HTTP (uvicorn + starlette) -------------------------------------------------------------


def _http_app(tokens: BearerTokens) -> tuple[object, list[int]]:
    received: list[int] = []

    async def traces(request: Request) -> Response:
        message = trace_service_pb2.ExportTraceServiceRequest.FromString(await request.body())
        received.append(sum(len(ss.spans) for rs in message.resource_spans for ss in rs.scope_spans))
        body = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
        return Response(body, media_type="application/x-protobuf")

    async def healthz(_request: Request) -> Response:
        return Response("ok")

    app = Starlette(routes=[Route("/v1/traces", traces, methods=["POST"]), Route("/healthz", healthz)])
    return BearerAuthMiddleware(app, tokens), received


@pytest.fixture(scope="module")
def https_mtls_server(certs: DevCertificates, tokens: BearerTokens) -> Iterator[tuple[int, list[int]]]:
    app, received = _http_app(tokens)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    tls = TLSConfig(cert_file=certs.server_cert, key_file=certs.server_key, client_ca_file=certs.ca_cert)
    config = uvicorn.Config(app, log_level="warning", lifespan="off", **uvicorn_ssl_options(tls))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        threading.Event().wait(0.05)
    yield sock.getsockname()[1], received
    server.should_exit = True
    thread.join(10)


@pytest.fixture(autouse=True)
def _no_ca_bundle_override(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override the exporter's ``certificate_file``."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def _http_exporter(
    port: int, certs: DevCertificates, *, token: str | None, client: str = "client"
) -> HttpExporter:
    cert = {"client": certs.client_cert, "stranger": certs.other_client_cert}.get(client)
    key = {"client": certs.client_key, "stranger": certs.other_client_key}.get(client)
    return HttpExporter(
        endpoint=f"https://localhost:{port}/v1/traces",
        certificate_file=str(certs.ca_cert),
        client_certificate_file=str(cert) if cert else None,
        client_key_file=str(key) if key else None,
        headers={"authorization": f"Bearer {token}"} if token else None,
        timeout=3,
    )


def test_http_mtls_with_token_is_accepted(https_mtls_server, certs: DevCertificates) -> None:
    port, received = https_mtls_server
    exporter = _http_exporter(port, certs, token=TOKEN)
    assert exporter.export(_spans(4)) is SpanExportResult.SUCCESS
    assert received[-1] == 4


@pytest.mark.parametrize(("token", "reason"), [(None, "missing"), ("wrong-token", "invalid")])
def test_http_without_a_valid_token_gets_401(https_mtls_server, certs, token, reason) -> None:
    import ssl

    import httpx

    port, received = https_mtls_server
    count, failures = len(received), _failures("otlp_http", reason)
    assert _http_exporter(port, certs, token=token).export(_spans(1)) is SpanExportResult.FAILURE
    assert len(received) == count
    assert _failures("otlp_http", reason) == failures + 1
    context = ssl.create_default_context(cafile=str(certs.ca_cert))
    context.load_cert_chain(str(certs.client_cert), str(certs.client_key))
    with httpx.Client(verify=context) as client:
        response = client.post(f"https://localhost:{port}/v1/traces", content=b"\x00")
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "bearer token missing" in response.json()["error"]
        assert client.get(f"https://localhost:{port}/healthz").status_code == 200  # exempt


@pytest.mark.parametrize("client", ["", "stranger"])
def test_http_mtls_refuses_clients_without_a_certificate_from_our_ca(
    https_mtls_server, certs, client
) -> None:
    port, received = https_mtls_server
    count = len(received)
    assert (
        _http_exporter(port, certs, token=TOKEN, client=client).export(_spans(1)) is SpanExportResult.FAILURE
    )
    assert len(received) == count
