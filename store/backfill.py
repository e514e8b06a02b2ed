"""Fill tracelock's derived tables from rows that were there before its views (``tracelock init
--backfill``): a database the contrib ClickHouse exporter filled, adopted by ``tracelock init``.

The derived tables (trace_summaries, eval_records) are filled by materialized views on insert, so rows
written before a view existed are in none of them. The backfill runs each such view's own SELECT (read
back from the database, so it is whatever the migrations made it) over the source rows, one day window
at a time, and inserts the result into the view's target.

- **Up to the view's creation only**: rows inserted since then went through the view already; the upper
  bound is the view's migration time in ``schema_migrations``.
- **Resumable and idempotent**: each finished (view, window) is recorded in ``backfill_progress``; a
  second run, or a run after an interruption, skips what is recorded, and within a window a trace the
  target already has (a run interrupted mid-window, or spans inserted through the view) is left out.
  (A trace with spans on both sides of the view's creation keeps only the later spans' rows.)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from tracelock.errors import SchemaError
from tracelock.store.base import Store, check_identifier
from tracelock.store.schema import load_migrations

__all__ = ["BackfillView", "backfill", "backfill_views"]

#: Source tables other writers fill, and the column that places a row in time.
SOURCES = {"otel_traces": "Timestamp", "otel_logs": "Timestamp"}
#: Targets, and the column that places a row near its source rows' time (a trace's rows are found there).
TARGET_TIME = {"trace_summaries": "Start", "eval_records": "Timestamp"}
# Other targets (the trace-id lookup) are filled by the other writer's own view: never backfilled.
_MV = re.compile(r"CREATE MATERIALIZED VIEW IF NOT EXISTS (\w+)\s+TO (\w+).*?\bFROM (\w+)", re.S)
_WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class BackfillView:
    name: str
    target: str
    source: str
    version: int  # the migration that created it


def backfill_views() -> list[BackfillView]:
    """The views of tracelock's migrations that derive a table from rows other writers insert.

    A view a later migration re-creates (a changed SELECT) counts once, from its first migration: rows
    have flowed into its target since then.
    """
    views: dict[str, BackfillView] = {}
    for migration in load_migrations():
        for statement in migration.statements:
            match = _MV.search(statement)
            if match and match.group(3) in SOURCES and match.group(2) in TARGET_TIME:
                name = match.group(1)
                views.setdefault(name, BackfillView(name, match.group(2), match.group(3), migration.version))
    return list(views.values())


@dataclass
class BackfillResult:
    windows_done: int = 0
    windows_skipped: int = 0
    rows_read: int = 0


Progress = Callable[[BackfillView, datetime, int, int], None]  # view, window start, done, total


def _windows(store: Store, view: BackfillView, since: datetime | None) -> list[datetime]:
    created = store.query(
        f"SELECT min(AppliedAt) FROM schema_migrations WHERE Version = {int(view.version)}"
    ).rows[0][0]
    if created is None or created.year < 2000:
        raise SchemaError(
            f"{view.name}: its migration {view.version} is not applied; run tracelock init first"
        )
    time_column = SOURCES[view.source]
    first = store.query(f"SELECT min({time_column}), count() FROM {view.source}").rows[0]
    if not first[1]:
        return []
    start = max(_utc(first[0]), _utc(since)) if since else _utc(first[0])
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    end = _utc(created)
    out = []
    while day < end:
        out.append(day)
        day += _WINDOW
    return out


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _literal(value: datetime) -> str:
    return f"toDateTime64('{value.strftime('%Y-%m-%d %H:%M:%S.%f')}', 9, 'UTC')"


def _windowed_select(store: Store, view: BackfillView, lo: datetime, hi: datetime, until: datetime) -> str:
    """The view's SELECT over the source rows of [lo, min(hi, until))."""
    hi = min(hi, until)
    row = store.query(
        f"SELECT as_select FROM system.tables WHERE database = currentDatabase() "
        f"AND name = '{check_identifier(view.name, 'view')}'"
    ).rows
    if not row:
        raise SchemaError(f"view {view.name} does not exist; run tracelock init first")
    time_column = SOURCES[view.source]
    # Every column by name: ``*`` leaves out the MATERIALIZED ones the views read.
    names = store.query(
        f"SELECT name FROM system.columns WHERE database = currentDatabase() AND table = '{view.source}' "
        "ORDER BY position"
    ).rows
    columns = ", ".join(f"`{n[0]}`" for n in names)
    # Traces the target already has (through the view, or a run interrupted mid-window) are skipped.
    target_time = TARGET_TIME[view.target]
    known = (
        f"SELECT TraceId FROM {view.target} WHERE {target_time} >= {_literal(lo - _WINDOW)} "
        f"AND {target_time} < {_literal(hi + _WINDOW)}"
    )
    window = (
        f"(SELECT {columns} FROM {view.source} WHERE {time_column} >= {_literal(lo)} "
        f"AND {time_column} < {_literal(hi)} AND TraceId NOT IN ({known}))"
    )
    # the view may name the source with an alias of its own (``FROM otel_traces AS s``): keep it
    source = re.compile(rf"\bFROM\s+(?:`?\w+`?\.)?`?{view.source}`?(?:\s+AS\s+(`?\w+`?))?(?=\s|$)")
    select, count = source.subn(lambda m: f"FROM {window} AS {m.group(1) or view.source}", row[0][0], count=1)
    if count != 1:
        raise SchemaError(f"view {view.name}: cannot find FROM {view.source} in its SELECT")
    return select


def backfill(store: Store, since: datetime | None = None, progress: Progress | None = None) -> BackfillResult:
    """Run every backfill view over the rows before it existed; see the module docstring."""
    result = BackfillResult()
    done = {
        (view, window)
        for view, window in store.query("SELECT View, WindowStart FROM backfill_progress FINAL").rows
    }
    for view in backfill_views():
        windows = _windows(store, view, since)
        until = _utc(store.query(
            f"SELECT min(AppliedAt) FROM schema_migrations WHERE Version = {int(view.version)}"
        ).rows[0][0])  # fmt: skip
        for i, lo in enumerate(windows):
            if (view.name, lo.replace(tzinfo=None)) in done or (view.name, lo) in done:
                result.windows_skipped += 1
            else:
                start = max(lo, _utc(since)) if since else lo  # the first day starts at --since
                select = _windowed_select(store, view, start, lo + _WINDOW, until)
                names = [r[0] for r in store.query(f"DESCRIBE TABLE ({select})").rows]
                columns = ", ".join(f"`{n}`" for n in names)
                store.command(f"INSERT INTO {view.target} ({columns}) {select}")
                store.insert(
                    "backfill_progress",
                    {"View": [view.name], "WindowStart": [lo], "DoneAt": [datetime.now(timezone.utc)]},
                )
                result.windows_done += 1
            if progress:
                progress(view, lo, i + 1, len(windows))
    return result
