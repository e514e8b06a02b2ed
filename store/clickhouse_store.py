"""A ClickHouse server or cluster through clickhouse-connect (HTTP): the same SQL as chDB.

``connect`` is clickhouse-connect's ``get_client`` unless told otherwise: the tests pass one that adds
``interface="chdb", path=...`` (clickhouse-connect's in-process chDB client), so every statement and
insert path here runs on each commit without a server.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, urlparse

from tracelock.errors import ConfigError, StoreUnavailable
from tracelock.store.base import QueryResult, Store, check_identifier
from tracelock.store.errors import translate_errors
from tracelock.store.protobuf_insert import ProtobufInsert, write_length_delimited

__all__ = ["ClickHouseStore", "Connect", "parse_clickhouse_url"]

#: ``clickhouse_connect.get_client``'s shape: keyword arguments in, a client out.
Connect = Callable[..., Any]


def parse_clickhouse_url(url: str) -> dict[str, Any]:
    """``http[s]://user:password@host:port/?database=x`` -> clickhouse-connect keyword arguments."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https", "clickhouse"):
        raise ConfigError(
            f"unsupported scheme {parsed.scheme!r}; use http:// or https://", field="clickhouse_url"
        )
    if not parsed.hostname:
        raise ConfigError(f"no host in {url!r}", field="clickhouse_url")
    secure = parsed.scheme == "https"
    try:
        port = parsed.port
    except ValueError as exc:  # urllib's "Port could not be cast to integer value as 'x'"
        raise ConfigError(f"invalid port in {url!r}: {exc}", field="clickhouse_url") from None
    kwargs: dict[str, Any] = {
        "host": parsed.hostname,
        "port": port or (8443 if secure else 8123),
        "username": parsed.username or "default",
        "password": parsed.password or "",
        "secure": secure,
    }
    query = parse_qs(parsed.query)
    if "database" in query:
        kwargs["database"] = check_identifier(query["database"][0], "database")
    return kwargs


def _aware(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


class ClickHouseStore(Store):
    """clickhouse-connect client bound to one database, timezone UTC."""

    def __init__(self, url: str, database: str = "tracelock", *, connect: Connect | None = None) -> None:
        import clickhouse_connect

        connect = connect or clickhouse_connect.get_client
        kwargs = parse_clickhouse_url(url)
        self.database = check_identifier(kwargs.pop("database", database), "database")
        self.description = f"clickhouse:{kwargs['host']}:{kwargs['port']}"
        settings = {"session_timezone": "UTC"}
        self._landings: set[str] = set()
        try:
            with translate_errors(self.description):
                admin = connect(**kwargs, settings=settings)
                admin.command(f"CREATE DATABASE IF NOT EXISTS {self.database}")
                admin.close()
                self._client = connect(**kwargs, database=self.database, settings=settings)
        except StoreUnavailable:
            raise
        except Exception as exc:
            raise StoreUnavailable(f"{self.description}: {exc}") from exc

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> QueryResult:
        with translate_errors(self.description, sql):
            result = self._client.query(sql, parameters=dict(params or {}))
        types = [t.name for t in result.column_types]
        rows = [tuple(_aware(v) for v in row) for row in result.result_rows]
        return QueryResult(list(result.column_names), types, rows)

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        with translate_errors(self.description, sql):
            self._client.command(sql, parameters=dict(params or {}))

    def insert(
        self,
        table: str,
        columns: Mapping[str, Sequence[Any]],
        *,
        settings: Mapping[str, object] | None = None,
    ) -> int:
        check_identifier(table, "table")
        names = [check_identifier(c, "column") for c in columns]
        if not names:
            return 0
        data = [list(v) for v in columns.values()]
        with translate_errors(self.description, f"INSERT INTO {table}"):
            summary = self._client.insert(
                table, data, column_names=names, column_oriented=True, settings=dict(settings or {})
            )
        return int(summary.written_rows)

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
        names = [check_identifier(c, "column") for c in column_names]
        with translate_errors(self.description, f"INSERT INTO {table} FORMAT {fmt}"):
            self._client.raw_insert(
                table, names, insert_block=body, settings=dict(settings or {}), fmt=check_identifier(fmt)
            )

    def insert_protobuf(self, insert: ProtobufInsert, messages: Sequence[bytes]) -> None:
        """The messages are the body of a plain ``INSERT INTO <landing> FORMAT Protobuf`` (the
        schema travels inline, ``format_schema_source = 'string'``); the landing table's materialized
        view is the insert's SELECT (:meth:`_landing`). One statement, so the insert token, the views
        and an error apply to the whole batch as with chDB."""
        landing = self._landing(insert)
        settings = {
            **insert.settings,
            "format_schema_source": "string",
            "format_schema": insert.schema.read_text(),
            "format_schema_message_name": insert.message,
        }
        body = io.BytesIO()
        write_length_delimited(messages, body)
        with translate_errors(self.description, f"INSERT INTO {landing} FORMAT Protobuf"):
            self._client.raw_insert(
                landing, None, insert_block=body.getvalue(), fmt="Protobuf", settings=settings
            )

    def _landing(self, insert: ProtobufInsert) -> str:
        """A Null-engine table of the messages' structure and a materialized view from it into the
        insert's table: what is inserted into the first becomes rows of the second, converted by the
        SELECT with its parameters bound once, at CREATE (ClickHouse substitutes them into the view).

        Named by a hash of the SELECT and its parameters, so a writer with another configuration
        (aliases, limits, prices) gets its own pair and never changes another's. Both exist before this
        process's first insert into them (``IF NOT EXISTS``: another process, or a run stopped between
        the two statements, may have made one). A landing table is local to the server that has it: on
        a cluster, the collector writes through one node.
        """
        digest = hashlib.sha256(
            json.dumps([insert.table, insert.select("x"), dict(insert.params)], default=str).encode()
        ).hexdigest()
        landing = f"otlp_landing_{digest[:16]}"
        if landing not in self._landings:
            target = check_identifier(insert.table, "table")
            with translate_errors(self.description, f"CREATE TABLE {landing}"):
                self._client.command(
                    f"CREATE TABLE IF NOT EXISTS {landing} ({insert.structure}) ENGINE = Null"
                )
                self._client.command(
                    f"CREATE MATERIALIZED VIEW IF NOT EXISTS {landing}_mv TO {target}\n"
                    f"AS {insert.select(landing)}",
                    parameters=dict(insert.params),
                )
            self._landings.add(landing)
        return landing

    def close(self) -> None:
        self._client.close()
