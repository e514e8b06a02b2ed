"""The join's SQL lives in ``deploy/sql/queries/<name>.sql``; this module loads a template by name and
fills its few placeholders with SQL built from the fixed dimension table.

Placeholders are ``$name`` (``string.Template``), expanded only to column names from
:data:`tracelock.report.dimensions.DIMENSIONS` and to bound-parameter references; every value (key
values, label names, the window) travels as a ClickHouse ``{name:Type}`` parameter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from string import Template
from typing import Any

from tracelock.errors import ConfigError
from tracelock.report.dimensions import Dimension
from tracelock.store.base import Store
from tracelock.store.schema import sql_dir

__all__ = ["ReportQuery", "Window", "bucket_seconds", "load_query", "parse_time"]

_RELATIVE = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
FAR_FUTURE = datetime(2200, 1, 1, tzinfo=timezone.utc)


def queries_dir() -> Path:
    return sql_dir() / "queries"


@cache
def load_query(name: str) -> Template:
    """The template ``deploy/sql/queries/<name>.sql``, without its comment lines (they document the
    placeholders, so they must not be expanded)."""
    path = queries_dir() / f"{name}.sql"
    if not path.is_file():
        raise FileNotFoundError(f"no query template {path}")
    lines = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("--")]
    return Template("\n".join(lines))


def parse_time(text: str, *, option: str, now: datetime | None = None) -> datetime:
    """ISO-8601 date/time (UTC when naive) or a relative ``30m`` / ``6h`` / ``7d`` / ``2w`` before now."""
    value = text.strip()
    match = _RELATIVE.match(value)
    if match:
        now = now or datetime.now(timezone.utc)
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"cannot read time {text!r}: use ISO-8601 (2026-11-20, 2026-11-20T08:00:00Z) or 7d/6h/30m",
            field=option,
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Window:
    """Half-open time window [since, until) on production traces (and feedback through them)."""

    since: datetime = EPOCH
    until: datetime = FAR_FUTURE

    def __post_init__(self) -> None:
        if self.until <= self.since:
            raise ConfigError(
                f"empty window: --until {self.until.isoformat()} is not after "
                f"--since {self.since.isoformat()}",
                field="--since/--until",
            )

    @classmethod
    def parse(cls, since: str | None, until: str | None) -> Window:
        now = datetime.now(timezone.utc)
        return cls(
            parse_time(since, option="--since", now=now) if since else EPOCH,
            parse_time(until, option="--until", now=now) if until else FAR_FUTURE,
        )

    def describe(self) -> str:
        if self.since == EPOCH and self.until == FAR_FUTURE:
            return "all time"
        since = "" if self.since == EPOCH else self.since.isoformat()
        until = "" if self.until == FAR_FUTURE else self.until.isoformat()
        return f"[{since or '-inf'}, {until or '+inf'})"


def bucket_seconds(first: datetime, last: datetime, buckets: int = 40) -> int:
    span = max(1.0, (last - first).total_seconds())
    for step in (10, 30, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400):
        if span / step <= buckets:
            return step
    return 30 * 86400


@dataclass
class ReportQuery:
    """Builds SQL fragments for one report and collects their bound parameters."""

    params: dict[str, Any] = field(default_factory=dict)

    def bind(self, prefix: str, value: Any) -> str:
        """Register a value; return its ``{name:Type}`` reference."""
        name = f"{prefix}_{len(self.params)}"
        self.params[name] = value
        kind = "DateTime64(9)" if isinstance(value, datetime) else "String"
        return "{" + f"{name}:{kind}" + "}"

    def column(self, dimension: Dimension, *, table: str = "default") -> str:
        """SQL reading a dimension's value in ``table`` (trace/eval tables, or ``locks``)."""
        if dimension.label is not None:
            return f"Labels[{self.bind('label', dimension.label)}]"
        column = dimension.lock_column if table == "locks" else dimension.column
        return f"toString({column})" if column else "''"

    def slice_expr(self, by: list[Dimension], *, table: str = "default") -> str:
        if not by:
            return "CAST([], 'Array(String)')"
        return "[" + ", ".join(self.column(d, table=table) for d in by) + "]"

    def match_expr(self, selector: dict[Dimension, str], *, table: str = "default") -> str:
        parts = [f"{self.column(d, table=table)} = {self.bind('value', v)}" for d, v in selector.items()]
        return "(" + " AND ".join(parts) + ")" if parts else "1"

    def arm_expr(self, baseline: dict[Dimension, str], candidate: dict[Dimension, str]) -> str:
        base, cand = self.match_expr(baseline), self.match_expr(candidate)
        return f"multiIf({base}, 'baseline', {cand}, 'candidate', '')"

    def window(self, window: Window) -> dict[str, str]:
        return {"since": self.bind("since", window.since), "until": self.bind("until", window.until)}

    def run(self, store: Store, name: str, **fragments: str) -> list[dict[str, Any]]:
        sql = load_query(name).substitute(fragments)
        return store.query(sql, self.params).dicts()
