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


def _requests() -> list[bytes]:
    """Two requests of 64 spans (16 traces of 4): text, int, double and array values, an alias to copy,
    resource attributes and span events."""
    bodies = []
    for r in range(2):
        request = ExportTraceServiceRequest()
        rs = request.resource_spans.add()
        rs.resource.attributes.add(key="service.name").value.string_value = f"svc-{r}"
        spans = rs.scope_spans.add().spans
        for i in range(64):
            span = spans.add(
                trace_id=bytes([r + 1, i // 4]) * 8,
                span_id=bytes([r + 1, i]) * 4,
                name=f"span-{i % 4}",
                start_time_unix_nano=1_700_000_000_000_000_000 + i,
                end_time_unix_nano=1_700_000_000_000_001_000 + i,
            )
            span.attributes.add(key="gen_ai.request.model").value.string_value = "gpt-4o"
            span.attributes.add(key="llm.token_count.prompt").value.int_value = 10 + i
            span.attributes.add(key="score").value.double_value = i / 7
            tags = span.attributes.add(key="tags").value.array_value.values
            tags.add().string_value, tags.add().string_value = "a", "b"
            event = span.events.add(name="exception", time_unix_nano=1_700_000_000_000_000_500)
            event.attributes.add(key="exception.type").value.string_value = "ValueError"
        bodies.append(request.SerializeToString())
    return bodies


_ROWS = (
    "SELECT TraceId, SpanId, SpanName, SpanAttributes, ResourceAttributes, `Events.Attributes`, "
    "RequestModel, InputTokens, Origin FROM otel_traces ORDER BY TraceId, SpanId"
)


@pytest.mark.parametrize("kind", ["clickhouse-chdb", "clickhouse"])
def test_span_writer_server_path_stores_what_the_chdb_path_stores(
    kind: str, chdb_session_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server store's span path (a plain INSERT ... FORMAT Protobuf into a Null landing table
    whose materialized view converts) against ChdbStore's (INSERT ... SELECT FROM file()): the same
    rows, the batch token honoured, the summaries folded; in CI through the in-process chDB client."""
    monkeypatch.chdir(tmp_path)  # in-process, the schema cache of format_schema_source lands in the cwd
    rewrite = AttributeRewrite(aliases={"llm.token_count.prompt": "gen_ai.usage.input_tokens"})
    bodies = _requests()
    # the shared directory, its own database: chDB serves one directory per process, and an earlier test
    # file on this worker may still hold it
    reference = open_test_store("chdb", chdb_session_dir, f"r_{os.urandom(6).hex()}")
    try:
        apply_migrations(reference)
        SpanWriter(reference).write(bodies, rewrite, token="batch-1")
        expected = reference.query(_ROWS).rows
    finally:
        reference.close()
    store = open_test_store(kind, chdb_session_dir, f"w_{os.urandom(6).hex()}")
    try:
        apply_migrations(store)
        writer = SpanWriter(store)
        writer.write(bodies, rewrite, token="batch-1")
        writer.write(bodies, rewrite, token="batch-1")  # a retry of the same batch
        assert store.query(_ROWS).rows == expected and len(expected) == 128
        assert store.query("SELECT sum(SpanCount) FROM trace_summaries_final").scalar() == 128
        other = AttributeRewrite(aliases={}, max_value_chars=8)  # another configuration: its own view
        writer.write(bodies[:1], other, token="batch-2")
        assert store.query("SELECT count() FROM otel_traces").scalar() == 192
        landings = store.query(
            "SELECT count() FROM system.tables WHERE database = currentDatabase() "
            "AND name LIKE 'otlp\\_landing\\_%' AND engine = 'Null'"
        ).scalar()
        assert landings == 2
    finally:
        store.command(f"DROP DATABASE IF EXISTS {store.database}")
        store.close()
