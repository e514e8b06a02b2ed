"""The schema lives in ``deploy/sql``; this module reads it, applies it in order once, and derives the
cluster variant from it.

Migration files are ``NNNN_name.sql``: statements separated by ``;`` at the end of a line, tables named
unqualified (the store has its database selected). ``0000_schema_migrations.sql`` is applied first on
every run (it is idempotent); each later file is applied once and recorded in ``schema_migrations``.

Adopting a table another writer made (the contrib ClickHouse exporter's ``otel_traces``): when a
``CREATE TABLE IF NOT EXISTS`` meets an existing table, the computed columns of tracelock's definition
(MATERIALIZED, DEFAULT, ALIAS) that the table lacks are added; its own columns are never altered.
Those columns are computed on read for rows already there, so views and backfills see them.

Who writes ``otel_traces`` decides what its registry columns read (:class:`~tracelock.semconv.columns.
Writers`): the canonical keys alone when only tracelock's collector writes it (fast), the aliases too
when another writer does. A statement marked ``-- tracelock:unless_other_writers`` (migration 0090) is
skipped on a table with other writers; :func:`set_writers` switches a table either way.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from tracelock.errors import SchemaError
from tracelock.store.base import Store, check_identifier

if TYPE_CHECKING:
    from tracelock.semconv.columns import Writers

__all__ = [
    "Migration",
    "adopt_existing_table",
    "applied_versions",
    "apply_migrations",
    "cluster_statements",
    "computed_columns",
    "has_other_writers",
    "load_migrations",
    "migration_statements",
    "parse_retention",
    "retention_statements",
    "set_writers",
    "split_statements",
    "strip_cluster",
    "writers_of",
]

_FILE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    text: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    @property
    def statements(self) -> list[str]:
        return split_statements(self.text)


def _literally(text: str) -> Callable[[re.Match[str]], str]:
    """A ``re.sub`` replacement inserting ``text`` as it is (a replacement string would expand ``\\1``)."""
    return lambda _match: text


def sql_dir() -> Path:
    """Folder of the shipped DDL (package data ``deploy/sql``)."""
    return Path(str(resources.files("tracelock") / "deploy" / "sql"))


def load_migrations(directory: Path | None = None) -> list[Migration]:
    directory = directory or sql_dir()
    migrations = []
    for path in sorted(directory.iterdir()):
        match = _FILE.match(path.name)
        if match:
            migrations.append(Migration(int(match.group(1)), path.name, path.read_text()))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise SchemaError(f"two migration files share a version number in {directory}")
    return migrations


def split_statements(text: str) -> list[str]:
    """Split on a ``;`` ending a SQL line (never a comment line); drop comment-only chunks."""
    statements: list[str] = []
    current: list[str] = []
    for line in text.splitlines():
        is_comment = line.lstrip().startswith("--")
        if not is_comment and line.rstrip().endswith(";"):
            current.append(line.rstrip()[:-1])
            statements.append("\n".join(current).strip())
            current = []
        else:
            current.append(line)
    statements.append("\n".join(current).strip())
    return [
        s for s in statements if any(ln.strip() and not ln.lstrip().startswith("--") for ln in s.splitlines())
    ]


def applied_versions(store: Store) -> dict[int, str]:
    """Version -> checksum of every migration recorded in the store."""
    rows = store.query("SELECT Version, argMax(Checksum, AppliedAt) FROM schema_migrations GROUP BY Version")
    return {int(v): c for v, c in rows}


def migration_statements(migration: Migration, cluster: str | None = None) -> list[str]:
    """The statements of one migration, for a single node or (with ``cluster``) for a cluster."""
    return cluster_statements(cluster, [migration]) if cluster else migration.statements


def apply_migrations(
    store: Store, migrations: list[Migration] | None = None, *, cluster: str | None = None
) -> list[Migration]:
    """Bring the store's schema up to date; return the migrations applied now (in order).

    Idempotent: a second call applies nothing. Raises SchemaError when the store has a migration newer
    than this code knows (it was written by a newer tracelock). With ``cluster`` every statement runs
    ``ON CLUSTER`` with replicated local tables behind Distributed ones.
    """
    migrations = migrations if migrations is not None else load_migrations()
    bootstrap = [m for m in migrations if m.version == 0]
    for migration in bootstrap:
        for statement in migration_statements(migration, cluster):
            store.command(statement)
    done = applied_versions(store)
    known = max((m.version for m in migrations), default=0)
    newer = sorted(v for v in done if v > known)
    if newer:
        raise SchemaError(
            f"{store.description}: schema version {newer[-1]} is newer than this tracelock "
            f"(it knows up to {known}); upgrade tracelock"
        )
    applied = []
    adopted: set[str] = set()
    for migration in migrations:
        if migration.version == 0 or migration.version in done:
            continue
        for statement in migration_statements(migration, cluster):
            if _UNLESS_OTHER_WRITERS in statement and ("otel_traces" in adopted or has_other_writers(store)):
                continue
            try:
                if cluster is None and adopt_existing_table(store, statement):
                    adopted.update(_CREATE_TABLE.findall(statement))
                store.command(statement)
            except Exception as exc:
                raise SchemaError(f"migration {migration.name} failed: {exc}") from exc
        store.insert(
            "schema_migrations",
            {
                "Version": [migration.version],
                "Name": [migration.name],
                "Checksum": [migration.checksum],
                "AppliedAt": [datetime.now(timezone.utc)],
            },
        )
        applied.append(migration)
    return applied


_COMPUTED_COLUMN = re.compile(r"^\s*`([\w.]+)`\s+(.+?\s(?:MATERIALIZED|DEFAULT|ALIAS)\s.+?),?\s*$")


def computed_columns(statement: str) -> list[tuple[str, str]]:
    """(name, definition) of the MATERIALIZED/DEFAULT/ALIAS columns a CREATE TABLE defines, one a line."""
    if not _CREATE_TABLE.search(statement):
        return []
    return [(m.group(1), m.group(2)) for m in map(_COMPUTED_COLUMN.match, statement.splitlines()) if m]


def adopt_existing_table(store: Store, statement: str) -> list[str]:
    """Before ``CREATE TABLE IF NOT EXISTS t``: if ``t`` exists (another writer made it), add the
    computed columns of tracelock's definition that it lacks. Returns the columns added."""
    table = _CREATE_TABLE.search(statement)
    if table is None:
        return []
    name = check_identifier(table.group(1), "table")
    existing = {
        row[0]
        for row in store.query(
            f"SELECT name FROM system.columns WHERE database = currentDatabase() AND table = '{name}'"
        ).rows
    }
    if not existing:
        return []
    added = []
    for column, definition in computed_columns(statement):
        if column not in existing:
            store.command(f"ALTER TABLE {name} ADD COLUMN IF NOT EXISTS `{column}` {definition}")
            added.append(column)
    return added


_UNLESS_OTHER_WRITERS = "-- tracelock:unless_other_writers"
#: rows looked at for another writer's spans: an adopted table's are nearly all its writer's, so the first
#: block read finds one; a table only tracelock writes is read up to this bound, not whole
_OTHER_WRITER_ROWS = 1_000_000


def has_other_writers(store: Store) -> bool:
    """Whether ``otel_traces`` holds a span tracelock's collector did not write (no ``tracelock.origin``
    stamp), among the first :data:`_OTHER_WRITER_ROWS` rows read. Only the map's keys are read."""
    found = store.query(
        "SELECT count() FROM (SELECT 1 FROM otel_traces "
        "WHERE NOT has(SpanAttributes.keys, 'tracelock.origin') LIMIT 1) "
        f"SETTINGS max_rows_to_read = {_OTHER_WRITER_ROWS}, read_overflow_mode = 'break'"
    ).scalar()
    return bool(found)


def set_writers(store: Store, writers: Writers, cluster: str | None = None) -> None:
    """Redefine the registry columns of ``otel_traces`` for ``writers``: rows inserted from now on read
    the canonical keys alone (:attr:`Writers.TRACELOCK`) or fall back to the aliases (:attr:`Writers.ANY`);
    rows already stored keep their values."""
    from tracelock.semconv.columns import render_writers_change  # renders ~60 KB of SQL: only when asked

    change = Migration(0, "writers", render_writers_change(writers) + ";\n")
    for statement in migration_statements(change, cluster):
        store.command(statement)


def writers_of(store: Store) -> Writers:
    """What the registry columns of ``otel_traces`` read now: the fallbacks test the stamp first."""
    from tracelock.semconv.columns import Writers

    expression = store.query(
        "SELECT default_expression FROM system.columns WHERE database = currentDatabase() "
        "AND table = 'otel_traces' AND name = 'RequestModel'"
    ).scalar()
    return Writers.ANY if "tracelock.origin" in str(expression or "") else Writers.TRACELOCK


# Tables whose rows expire with the retention setting, and the time column that ages them. The trace-id
# lookup table is the contrib exporter's (its Start is a DateTime, or an aggregate of one).
RETENTION_TABLES = {
    "otel_traces": "toDateTime(Timestamp)",
    "otel_traces_trace_id_ts": "toDateTime(Start)",
    "trace_summaries": "toDateTime(Start)",
    "otel_logs": "TimestampTime",
}
RETENTION_UNITS = {"d": "Day", "h": "Hour"}
_RETENTION = re.compile(r"^(\d+)([dh])$")


def parse_retention(text: str) -> tuple[int, str]:
    """``30d`` / ``72h`` (``0d`` removes the TTL) -> (amount, ClickHouse interval unit)."""
    match = _RETENTION.match(text.strip().lower())
    if not match:
        raise SchemaError(f"retention {text!r}: use a whole number of days or hours, e.g. 30d or 72h")
    return int(match.group(1)), RETENTION_UNITS[match.group(2)]


def retention_statements(amount: int, cluster: str | None = None, unit: str = "Day") -> list[str]:
    """``ALTER TABLE ... MODIFY TTL`` for the trace tables (``REMOVE TTL`` when ``amount`` is 0)."""
    if not isinstance(amount, int) or amount < 0 or unit not in RETENTION_UNITS.values():
        raise SchemaError(f"retention must be a whole number of days or hours >= 0, not {amount!r} {unit}")
    on = f" ON CLUSTER '{check_identifier(cluster, 'cluster')}'" if cluster else ""
    suffix = "_local" if cluster else ""
    out = []
    for table, age in RETENTION_TABLES.items():
        change = f"MODIFY TTL {age} + toInterval{unit}({amount:d})" if amount else "REMOVE TTL"
        out.append(f"ALTER TABLE {table}{suffix}{on} {change}")
    return out


# --- cluster variant ---------------------------------------------------------------------------------
# Generated from the same files, never kept by hand. Each MergeTree table `t` becomes a replicated local
# table `t_local` on every node plus a Distributed table `t` over it; materialized views read and write
# the local tables; plain views keep reading the Distributed names. The sharding key of a table comes
# from a `-- tracelock:shard_by EXPR` comment before it (rand() otherwise): trace tables shard by
# TraceId so every span of a trace, and its summary, live on one shard.

_CREATE_TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+)")
_ENGINE = re.compile(r"ENGINE = (\w*)MergeTree\(([^)]*)\)")
_MV = re.compile(r"CREATE MATERIALIZED VIEW IF NOT EXISTS (\w+)\s+TO (\w+)(.*?)\bFROM (\w+)", re.S)
_VIEW = re.compile(r"CREATE VIEW IF NOT EXISTS (\w+)")
_ALTER = re.compile(r"ALTER TABLE (\w+)")
_DROP_VIEW = re.compile(r"DROP VIEW IF EXISTS (\w+)")
_SHARD = re.compile(r"--\s*tracelock:shard_by\s+(.+)")


def cluster_statements(cluster: str, migrations: list[Migration] | None = None) -> list[str]:
    """DDL for a ClickHouse cluster (``ON CLUSTER``, ReplicatedMergeTree + Distributed)."""
    check_identifier(cluster, "cluster")
    migrations = migrations if migrations is not None else load_migrations()
    on = f"ON CLUSTER '{cluster}'"
    out: list[str] = []
    for migration in migrations:
        for statement in migration.statements:
            if _SINGLE_NODE_DEDUP in statement:  # replicated tables deduplicate inserts themselves
                continue
            if _SINGLE_NODE in statement:  # e.g. the report rollup: reports read the Distributed tables
                continue
            shard = _SHARD.search(statement)
            table = _CREATE_TABLE.search(statement)
            engine = _ENGINE.search(statement)
            drop = _DROP_VIEW.search(statement)
            if drop:
                out.append(_DROP_VIEW.sub(f"DROP VIEW IF EXISTS {drop.group(1)} {on}", statement, count=1))
                continue
            if table and engine:
                name = table.group(1)
                local = f"{name}_local"
                params = engine.group(2).strip()
                zk = f"'/clickhouse/tables/{{shard}}/{{database}}/{local}', '{{replica}}'"
                replicated = (
                    f"ENGINE = Replicated{engine.group(1)}MergeTree({zk}{', ' + params if params else ''})"
                )
                text = _CREATE_TABLE.sub(f"CREATE TABLE IF NOT EXISTS {local} {on}", statement, count=1)
                out.append(_ENGINE.sub(_literally(replicated), text, count=1))
                key = shard.group(1).strip() if shard else "rand()"
                out.append(
                    f"CREATE TABLE IF NOT EXISTS {name} {on} AS {local}\n"
                    f"ENGINE = Distributed('{cluster}', currentDatabase(), '{local}', {key})"
                )
                continue
            mv = _MV.search(statement)
            if mv:
                name, target, body, source = mv.groups()
                local_mv = (
                    f"CREATE MATERIALIZED VIEW IF NOT EXISTS {name} {on}\nTO {target}_local{body}"
                    f"FROM {source}_local"
                )
                text = _MV.sub(_literally(local_mv), statement, count=1)
                out.append(text)
                continue
            view = _VIEW.search(statement)
            if view:
                out.append(_VIEW.sub(f"CREATE VIEW IF NOT EXISTS {view.group(1)} {on}", statement, count=1))
                continue
            alter = _ALTER.search(statement)
            if alter:  # a column added to a table: to the replicated local table and its Distributed twin
                name = alter.group(1)
                out.append(_ALTER.sub(f"ALTER TABLE {name}_local {on}", statement, count=1))
                if "MODIFY SETTING" not in statement:  # MergeTree settings exist on the local table only
                    out.append(_ALTER.sub(f"ALTER TABLE {name} {on}", statement, count=1))
                continue
            out.append(statement)
    return out


_SINGLE_NODE_DEDUP = "MODIFY SETTING non_replicated_deduplication_window"
_SINGLE_NODE = "-- tracelock:single_node"
_ON_CLUSTER = re.compile(r" ON CLUSTER '[^']*'")
_REPLICATED = re.compile(r"ENGINE = Replicated(\w*)MergeTree\('[^']*', '[^']*'(?:, )?([^)]*)\)")
_DISTRIBUTED = re.compile(r"ENGINE = Distributed\('[^']*', currentDatabase\(\), '(\w+)', [^\n]*\)$", re.M)


def strip_cluster(statements: list[str]) -> list[str]:
    """The cluster DDL with its cluster parts removed, so it applies on a single node (chDB).

    Replicated engines become their plain form; a Distributed table becomes a Merge table over its local
    table (read-only, like a one-shard Distributed table seen from a reader).
    """
    out = []
    for statement in statements:
        text = _ON_CLUSTER.sub("", statement)
        text = _REPLICATED.sub(lambda m: f"ENGINE = {m.group(1)}MergeTree({m.group(2)})", text)
        text = _DISTRIBUTED.sub(lambda m: f"ENGINE = Merge(currentDatabase(), '^{m.group(1)}$')", text)
        out.append(text)
    return out
