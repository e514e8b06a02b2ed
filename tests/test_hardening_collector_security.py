"""Auth and mTLS on a real collector subprocess, configured from YAML, called by the real OTel SDK exporters.

Both receivers run mTLS with bearer tokens; feedback (on the HTTP receiver) needs the token too, the health
check does not. Only the exports that were accepted end up stored.
"""

from __future__ import annotations

import ssl
import sys
from pathlib import Path

import grpc
import httpx
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tracelock.collector.security.devcerts import make_dev_certificates

sys.path.insert(0, str(Path(__file__).parent / "soak"))
from crash_harness import collector_process, stored_span_counts

TOKEN = "collector-token-7f3a"


def _spans(n: int):
    sink = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "secured"}))
    provider.add_span_processor(SimpleSpanProcessor(sink))
    for i in range(n):
        with provider.get_tracer("t").start_as_current_span(f"s{i}"):
            pass
    return list(sink.get_finished_spans())


@pytest.mark.timeout(180)
def test_collector_with_mtls_and_tokens_on_both_receivers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)  # requests lets it override certificate_file
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    certs = make_dev_certificates(tmp_path / "certs")
    tokens = tmp_path / "tokens"
    tokens.write_text(f"# one per line\n{TOKEN}\n")
    security = (
        f", auth: {{tokens_file: '{tokens}'}}, tls: {{cert_file: '{certs.server_cert}', "
        f"key_file: '{certs.server_key}', client_ca_file: '{certs.ca_cert}'}}"
    )
    collector = collector_process(tmp_path, grpc_extra=security, http_extra=security)
    collector.start()
    try:
        client = (certs.client_key.read_bytes(), certs.client_cert.read_bytes())
        mtls = grpc.ssl_channel_credentials(certs.ca_cert.read_bytes(), *client)
        no_cert = grpc.ssl_channel_credentials(certs.ca_cert.read_bytes())
        grpc_endpoint = f"localhost:{collector.grpc_port}"
        bearer = {"authorization": f"Bearer {TOKEN}"}

        def grpc_export(credentials, headers, n: int) -> SpanExportResult:
            exporter = GrpcExporter(
                endpoint=grpc_endpoint, credentials=credentials, headers=headers, timeout=5
            )
            try:
                return exporter.export(_spans(n))
            finally:
                exporter.shutdown()

        assert grpc_export(mtls, bearer, 3) is SpanExportResult.SUCCESS
        assert grpc_export(mtls, {"authorization": "Bearer wrong"}, 5) is SpanExportResult.FAILURE
        assert grpc_export(mtls, None, 5) is SpanExportResult.FAILURE
        assert grpc_export(no_cert, bearer, 5) is SpanExportResult.FAILURE

        url = f"https://localhost:{collector.http_port}"

        def http_export(headers, n: int, with_cert: bool = True) -> SpanExportResult:
            return HttpExporter(
                endpoint=f"{url}/v1/traces",
                certificate_file=str(certs.ca_cert),
                client_certificate_file=str(certs.client_cert) if with_cert else None,
                client_key_file=str(certs.client_key) if with_cert else None,
                headers=headers,
                timeout=5,
            ).export(_spans(n))

        assert http_export(bearer, 4) is SpanExportResult.SUCCESS
        assert http_export({"authorization": "Bearer nope"}, 5) is SpanExportResult.FAILURE
        assert http_export(bearer, 5, with_cert=False) is SpanExportResult.FAILURE

        context = ssl.create_default_context(cafile=str(certs.ca_cert))
        context.load_cert_chain(str(certs.client_cert), str(certs.client_key))
        with httpx.Client(verify=context, timeout=10) as http:
            feedback = {"trace_id": "ab" * 16, "kind": "complaint"}
            refused = http.post(f"{url}/v1/feedback", json=feedback)
            assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
            assert http.post(f"{url}/v1/feedback", json=feedback, headers=bearer).status_code == 200
            assert http.get(f"{url}/healthz").status_code == 200
            assert http.get(f"{url}/metrics").status_code == 401
        with pytest.raises(httpx.HTTPError):  # plain HTTP on the TLS port
            httpx.post(f"http://localhost:{collector.http_port}/v1/traces", content=b"", timeout=5)
    finally:
        assert collector.stop() == 0, collector.log_tail()
    stored = stored_span_counts(collector.data_dir, service="secured")
    assert sum(stored.values()) == 7, stored
