"""The pipeline graph: named pipelines, fan-out to several exporters, component ids in start failures,
exporter options checked at load (``--check``), and Settings handed to each component.

The collector runs in-process here (chDB in the test process's shared data directory, one database per
exporter); the spans travel over loopback from the real OpenTelemetry SDK's gRPC exporter.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tracelock.collector.config import parse_config
from tracelock.collector.service import Collector
from tracelock.errors import ConfigError, StoreUnavailable
from tracelock.store import StoreSettings
from tracelock.store.chdb_store import ChdbStore


def _db() -> str:
    return f"g_{uuid.uuid4().hex[:10]}"


def _send(endpoint: str, service: str, spans: int) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(
        SimpleSpanProcessor(GrpcExporter(endpoint=endpoint, insecure=True, timeout=10))
    )
    tracer = provider.get_tracer("graph")
    for i in range(spans):
        with tracer.start_as_current_span(f"span {i}", attributes={"llm.model_name": "gpt-4o"}):
            pass
    provider.shutdown()


def _count(data_dir: Path, database: str, service: str) -> int:
    store = ChdbStore(data_dir, database)
    try:
        return int(
            store.query(
                "SELECT count() FROM otel_traces WHERE ServiceName = {s:String}", {"s": service}
            ).scalar()
        )
    finally:
        store.close()


def _grpc_only(endpoint: str = "127.0.0.1:0") -> dict[str, Any]:
    return {"protocols": {"grpc": {"endpoint": endpoint}}}


@pytest.fixture
def running(chdb_session_dir: Path, tmp_path: Path) -> Iterator[Any]:
    """Start a Collector from a raw config (``running(raw)``); stop every one started at teardown."""
    started: list[Collector] = []

    def start(raw: dict[str, Any], database: str) -> Collector:
        raw.setdefault("service", {})["wal"] = {"directory": str(tmp_path / f"wal-{len(started)}")}
        collector = Collector(parse_config(raw), StoreSettings(data_dir=chdb_session_dir, database=database))
        collector.start()
        started.append(collector)
        return collector

    yield start
    for collector in started:
        collector.stop()


def test_two_pipelines_and_fan_out_to_two_exporters(running: Any, chdb_session_dir: Path) -> None:
    main_db, mirror_db, raw_db = _db(), _db(), _db()
    raw = {
        "receivers": {"otlp": _grpc_only(), "otlp/raw": _grpc_only()},
        "processors": {"normalize": {}, "batch": {"timeout": 0.05}},
        "exporters": {
            "clickhouse": {},
            "clickhouse/mirror": {"database": mirror_db},
            "clickhouse/raw": {"database": raw_db},
        },
        "service": {
            "pipelines": {
                "traces": {
                    "receivers": ["otlp"],
                    "processors": ["normalize", "batch"],
                    "exporters": ["clickhouse", "clickhouse/mirror"],
                },
                "traces/raw": {"receivers": ["otlp/raw"], "exporters": ["clickhouse/raw"]},
            }
        },
    }
    collector = running(raw, main_db)
    addresses = collector.addresses()["receivers"]
    _send(addresses["otlp"]["grpc"], "fan-out", 5)
    _send(addresses["otlp/raw"]["grpc"], "raw", 3)
    assert collector.stop()
    assert _count(chdb_session_dir, main_db, "fan-out") == 5
    assert _count(chdb_session_dir, mirror_db, "fan-out") == 5
    assert _count(chdb_session_dir, raw_db, "raw") == 3
    assert _count(chdb_session_dir, main_db, "raw") == 0
    # an exporter's database is its own: the collector's store (feedback, admin, sampler) stays put
    assert collector.host.store_settings.database == main_db


def test_a_receiver_feeds_every_pipeline_that_lists_it(running: Any, chdb_session_dir: Path) -> None:
    main_db, other_db = _db(), _db()
    raw = {
        "receivers": {"otlp": _grpc_only()},
        "processors": {"batch": {"timeout": 0.05}},
        "exporters": {"clickhouse": {}, "clickhouse/other": {"database": other_db}},
        "service": {
            "pipelines": {
                "traces": {"receivers": ["otlp"], "processors": ["batch"], "exporters": ["clickhouse"]},
                "traces/other": {"receivers": ["otlp"], "exporters": ["clickhouse/other"]},
            }
        },
    }
    collector = running(raw, main_db)
    _send(collector.addresses()["grpc"], "shared-receiver", 4)
    assert collector.stop()
    assert _count(chdb_session_dir, main_db, "shared-receiver") == 4
    assert _count(chdb_session_dir, other_db, "shared-receiver") == 4


BAD_EXPORTERS = {
    "clickhouse": ("{database: 'spans; DROP TABLE x'}", "database: Value error, invalid database"),
    "clickhouse/empty": ("{database: ''}", "database: Value error, invalid database ''"),
    "clickhouse/ftp": ("{endpoint: 'ftp://db:21'}", "endpoint: Value error, unsupported scheme 'ftp'"),
    "clickhouse/nohost": ("{endpoint: 'http://'}", "endpoint: Value error, no host in 'http://'"),
    "clickhouse/port": ("{endpoint: 'http://db:x'}", "endpoint: Value error, invalid port in 'http://db:x'"),
}


def test_check_refuses_bad_exporter_options(tmp_path: Path) -> None:
    path = tmp_path / "exporters.yaml"
    exporters = "".join(f"  {eid}: {body}\n" for eid, (body, _) in BAD_EXPORTERS.items())
    pipeline = f"{{receivers: [otlp], exporters: [{', '.join(BAD_EXPORTERS)}]}}"
    path.write_text(
        f"receivers: {{otlp: {{}}}}\nexporters:\n{exporters}service: {{pipelines: {{traces: {pipeline}}}}}\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "tracelock", "collector", "--check", "--config", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert out.returncode == 2, out.stdout + out.stderr
    stderr = " ".join(out.stderr.split())
    assert f"{len(BAD_EXPORTERS)} problem(s)" in stderr
    for exporter_id, (_, message) in BAD_EXPORTERS.items():
        assert f"exporters::{exporter_id}::{message}" in stderr, out.stderr


def test_an_exporter_shared_by_two_pipelines_is_refused_at_load() -> None:
    raw = {
        "receivers": {"otlp": {}, "otlp/b": {}},
        "exporters": {"clickhouse": {}},
        "service": {
            "pipelines": {
                "traces": {"receivers": ["otlp"], "exporters": ["clickhouse"]},
                "traces/b": {"receivers": ["otlp/b"], "exporters": ["clickhouse"]},
            }
        },
    }
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    assert (
        "service::pipelines::traces/b::exporters::0: 'clickhouse' is already used by pipeline 'traces'"
        in str(info.value)
    )


def test_a_pipeline_that_is_not_traces_is_refused_at_load() -> None:
    raw = {
        "receivers": {"otlp": {}},
        "processors": {"normalize": {}},
        "exporters": {"clickhouse": {}},
        "service": {"pipelines": {"logs": {"receivers": ["otlp"], "exporters": ["clickhouse"]}}},
    }
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    assert (
        "service::pipelines::logs: only traces pipelines are supported ('traces' or 'traces/<name>')"
        in str(info.value)
    )


def test_a_receiver_start_failure_names_its_id_and_kind(running: Any) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        raw = {
            "receivers": {"otlp/busy": _grpc_only(f"127.0.0.1:{port}")},
            "exporters": {"clickhouse": {}},
            "service": {"pipelines": {"traces": {"receivers": ["otlp/busy"], "exporters": ["clickhouse"]}}},
        }
        with pytest.raises(ConfigError) as info:
            running(raw, _db())
    assert str(info.value).startswith(
        "receiver 'otlp/busy' failed to start: receivers::otlp/busy::protocols::grpc"
    )


def test_an_exporter_start_failure_names_its_id_and_kind(running: Any) -> None:
    raw = {
        "receivers": {"otlp": _grpc_only()},
        "exporters": {"clickhouse/down": {"endpoint": "http://127.0.0.1:1"}},
        "service": {"pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["clickhouse/down"]}}},
    }
    with pytest.raises(StoreUnavailable) as info:
        running(raw, _db())
    assert str(info.value).startswith("exporter 'clickhouse/down' failed to start: ")
