"""The one store interface, plus the few helpers both implementations share.

SQL reaches a store in two shapes only:
- statements from ``deploy/sql`` or from code, with values as bound parameters in ClickHouse's
  ``{name:Type}`` syntax (never formatted into the text);
- identifiers (database, table, column, setting names), which must pass :func:`check_identifier`.

Both stores run with the database selected (``USE``), so statements name tables unqualified.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from tracelock.errors import ConfigError

__all__ = [
    "QueryResult",
    "Store",
    "check_identifier",
    "json_or_text",
    "parse_datetime",
    "render_settings",
    "to_clickhouse_json",
]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]{0,127}$")


def check_identifier(name: str, what: str = "identifier") -> str:
    """Return ``name`` if it is a plain ClickHouse identifier, else raise ConfigError naming it."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name) or ".." in name:
        raise ConfigError(f"invalid {what} {name!r}: use letters, digits, '_' and '.'", field=what)
    return name


def _quote_setting(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def render_settings(settings: Mapping[str, object] | None) -> str:
    """`` SETTINGS a = 1, b = 'x'`` for validated setting names; empty when there are none."""
    if not settings:
        return ""
    parts = [f"{check_identifier(k, 'setting')} = {_quote_setting(v)}" for k, v in settings.items()]
    return " SETTINGS " + ", ".join(parts)


@dataclass
class QueryResult:
    """Rows of a SELECT, with column names and ClickHouse types.

    DateTime/DateTime64 values are timezone-aware ``datetime`` in UTC on both stores.
    """

    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]] = field(default_factory=list)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def scalar(self) -> Any:
        """The first column of the first row (None when there is no row)."""
        return self.rows[0][0] if self.rows else None


class Store(ABC):
    """A ClickHouse database: embedded chDB or a server. Same SQL on both.

    Implementations are safe to share between threads (calls are serialised where the
    backend needs it).
    """

    #: The database every statement runs in (``tracelock`` by default).
    database: str
    #: Short human description for messages: ``chdb:/path`` or ``clickhouse:http://host:8123``.
    description: str

    @abstractmethod
    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> QueryResult:
        """Run a statement that returns rows."""

    @abstractmethod
    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run a statement that returns nothing (DDL, INSERT ... SELECT, ALTER)."""

    @abstractmethod
    def insert(
        self,
        table: str,
        columns: Mapping[str, Sequence[Any]],
        *,
        settings: Mapping[str, object] | None = None,
    ) -> int:
        """Insert one columnar batch (column name -> values, all the same length); return rows written.

        Values are Python objects: str, int, float, bool, datetime (aware or UTC), list, dict.
        """

    @abstractmethod
    def insert_formatted(
        self,
        table: str,
        column_names: Sequence[str],
        fmt: str,
        body: bytes,
        *,
        settings: Mapping[str, object] | None = None,
    ) -> None:
        """Insert a body already encoded in a ClickHouse input format (hot paths: ClickHouse parses it)."""

    def refresh_view(self, name: str) -> None:
        """Ask ClickHouse to rebuild a refreshable materialized view now (it runs in the background)."""
        self.command(f"SYSTEM REFRESH VIEW {check_identifier(name, 'view')}")

    @abstractmethod
    def close(self) -> None:
        """Release the database (for chDB: the data directory lock)."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def json_or_text(text: str) -> Any:
    """A stored text value (a span attribute, a seed's input) as the JSON it holds, else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def to_clickhouse_json(value: Any) -> Any:
    """A Python value in the JSON form ClickHouse parses for its column or parameter type.

    Datetimes become naive UTC text with microseconds (ClickHouse reads DateTime64 from it exactly,
    where a float would lose digits), dates ISO text; containers are converted item by item.
    """
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple | set):
        return [to_clickhouse_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_clickhouse_json(v) for k, v in value.items()}
    return value


def parse_datetime(text: str) -> datetime:
    """Parse ClickHouse's text form of DateTime/DateTime64 (UTC) into an aware datetime."""
    text = text.strip()
    if "." in text:
        head, frac = text.split(".", 1)
        text = f"{head}.{frac[:6].ljust(6, '0')}"
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc)
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
