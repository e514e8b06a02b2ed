"""The writer's framing of a batch: each request a row of ClickHouse's ``Protobuf`` format, its bytes
unchanged, hostile bytes refused as the data's fault (permanent, so a batch never stalls on them)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from google.protobuf import proto
from google.protobuf.empty_pb2 import Empty
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tracelock.collector.exporterhelper import is_permanent
from tracelock.collector.exporters.clickhouse.spans_sql import INPUT_STRUCTURE, SCHEMA_MESSAGE, SCHEMA_PATH
from tracelock.errors import InputError
from tracelock.store import Store
from tracelock.store.protobuf_insert import write_length_delimited


def _request(spans: int, name: str = "s") -> bytes:
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for i in range(spans):
        scope.spans.add(trace_id=bytes(15) + bytes([i % 256]), span_id=bytes(7) + b"\x01", name=name)
    return request.SerializeToString()


def _unframe(stream: bytes) -> list[bytes]:
    source, out = io.BytesIO(stream), []
    while source.tell() < len(stream):
        out.append(proto.parse_length_prefixed(Empty, source).SerializeToString())
    return out


def test_every_message_is_framed_with_its_bytes_unchanged() -> None:
    unknown_field = b"\xf8\x06\x2a"  # field 111, varint 42: not in the schema, kept as sent
    messages = [_request(3), b"", _request(1) + unknown_field, _request(2000, name="x" * 500)]
    out = io.BytesIO()
    write_length_delimited(messages, out)
    assert _unframe(out.getvalue()) == messages


@given(st.lists(st.binary(max_size=64), max_size=5))
def test_any_bytes_are_framed_unchanged_or_refused_as_the_datas_fault(messages: list[bytes]) -> None:
    out = io.BytesIO()
    try:
        write_length_delimited(messages, out)
    except InputError as exc:
        assert is_permanent(exc)
        assert "of the batch is not a protobuf message" in str(exc)
    else:
        assert _unframe(out.getvalue()) == messages


def test_a_corrupt_message_is_named_by_its_place_in_the_batch() -> None:
    with pytest.raises(InputError, match="message 1 of the batch is not a protobuf message"):
        write_length_delimited([_request(1), b"\x0a\xff"], io.BytesIO())


def test_clickhouse_reads_a_row_per_request_and_every_span(store: Store, tmp_path: Path) -> None:
    messages = [_request(5), b"", _request(7)]
    spool = tmp_path / "batch.bin"
    with open(spool, "wb") as out:
        write_length_delimited(messages, out)
    rows = store.query(
        "SELECT length(arrayFlatten(arrayMap(rs -> arrayMap(s -> s.spans, rs.scope_spans), resource_spans))) "
        f"FROM file({{path:String}}, 'Protobuf', '{INPUT_STRUCTURE}') "
        f"SETTINGS format_schema = '{SCHEMA_PATH}:{SCHEMA_MESSAGE}'",
        {"path": str(spool)},
    ).rows
    assert [n for (n,) in rows] == [5, 0, 7]
