"""The ClickHouse-server store's own code (clickhouse-connect calls, error translation, URL parsing)
on every commit, through clickhouse-connect's in-process chDB client (``interface="chdb"``).

``test_store_roundtrip.py`` runs its table round trips on this store too (the ``any_store`` fixture's
``clickhouse-chdb`` case, the errors a user sees included); this file covers what those do not:
the session the store sets up, settings and formatted inserts. What only a real server can do stays
behind ``TRACELOCK_TEST_CLICKHOUSE_URL``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tracelock.collector import AttributeRewrite
from tracelock.collector.exporters.clickhouse.writer import SpanWriter
from tracelock.store import Store, apply_migrations
from tracelock.store.clickhouse_store import ClickHouseStore

sys.path.insert(0, str(Path(__file__).parent))
from conftest import open_test_store


@pytest.fixture
def server_store(chdb_session_dir: Path) -> Iterator[Store]:
    """ClickHouseStore over in-process chDB, on a fresh migrated database."""
    database = f"s_{os.urandom(6).hex()}"
    store = open_test_store("clickhouse-chdb", chdb_session_dir, database)
    try:
        apply_migrations(store)
        yield store
    finally:
        store.command(f"DROP DATABASE IF EXISTS {database}")
        store.close()


def test_it_is_the_server_store(server_store: Store) -> None:
    assert isinstance(server_store, ClickHouseStore)
    assert server_store.query("SELECT currentDatabase()").scalar() == server_store.database
    assert server_store.query("SELECT timezone()").scalar() == "UTC"  # the session setting it sends


def test_formatted_insert_with_settings(server_store: Store) -> None:
    rows = [{"TraceId": f"t{i}", "Kind": "complaint", "Comment": f"it's wrong {i}"} for i in range(3)]
    body = "\n".join(json.dumps(row) for row in rows).encode()
    server_store.insert_formatted(
        "feedback", ["TraceId", "Kind", "Comment"], "JSONEachRow", body, settings={"async_insert": 0}
    )
    found = server_store.query("SELECT TraceId, Comment FROM feedback ORDER BY TraceId")
    assert found.rows == [(r["TraceId"], r["Comment"]) for r in rows]


def test_span_writer_server_path_inserts_and_deduplicates(chdb_session_dir: Path, tmp_path: Path) -> None:
    """The writer's server path (``INSERT ... FROM input()``, the batch as the request body) needs a
    real server: clickhouse-connect's chDB client appends ``command(data=...)`` to the statement as
    text, which ClickHouse's ``input()`` does not read (checked: 0 rows, no error)."""
    store = open_test_store("clickhouse", chdb_session_dir, f"w_{os.urandom(6).hex()}")
    try:
        apply_migrations(store)
        request = ExportTraceServiceRequest()
        spans = request.resource_spans.add().scope_spans.add().spans
        trace_id = os.urandom(16)
        for _ in range(3):
            spans.add(trace_id=trace_id, span_id=os.urandom(8), name="s", start_time_unix_nano=1)
        body = request.SerializeToString()
        writer = SpanWriter(store)
        writer.write([body], AttributeRewrite())
        writer.write([body, body], AttributeRewrite(), dedup_trace_ids=[trace_id.hex()])
        assert store.query("SELECT count() FROM otel_traces").scalar() == 3
    finally:
        store.command(f"DROP DATABASE IF EXISTS {store.database}")
        store.close()
