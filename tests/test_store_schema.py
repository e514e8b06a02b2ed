"""The schema in deploy/sql: applied in order, exactly once, refused when the store is newer; the
cluster variant is generated from the same files and applies on chDB with its cluster parts stripped."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracelock.errors import SchemaError
from tracelock.store import Store, apply_migrations, load_migrations
from tracelock.store.schema import applied_versions, cluster_statements, split_statements, strip_cluster

TABLES = {"otel_traces", "trace_summaries", "eval_records", "feedback", "seeds", "locks", "lock_results"}


def table_names(store: Store) -> set[str]:
    rows = store.query("SELECT name FROM system.tables WHERE database = currentDatabase()")
    return {name for (name,) in rows}


def test_schema_applies_twice_idempotently(bare_store: Store) -> None:
    migrations = load_migrations()
    first = apply_migrations(bare_store)
    assert [m.version for m in first] == [m.version for m in migrations if m.version > 0]
    tables = table_names(bare_store)
    assert tables >= TABLES
    assert apply_migrations(bare_store) == []
    assert table_names(bare_store) == tables


def test_migrations_run_in_order_and_are_recorded_once(bare_store: Store) -> None:
    apply_migrations(bare_store)
    apply_migrations(bare_store)
    rows = bare_store.query(
        "SELECT Version, Name, Checksum FROM schema_migrations ORDER BY AppliedAt, Version"
    )
    versions = [v for v, _, _ in rows]
    assert versions == sorted(versions)
    assert len(versions) == len(set(versions)), "a migration was recorded twice"
    by_version = {m.version: m for m in load_migrations()}
    for version, name, checksum in rows:
        assert by_version[version].name == name
        assert by_version[version].checksum == checksum


def test_upgrade_applies_only_the_new_migration(bare_store: Store, tmp_path: Path) -> None:
    shipped = load_migrations()
    apply_migrations(bare_store, shipped)
    extra = tmp_path / "9000_extra.sql"
    extra.write_text("CREATE TABLE IF NOT EXISTS upgrade_probe (x UInt8) ENGINE = MergeTree ORDER BY x;\n")
    upgraded = [*shipped, *[m for m in load_migrations(tmp_path)]]
    applied = apply_migrations(bare_store, upgraded)
    assert [m.name for m in applied] == ["9000_extra.sql"]
    assert "upgrade_probe" in table_names(bare_store)
    assert max(applied_versions(bare_store)) == 9000


def test_store_newer_than_code_is_refused_and_left_untouched(bare_store: Store, tmp_path: Path) -> None:
    apply_migrations(bare_store)
    (tmp_path / "9999_future.sql").write_text("CREATE TABLE future (x UInt8) ENGINE = Memory;\n")
    apply_migrations(bare_store, [*load_migrations(), *load_migrations(tmp_path)])
    before = table_names(bare_store)
    with pytest.raises(SchemaError, match="schema version 9999 is newer than this tracelock"):
        apply_migrations(bare_store)
    assert table_names(bare_store) == before


def test_failed_migration_names_the_file_and_is_not_recorded(bare_store: Store, tmp_path: Path) -> None:
    (tmp_path / "0001_ok.sql").write_text("CREATE TABLE IF NOT EXISTS ok_t (x UInt8) ENGINE = Memory;\n")
    (tmp_path / "0002_broken.sql").write_text("CREATE TABLE broken (x NoSuchType) ENGINE = Memory;\n")
    bootstrap = [m for m in load_migrations() if m.version == 0]
    with pytest.raises(SchemaError, match=r"0002_broken\.sql failed.*NoSuchType"):
        apply_migrations(bare_store, [*bootstrap, *load_migrations(tmp_path)])
    assert set(applied_versions(bare_store)) == {1}


def test_duplicate_migration_numbers_are_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("SELECT 1;\n")
    (tmp_path / "0001_b.sql").write_text("SELECT 2;\n")
    with pytest.raises(SchemaError, match="share a version number"):
        load_migrations(tmp_path)


def test_statements_split_on_semicolons_at_line_end_only() -> None:
    text = "-- header only\nCREATE TABLE a (s String DEFAULT 'x;y') ENGINE = Memory;\n-- note;\nSELECT 1;\n"
    assert split_statements(text) == [
        "-- header only\nCREATE TABLE a (s String DEFAULT 'x;y') ENGINE = Memory",
        "-- note;\nSELECT 1",
    ]


def test_cluster_variant_is_generated_from_the_same_files() -> None:
    statements = cluster_statements("prod")
    joined = "\n".join(statements)
    for table in TABLES:
        assert f"CREATE TABLE IF NOT EXISTS {table}_local ON CLUSTER 'prod'" in joined
        assert f"CREATE TABLE IF NOT EXISTS {table} ON CLUSTER 'prod' AS {table}_local" in joined
    zookeeper_path = "'/clickhouse/tables/{shard}/{database}/otel_traces_local', '{replica}'"
    assert f"ReplicatedMergeTree({zookeeper_path}" in joined
    assert "ReplicatedAggregatingMergeTree(" in joined
    # Spans and their summary live on one shard: both tables shard by trace.
    assert "Distributed('prod', currentDatabase(), 'otel_traces_local', cityHash64(TraceId))" in joined
    assert "Distributed('prod', currentDatabase(), 'trace_summaries_local', cityHash64(TraceId))" in joined
    # Materialized views read and write the local tables.
    assert "TO trace_summaries_local" in joined and "FROM otel_traces_local" in joined
    creates = [s for s in statements if "CREATE " in s]
    assert creates and all("ON CLUSTER 'prod'" in s for s in creates)


def test_stripped_cluster_variant_applies_on_chdb(bare_store: Store) -> None:
    for statement in strip_cluster(cluster_statements("prod")):
        bare_store.command(statement)
    assert {f"{t}_local" for t in TABLES} | TABLES <= table_names(bare_store)
    # The materialized view chain works on the local tables and reads back through the merged name.
    bare_store.command(
        "INSERT INTO otel_traces_local (Timestamp, TraceId, SpanId, SpanName, ServiceName, SpanAttributes) "
        "VALUES (now64(9), 'ab', '01', 'root', 'svc', map('gen_ai.prompt.version', 'refund-v4'))"
    )
    prompt = bare_store.query("SELECT PromptVersion FROM otel_traces WHERE TraceId = 'ab'").scalar()
    assert prompt == "refund-v4"
    assert bare_store.query("SELECT count() FROM trace_summaries_final WHERE TraceId = 'ab'").scalar() == 1
