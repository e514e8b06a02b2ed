"""What the collector acknowledges is exactly what it stores (issue 14, items 1 and 2).

Requests that upb accepts but ClickHouse's Protobuf reader would refuse (a known field sent with
another wire type) or read differently (a singular field sent twice: upb keeps the last value,
ClickHouse stored ''). Each is either refused before the acknowledgement or stored span for span with
the ids Python checked; either way the writer keeps writing what comes after it. Checked failing on
main a11d664: the writer wedged on the first case and every later span stayed unwritten.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from collector_support import CollectorProcess, query, started_collector
from otlp_wire import BYTES, VARINT, hostile, request_of_span_bytes, span
from test_collector_bad_input import PROTOBUF, make_request


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
