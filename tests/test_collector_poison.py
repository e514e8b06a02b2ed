"""What the collector acknowledges is exactly what it stores (issue 14, items 1 and 2).

Requests that upb accepts but ClickHouse's Protobuf reader would refuse (a known field sent with
another wire type) or read differently (a singular field sent twice: upb keeps the last value,
ClickHouse stored ''). Each is either refused before the acknowledgement or stored span for span with
the ids Python checked; either way the writer keeps writing what comes after it. Checked failing on
main a11d664: the writer wedged on the first case and every later span stayed unwritten.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from collector_support import CollectorProcess, query, run_cli, started_collector, write_config
from otlp_wire import BYTES, VARINT, hostile, request_of_span_bytes, span
from test_collector_bad_input import PROTOBUF, make_request

from tracelock.collector.wal import WriteAheadLog


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorProcess]:
    with started_collector(tmp_path_factory.mktemp("poison")) as process:
        yield process


def _post(collector: CollectorProcess, body: bytes) -> int:
    return httpx.post(collector.http + "/v1/traces", content=body, headers=PROTOBUF, timeout=30).status_code


def _stored(collector: CollectorProcess, service: str) -> list[dict[str, str]]:
    return query(
        collector.data_dir,
        f"SELECT TraceId, SpanId, SpanName FROM otel_traces WHERE ServiceName = '{service}' ORDER BY SpanId",
    )


def _wait_stored(collector: CollectorProcess, service: str, n: int, timeout: float = 30.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    rows: list[dict[str, str]] = []
    while time.monotonic() < deadline:
        rows = _stored(collector, service)
        if len(rows) >= n:
            return rows
        time.sleep(0.5)
    raise AssertionError(f"{service}: {len(rows)} of {n} acknowledged spans stored after {timeout}s")


def _bool_five() -> bytes:
    any_value = hostile(bool_value=(2, VARINT, 5))  # AnyValue.bool_value = 2, a varint of 5
    key_value = hostile(key=(1, BYTES, b"flag"), value=(2, BYTES, any_value))
    return hostile(attributes=(9, BYTES, [key_value]))  # Span.attributes = 9


WRONG_WIRE_TYPES = {
    "start_time_as_varint": hostile(start_time_unix_nano=(7, VARINT, 1)),
    "trace_id_as_varint": hostile(trace_id=(1, VARINT, 7)),
    "bool_value_5": _bool_five(),
}


@pytest.mark.parametrize("case", sorted(WRONG_WIRE_TYPES))
def test_a_field_of_another_wire_type_never_wedges_the_writer(collector: CollectorProcess, case: str) -> None:
    trace_id, span_id = os.urandom(16), os.urandom(8)
    body = request_of_span_bytes([span(trace_id, span_id) + WRONG_WIRE_TYPES[case]], f"poison-{case}")
    status = _post(collector, body)
    assert status in (200, 400), status
    assert _post(collector, make_request(f"after-{case}", 3)) == 200
    _wait_stored(collector, f"after-{case}", 3)
    rows = _stored(collector, f"poison-{case}")
    if status == 200:  # acknowledged: stored with the ids Python saw (upb keeps the valid trace_id)
        assert [(r["TraceId"], r["SpanId"]) for r in rows] == [(trace_id.hex(), span_id.hex())]
    else:
        assert rows == []


def test_a_singular_field_sent_twice_is_stored_as_python_read_it(collector: CollectorProcess) -> None:
    first = span(os.urandom(16), os.urandom(8), "first")
    trace_id, span_id = os.urandom(16), os.urandom(8)
    body = request_of_span_bytes([first + span(trace_id, span_id, "second")], "twice")
    assert _post(collector, body) == 200
    (row,) = _wait_stored(collector, "twice", 1)
    assert (row["TraceId"], row["SpanId"], row["SpanName"]) == (trace_id.hex(), span_id.hex(), "second")


def test_a_poison_record_in_the_wal_is_quarantined_and_the_rest_written(tmp_path: Path) -> None:
    """A WAL written by an older collector holds a request ClickHouse refuses: after the restart the
    other records are stored, the bad one is in the dead-letter directory (listed, shown, dropped),
    SIGTERM reports drained and the next start replays nothing. Checked failing on main a11d664."""
    wal = WriteAheadLog(tmp_path / "data" / "collector" / "wal", fsync=False)
    wal.open()
    bad_trace, bad_span = os.urandom(16), os.urandom(8)
    poison = request_of_span_bytes([span(bad_trace, bad_span) + WRONG_WIRE_TYPES["bool_value_5"]], "legacy")
    for body in (make_request("wal-good", 2), poison, make_request("wal-good", 3)):
        wal.append(body)
    wal.close(clean=False)
    collector = CollectorProcess(tmp_path, write_config(tmp_path / "collector.yaml"))
    try:
        assert collector.start()["replayed_spans"] == 6
        _wait_stored(collector, "wal-good", 5)
        time.sleep(0.5)
        assert len(_stored(collector, "wal-good")) == 5
        (entry,) = json.loads(
            run_cli(collector.data_dir, "collector", "dead-letter", "list", "-f", "json").stdout
        )
        assert entry["span_count"] == 1 and entry["cause"] == "clickhouse code 436"
        shown = json.loads(
            run_cli(collector.data_dir, "collector", "dead-letter", "show", entry["id"], "-f", "json").stdout
        )
        assert shown["spans"][0]["span_id"] == bad_span.hex()
        metrics = httpx.get(collector.http + "/metrics", timeout=10).text
        assert "tracelock_collector_spans_quarantined_total 1.0" in metrics
        code, final = collector.terminate()
        assert (code, final["drained"]) == (0, True)
        # the fixed collector re-encodes what it receives: a replay through it stores the span
        assert collector.start().get("replayed_spans", 0) == 0
        replayed = run_cli(collector.data_dir, "collector", "dead-letter", "replay", "-f", "json").stdout
        assert json.loads(replayed)["replayed"] == [entry["id"]]
        assert [r["SpanId"] for r in _wait_stored(collector, "legacy", 1)] == [bad_span.hex()]
        assert (
            json.loads(run_cli(collector.data_dir, "collector", "dead-letter", "list", "-f", "json").stdout)
            == []
        )
    finally:
        collector.close()
