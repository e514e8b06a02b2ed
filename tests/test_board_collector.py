"""The board served by the collector (``service: board:``): same pages over the store the collector owns;
its lock and feedback writes go through that store while OTLP keeps arriving."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tracelock.errors import StoreError
from tracelock.report.rollup import RollupState
from tracelock.store.remote_store import REFRESH_PATH, remote_store_for

sys.path.insert(0, str(Path(__file__).parent))
from board_support import running_board
from collector_support import TRACELOCK, CollectorProcess, query, write_config


def _send_trace(http: str) -> str:
    provider = TracerProvider(resource=Resource.create({"service.name": "refund-assistant"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{http}/v1/traces")))
    with provider.get_tracer("t").start_as_current_span("chat") as span:
        span.set_attribute("gen_ai.input.messages", '[{"role": "user", "content": "refund?"}]')
        span.set_attribute("tracelock.intent", "refund_request")
        trace_id = f"{span.get_span_context().trace_id:032x}"
    provider.shutdown()
    return trace_id


def test_the_collector_serves_the_board_and_its_writes(tmp_path: Path) -> None:
    locks = tmp_path / "locks"
    config = write_config(
        tmp_path / "collector.yaml",
        service_extra=f"  board: {{endpoint: '127.0.0.1:0', locks_dir: '{locks}'}}\n",
    )
    collector = CollectorProcess(tmp_path, config)
    ready = collector.start()
    try:
        board = ready["board"]
        empty = httpx.get(f"{board}/rollouts")
        assert empty.status_code == 200 and "tracelock demo" in empty.text
        trace_id = _send_trace(collector.http)
        deadline = time.monotonic() + 30
        while trace_id not in httpx.get(f"{board}/traces").text:
            assert time.monotonic() < deadline, "the trace never showed on the board"
            time.sleep(0.2)
        page = httpx.get(f"{board}/trace/{trace_id}").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf is not None
        headers = {"x-csrf-token": csrf.group(1)}
        locked = httpx.post(f"{board}/actions/lock", json={"trace_id": trace_id}, headers=headers)
        assert locked.status_code == 200, locked.text
        assert locked.json()["dataset"] == "refund_request" and not locked.json()["mirror_error"]
        assert (locks / "refund_request.yaml").is_file()
        noted = httpx.post(
            f"{board}/actions/feedback", json={"trace_id": trace_id, "kind": "complaint"}, headers=headers
        )
        assert noted.status_code == 200 and noted.json()["accepted"] == 1
        assert "complaint" in httpx.get(f"{board}/trace/{trace_id}").text
    finally:
        code, _ = collector.terminate()
    assert code == 0


def test_a_board_off_loopback_needs_auth(tmp_path: Path) -> None:
    config = write_config(tmp_path / "collector.yaml", service_extra="  board: {endpoint: '0.0.0.0:4320'}\n")
    checked = subprocess.run(
        [*TRACELOCK, "--data-dir", str(tmp_path / "d"), "collector", "--config", str(config), "--check"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert checked.returncode == 2, checked.stderr
    assert "service::board" in checked.stderr and "not loopback" in checked.stderr


def test_tracelock_board_refuses_to_listen_off_loopback_without_tokens(tmp_path: Path) -> None:
    out = subprocess.run(
        [*TRACELOCK, "--data-dir", str(tmp_path / "d"), "board", "--listen", "0.0.0.0:4320"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 2 and "needs bearer tokens" in out.stderr
    bad = subprocess.run(
        [*TRACELOCK, "--data-dir", str(tmp_path / "d"), "board", "--listen", "4320"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and "use HOST:PORT" in bad.stderr


def test_tracelock_board_reads_through_a_running_collector(tmp_path: Path) -> None:
    """While the collector owns the chDB directory, ``tracelock board`` reaches it through the admin
    endpoint (RemoteStore): pages render, a lock is written to the file and mirrored into ``locks``
    through the collector's write API."""
    collector = CollectorProcess(tmp_path, write_config(tmp_path / "collector.yaml"))
    collector.start()
    try:
        with running_board(collector.data_dir, tmp_path / "locks") as base:
            trace_id = _send_trace(collector.http)
            deadline = time.monotonic() + 60
            while trace_id not in httpx.get(f"{base}/traces", timeout=30).text:
                assert time.monotonic() < deadline, "the trace never showed on the board"
                time.sleep(0.5)
            page = httpx.get(f"{base}/trace/{trace_id}", timeout=30).text
            csrf = re.search(r'name="csrf" value="([^"]+)"', page)
            assert csrf is not None
            locked = httpx.post(
                f"{base}/actions/lock",
                json={"trace_id": trace_id},
                headers={"x-csrf-token": csrf.group(1)},
                timeout=30,
            )
            assert locked.status_code == 200, locked.text
            assert locked.json()["mirror_error"] == ""  # the collector's write API takes the mirror
            assert (tmp_path / "locks" / "refund_request.yaml").is_file()
            sql = f"SELECT count() AS n FROM tracelock.locks WHERE SourceTraceId = '{trace_id}'"
            assert [int(row["n"]) for row in query(collector.data_dir, sql)] == [1]
    finally:
        collector.terminate()


def test_a_process_beside_the_collector_asks_it_to_rebuild_the_rollup(tmp_path: Path) -> None:
    """The board (or any reader) beside a running collector cannot run SYSTEM statements through the
    read-only admin endpoint: the collector's write API rebuilds the one refreshable view, and only it."""
    collector = CollectorProcess(tmp_path, write_config(tmp_path / "collector.yaml"))
    collector.start()
    try:
        _send_trace(collector.http)
        store = remote_store_for(collector.data_dir)
        assert store is not None
        deadline = time.monotonic() + 60
        while not query(collector.data_dir, "SELECT count() AS n FROM tracelock.trace_summaries")[0]["n"]:
            assert time.monotonic() < deadline, "the trace was never stored"
            time.sleep(0.2)
        store.refresh_view("trace_rollup")
        while (state := RollupState.read(store)) is None or not state.current:
            assert time.monotonic() < deadline, f"the rollup was not rebuilt: {state}"
            time.sleep(0.2)
        with pytest.raises(StoreError, match="not refreshable here"):
            store.refresh_view("otel_traces")
        admin = store.admin_url
        assert httpx.post(f"{admin}{REFRESH_PATH}/trace_rollup").status_code == 401
        store.close()
    finally:
        collector.terminate()
