"""Where a report reads its production traces: the hourly rollup, or every trace summary.

A report's online side over ``trace_summaries`` costs what reading every summary with FINAL and every
TraceId costs (~0.7 s on 10 M spans). The rollup (``deploy/sql/0080_trace_rollup.sql``) holds the same
counts per hour and slice (~3 000 rows there: ~20 ms). Read through ``live_rollup.sql`` it adds up to
the same report as ``live_totals.sql`` over the summaries when all three hold:

- it is **current**: built from the source tables as they are now (its ``SourceVersion`` equals
  ``trace_rollup_source_version``), or the caller accepts older data and it is younger than
  ``max_stale_s`` (the board, as for its cached pages; the CLI accepts none);
- the window's ends are **whole hours** (the default window, dates, ``--since 2026-11-20T08:00Z``);
- the report's **time buckets** are whole hours (data over 40 hours or more; shorter data is cheap).

Otherwise the report reads the summaries, as before. A reader that accepts older data (the board) and
finds the rollup behind by half its ``max_stale_s`` asks ClickHouse to rebuild it in the background; a
rebuild is one pass over the summaries (~1.5 s on 10 M spans), so under steady ingest the board costs
one pass per half max-stale, and the CLI none: it reads a rollup that is current (ClickHouse also
rebuilds it every hour) or the summaries.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from tracelock.errors import QueryError, TracelockError
from tracelock.report.query import ReportQuery, Window, bucket_seconds, load_query
from tracelock.store.base import Store

__all__ = [
    "GRAIN_S",
    "REFRESH_GAP_S",
    "ROLLUP",
    "SUMMARIES",
    "LiveSource",
    "RollupState",
    "live_source",
    "timeline_source",
]

_log = logging.getLogger("tracelock.report")

GRAIN_S = 3600  # the rollup's time grain: one row per hour and slice
REFRESH_GAP_S = 5.0  # at least this long between two rebuilds a reader asks for
VIEW = "trace_rollup"

_STATE = f"""
SELECT
    (SELECT Version FROM trace_rollup_source_version) = (SELECT any(SourceVersion) FROM {VIEW}) AS current,
    (SELECT count() FROM {VIEW}) AS rows,
    (SELECT max(RefreshedAt) FROM {VIEW}) AS refreshed_at,
    (SELECT countIf(status = 'Running') FROM system.view_refreshes
     WHERE database = currentDatabase() AND view = '{VIEW}') AS running,
    (SELECT max(last_refresh_time) FROM system.view_refreshes
     WHERE database = currentDatabase() AND view = '{VIEW}') AS last_attempt,
    now64(3) AS now
"""


@dataclass(frozen=True)
class RollupState:
    """What the rollup holds now: whether it is current, and when the refresh that built it began.
    Times are the store's clock (``now`` too), so a skewed client clock does not age the rollup."""

    current: bool
    refreshed_at: datetime | None  # None: it holds no rows (never built, or no live trace)
    running: bool
    last_attempt: datetime | None
    now: datetime

    @classmethod
    def read(cls, store: Store) -> RollupState | None:
        """The state, or None when the store has no rollup (an older schema, a cluster)."""
        try:
            row = store.query(_STATE).dicts()[0]
        except QueryError:
            return None
        return cls(
            current=bool(row["current"]) and row["rows"] > 0,
            refreshed_at=_utc(row["refreshed_at"]) if row["rows"] else None,
            running=bool(row["running"]),
            last_attempt=_utc(row["last_attempt"]) if row["last_attempt"] else None,
            now=_utc(row["now"]),
        )

    def usable(self, max_stale_s: float) -> bool:
        if self.refreshed_at is None:
            return False
        return self.current or self._age(self.refreshed_at) <= max_stale_s

    def wants_refresh(self, max_stale_s: float) -> bool:
        """Whether a reader accepting ``max_stale_s`` of older data should ask for a rebuild: when the
        rollup is behind by half that, and no rebuild ran or was tried for as long (so a busy store is
        re-read at most twice per max-stale, and a rebuild that keeps failing is not retried faster)."""
        if max_stale_s <= 0 or self.current or self.running:
            return False
        gap = max(REFRESH_GAP_S, max_stale_s / 2)
        if self.last_attempt is not None and self._age(self.last_attempt) < gap:
            return False
        return self.refreshed_at is None or self._age(self.refreshed_at) >= max_stale_s / 2

    def _age(self, moment: datetime) -> float:
        return (self.now - moment).total_seconds()


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _whole_hour(moment: datetime) -> bool:
    return moment.timestamp() % GRAIN_S == 0


@dataclass(frozen=True)
class LiveSource:
    """The ``$live`` of a report template (rows in ``live_totals.sql``'s shape) and its time bounds."""

    rollup: bool

    def live(
        self,
        q: ReportQuery,
        *,
        slice_sql: str,
        arm_sql: str,
        filter_sql: str,
        window: Window,
        covered: bool = False,
    ) -> str:
        """``covered``: count CoveredBadTraces (the coverage report); otherwise they read 0 from the
        summaries, whose sets of source trace ids would cost a report that does not read them."""
        fragments = {"slice": slice_sql, "arm": arm_sql, "filter": filter_sql, **q.window(window)}
        if self.rollup:
            return load_query("live_rollup").substitute(fragments)
        return load_query("live_totals").substitute(
            live_traces=load_query("live_traces").substitute(fragments),
            covered=load_query("covered").template if covered else "0",
        )

    def bounds(self, store: Store, q: ReportQuery, filter_sql: str, window: Window) -> dict[str, Any]:
        """First and last trace start of the traces a report reads (``partial_rows`` 0: none)."""
        (row,) = q.run(
            store, "rollup_bounds" if self.rollup else "live_bounds", filter=filter_sql, **q.window(window)
        )
        return row


SUMMARIES = LiveSource(rollup=False)
ROLLUP = LiveSource(rollup=True)


def live_source(store: Store, window: Window, max_stale_s: float = 0.0) -> LiveSource:
    """The rollup when it gives the report over ``window`` (see the module docstring), else the
    summaries; asks for a rebuild when the rollup is behind the data."""
    if not (_whole_hour(window.since) and _whole_hour(window.until)):
        return SUMMARIES
    state = RollupState.read(store)
    if state is None:
        return SUMMARIES
    if state.wants_refresh(max_stale_s):
        try:
            store.refresh_view(VIEW)
        except TracelockError as exc:  # a rebuild only makes later reports faster
            _log.warning("could not ask for a rebuild of %s: %s", VIEW, exc)
    return ROLLUP if state.usable(max_stale_s) else SUMMARIES


def timeline_source(
    store: Store, q: ReportQuery, filter_sql: str, window: Window, max_stale_s: float = 0.0
) -> tuple[LiveSource, dict[str, Any]]:
    """The source of a report with a time axis, and the bounds its buckets are sized from: the rollup
    only when those buckets (:func:`~tracelock.report.query.bucket_seconds`) are whole hours."""
    source = live_source(store, window, max_stale_s)
    bounds = source.bounds(store, q, filter_sql, window)
    whole_hours = not bounds["partial_rows"] or bucket_seconds(bounds["first"], bounds["last"]) % GRAIN_S == 0
    if source.rollup and not whole_hours:
        source = SUMMARIES
        bounds = source.bounds(store, q, filter_sql, window)
    return source, bounds
