"""Embedded ClickHouse (chDB): the default store, one process per data directory."""

from __future__ import annotations

import fcntl
import functools
import json
import os
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from tracelock.errors import DataDirLocked, StoreUnavailable
from tracelock.store.base import (
    QueryResult,
    Store,
    check_identifier,
    parse_datetime,
    render_settings,
    to_clickhouse_json,
)
from tracelock.store.chdb_loading import chdb_session_module
from tracelock.store.errors import first_line, translate_errors
from tracelock.store.protobuf_insert import ProtobufInsert, write_length_delimited

__all__ = ["ChdbStore", "convert_row", "held_by_another_process"]

# Settings every session runs with: UTC everywhere, numbers as JSON numbers.
_SESSION_SETTINGS = (
    "SET session_timezone = 'UTC'",
    "SET output_format_json_quote_64bit_integers = 0",
    "SET output_format_json_quote_decimals = 0",
    "SET output_format_json_quote_denormals = 1",
)


_TSV_ESCAPES = str.maketrans(
    {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\\0", "\b": "\\b", "\f": "\\f"}
)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def _param_text(value: Any, nested: bool = False) -> str:
    """A Python value in the text form ClickHouse parses for a ``{name:Type}`` query parameter."""
    if value is None:
        return "NULL" if nested else "\\N"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        text = value.strftime("%Y-%m-%d %H:%M:%S.%f")
        return f"'{text}'" if nested else text
    if isinstance(value, date):
        return f"'{value.isoformat()}'" if nested else value.isoformat()
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple | set):
        return "[" + ",".join(_param_text(v, nested=True) for v in value) + "]"
    if isinstance(value, dict):
        items = ",".join(f"{_param_text(k, True)}:{_param_text(v, True)}" for k, v in value.items())
        return "{" + items + "}"
    text = str(value)
    # A top-level parameter is read in ClickHouse's escaped (TSV) form; values inside arrays and maps
    # are read as quoted literals.
    return f"'{_escape(text)}'" if nested else text.translate(_TSV_ESCAPES)


def _needs_conversion(values: Sequence[Any]) -> bool:
    for value in values:
        if value is not None:
            return isinstance(value, datetime | date | list | tuple | dict)
    return False


def _split_type_args(args: str) -> list[str]:
    """``"K, Array(V)"`` -> ``["K", "Array(V)"]`` (top-level commas only)."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in args:
        if char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        depth += (char == "(") - (char == ")")
        current.append(char)
    parts.append("".join(current).strip())
    return parts


@functools.lru_cache(maxsize=512)
def _converter(ctype: str) -> Callable[[Any], Any] | None:
    """How to turn a JSON value of ClickHouse type ``ctype`` into the Python value the server client
    returns (aware datetime, date); None when the JSON value is already right."""
    for wrapper in ("Nullable(", "LowCardinality(", "SimpleAggregateFunction("):
        if ctype.startswith(wrapper):
            inner = ctype[len(wrapper) : -1]
            return _converter(_split_type_args(inner)[-1] if wrapper.startswith("Simple") else inner)
    if ctype.startswith("DateTime"):
        return lambda v: parse_datetime(v) if isinstance(v, str) else v
    if ctype == "Date" or ctype == "Date32":
        return lambda v: date.fromisoformat(v) if isinstance(v, str) else v
    if ctype.startswith("Array("):
        item = _converter(ctype[6:-1])
        return None if item is None else lambda v: None if v is None else [item(x) for x in v]
    if ctype.startswith("Map("):
        value = _converter(_split_type_args(ctype[4:-1])[1])
        return None if value is None else lambda v: None if v is None else {k: value(x) for k, x in v.items()}
    return None


def convert_row(row: list[Any], types: list[str]) -> tuple[Any, ...]:
    """Apply the conversions JSON output needs so both stores return the same Python values."""
    out = list(row)
    for i, ctype in enumerate(types):
        convert = _converter(ctype)
        if convert is not None and out[i] is not None:
            out[i] = convert(out[i])
    return tuple(out)


def held_by_another_process(path: str) -> bool:
    """True when another process holds the ClickHouse lock (``flock`` on ``<path>/status``).

    Checked before opening because chDB reports a held directory only as a bare "Error initializing
    EmbeddedServer" (the reason goes to stderr). Never called for a path this process already has
    open: flock would see our own lock.
    """
    status = Path(path) / "status"
    if not status.exists():
        return False
    with open(status, "rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


# Paths this process has open (chDB shares one embedded server per process and path).
_open_paths: Counter[str] = Counter()
_open_paths_lock = threading.Lock()


class ChdbStore(Store):
    """One chDB session on a data directory, selected database, serialised calls."""

    def __init__(self, path: str | Path, database: str = "tracelock") -> None:
        chdb_session = chdb_session_module()
        self.path = str(Path(path).resolve())
        self.database = check_identifier(database, "database")
        self.description = f"chdb:{self.path}"
        self._lock = threading.RLock()
        Path(self.path).mkdir(parents=True, exist_ok=True)
        with _open_paths_lock:
            if not _open_paths[self.path] and held_by_another_process(self.path):
                raise DataDirLocked(self.path)
            try:
                self._session: Any = chdb_session.Session(self.path)  # chDB is untyped: Any here
            except Exception as exc:
                self._session = None
                self._raise_open_error(exc)
            _open_paths[self.path] += 1
        for statement in _SESSION_SETTINGS:
            self._run(statement)
        self._run(f"CREATE DATABASE IF NOT EXISTS {self.database}")
        self._run(f"USE {self.database}")

    def _raise_open_error(self, exc: Exception) -> None:
        text = str(exc)
        if "Cannot lock file" in text or "already running" in text:
            raise DataDirLocked(self.path) from exc
        if "EmbeddedServer already initialized" in text:
            # chDB embeds one server per process: a second directory needs the first closed.
            raise StoreUnavailable(
                f"{self.description}: this process already has another chDB data directory open; "
                "close that store first (chDB serves one directory per process)"
            ) from exc
        if "Error initializing EmbeddedServer" in text and held_by_another_process(self.path):
            raise DataDirLocked(self.path) from exc
        raise StoreUnavailable(f"{self.description}: cannot open chDB: {first_line(text)}") from exc

    def _run(self, sql: str, params: Mapping[str, Any] | None = None, fmt: str = "CSV") -> Any:
        rendered = {k: _param_text(v) for k, v in params.items()} if params else None
        with self._lock, translate_errors(self.description, sql):
            return self._session.query(sql, fmt, params=rendered)

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> QueryResult:
        raw = self._run(sql, params, fmt="JSONCompact")
        text = raw.bytes() if hasattr(raw, "bytes") else bytes(raw)
        if not text.strip():
            return QueryResult(columns=[], types=[], rows=[])
        doc = json.loads(text)
        columns = [m["name"] for m in doc["meta"]]
        types = [m["type"] for m in doc["meta"]]
        return QueryResult(columns, types, [convert_row(r, types) for r in doc["data"]])

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._run(sql, params)

    def insert(
        self,
        table: str,
        columns: Mapping[str, Sequence[Any]],
        *,
        settings: Mapping[str, object] | None = None,
    ) -> int:
        if not columns:
            return 0
        lengths = {len(v) for v in columns.values()}
        if len(lengths) != 1:
            raise ValueError(f"insert into {table}: columns have different lengths {sorted(lengths)}")
        (rows,) = lengths
        if rows == 0:
            return 0
        payload = {
            name: ([to_clickhouse_json(v) for v in values] if _needs_conversion(values) else list(values))
            for name, values in columns.items()
        }
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        self.insert_formatted(table, list(columns), "JSONColumns", body, settings=settings)
        return rows

    def insert_formatted(
        self,
        table: str,
        column_names: Sequence[str],
        fmt: str,
        body: bytes,
        *,
        settings: Mapping[str, object] | None = None,
    ) -> None:
        check_identifier(table, "table")
        names = ", ".join(f"`{check_identifier(c, 'column')}`" for c in column_names)
        check_identifier(fmt, "format")
        sql = f"INSERT INTO {table} ({names}){render_settings(settings)}"
        with (
            self._lock,
            translate_errors(self.description, sql),
            self._session.send_insert(sql, fmt) as inserter,
        ):
            inserter.append(body)
            inserter.finish()

    def insert_protobuf(self, insert: ProtobufInsert, messages: Sequence[bytes]) -> None:
        """chDB reads the messages from a spool file (``<data-dir>/spool``), removed afterwards."""
        spool = Path(self.path) / "spool" / f"protobuf-{os.getpid()}-{threading.get_ident()}.bin"
        spool.parent.mkdir(parents=True, exist_ok=True)
        with open(spool, "wb") as out:
            write_length_delimited(messages, out)
        source = f"file({{spool_path:String}}, 'Protobuf', '{insert.structure}')"
        sql = insert.statement(source) + render_settings(
            {**insert.settings, "format_schema": f"{insert.schema}:{insert.message}"}
        )
        try:
            self.command(sql, {**insert.params, "spool_path": str(spool)})
        finally:
            spool.unlink(missing_ok=True)

    def close(self) -> None:
        with self._lock:
            session = getattr(self, "_session", None)
            if session is not None:
                session.close()
                self._session = None
                with _open_paths_lock:
                    _open_paths[self.path] -= 1
