"""A Store that reaches the data through a running collector's loopback admin endpoint.

One process owns a chDB data directory. While ``tracelock collector`` holds it, every command reaches
the same data through the collector: it wrote its admin address and token into
``<data-dir>/collector.json``. Queries go to ``/admin/query`` (read-only); the loop's writes - rows for
the tables in :data:`WRITABLE_TABLES` - go to the collector's typed write API
(``tracelock.collector.write_api``), so callers keep calling :meth:`Store.insert` and the same code
writes to chDB, a ClickHouse server or a running collector. Statements (DDL, ALTER) are the collector's
own business: it applies the migrations when it starts.

This module must stay cheap to import: a command served by the collector never loads chDB, and talks
to it with the standard library's ``http.client`` (plain HTTP over loopback): httpx's import and its
client's TLS setup cost ~0.2 s of every command's start on this machine, for a connection that never
uses TLS.
"""

from __future__ import annotations

import http.client
import json
import os
import time
import urllib.parse
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from tracelock.errors import QueryError, StoreError, StoreUnavailable
from tracelock.store.base import QueryResult, Store, to_clickhouse_json
from tracelock.store.chdb_store import convert_row, held_by_another_process  # chDB loads only on open

__all__ = [
    "ADMIN_FILE",
    "REFRESHABLE_VIEWS",
    "REFRESH_PATH",
    "WRITABLE_TABLES",
    "WRITE_PATH",
    "RemoteStore",
    "remote_store_for",
]

ADMIN_FILE = "collector.json"
#: The tables the collector's write API takes rows for (every write the loop makes).
WRITABLE_TABLES = ("eval_records", "feedback", "lock_results", "locks", "seeds")
WRITE_PATH = "/admin/v1/write"
#: Refreshable materialized views a process may ask the collector to rebuild (report/rollup.py).
REFRESHABLE_VIEWS = ("trace_rollup",)
REFRESH_PATH = "/admin/v1/refresh"
#: Attempts of one write when the collector cannot be reached or is unavailable (same idempotency key).
WRITE_ATTEMPTS = 4
_RETRY_STATUS = (502, 503, 504)


@dataclass(frozen=True, slots=True)
class _Response:
    status_code: int
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)


class _Connection:
    """One keep-alive HTTP connection to the collector's admin endpoint, re-opened after a failure."""

    def __init__(self, admin_url: str, token: str, timeout: float) -> None:
        url = urllib.parse.urlsplit(admin_url)
        if url.scheme != "http" or not url.hostname:
            raise StoreError(f"the collector's admin address must be http://host:port, got {admin_url!r}")
        self._host, self._port, self._prefix = url.hostname, url.port or 80, url.path.rstrip("/")
        self._timeout = timeout
        self._headers = {"authorization": f"Bearer {token}"}
        self._http: http.client.HTTPConnection | None = None

    def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> _Response:
        """POST; raises OSError or http.client.HTTPException when the collector cannot be reached.

        A kept-alive connection the collector closed while idle fails on first use: that one attempt
        is made again on a fresh connection (every request sent here is read-only or idempotent)."""
        reused = self._http is not None
        try:
            return self._send(path, body, headers)
        except ConnectionError:  # reset, broken pipe, RemoteDisconnected (closed before answering)
            self.close()
            if not reused:
                raise
        except (OSError, http.client.HTTPException):  # a timeout is not retried: it would double the wait
            self.close()
            raise
        try:
            return self._send(path, body, headers)
        except (OSError, http.client.HTTPException):
            self.close()
            raise

    def _send(self, path: str, body: bytes, headers: Mapping[str, str]) -> _Response:
        if self._http is None:
            self._http = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        self._http.request("POST", self._prefix + path, body, {**self._headers, **headers})
        response = self._http.getresponse()
        return _Response(response.status, response.read())

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None


def _wire_value(value: Any) -> Any:
    """A Python value as the JSON the write API's row models read (datetimes as ISO-8601 in UTC)."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
        return aware.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list | tuple | set):
        return [_wire_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _wire_value(v) for k, v in value.items()}
    return value


class RemoteStore(Store):
    """Queries and the loop's writes through a collector. ``store`` names the store the collector serves
    (``chdb:/path``): that is what provenance records, not the collector's passing address."""

    def __init__(
        self,
        admin_url: str,
        token: str,
        database: str = "tracelock",
        timeout: float = 120.0,
        *,
        store: str | None = None,
    ) -> None:
        self.admin_url = admin_url.rstrip("/")
        self.database = database
        self.description = store or f"collector:{self.admin_url}"
        self._client = _Connection(self.admin_url, token, timeout)

    def _unreachable(self, exc: Exception) -> StoreUnavailable:
        return StoreUnavailable(f"cannot reach the collector at {self.admin_url} ({self.description}): {exc}")

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> QueryResult:
        body = {"sql": sql, "params": {k: to_clickhouse_json(v) for k, v in (params or {}).items()}}
        try:
            response = self._client.post(
                "/admin/query", json.dumps(body, default=str).encode(), {"content-type": "application/json"}
            )
        except (OSError, http.client.HTTPException) as exc:
            raise self._unreachable(exc) from exc
        if response.status_code != 200:
            doc = _error_document(response)
            error = str(doc.get("error"))  # the collector names its store first already
            message = error if error.startswith(self.description) else f"{self.description}: {error}"
            raise QueryError(message, code=doc.get("code"), sql=sql)
        doc = response.json()
        types = doc["types"]
        return QueryResult(doc["columns"], types, [convert_row(list(r), types) for r in doc["rows"]])

    def write(
        self, table: str, columns: Mapping[str, Sequence[Any]], *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """Send one columnar batch of rows to the collector's write API; its receipt.

        Retried with the same idempotency key while the collector is unreachable or unavailable, so a
        batch the collector acknowledged once is stored once.
        """
        if table not in WRITABLE_TABLES:
            raise self._not_writable(f"writing to {table}")
        names = list(columns)
        rows = [
            dict(zip(names, map(_wire_value, values), strict=True))
            for values in zip(*columns.values(), strict=True)
        ]
        body = json.dumps({"rows": rows}, ensure_ascii=False, default=str).encode()
        headers = {"idempotency-key": idempotency_key or uuid.uuid4().hex}
        response = self._post_retrying(f"{WRITE_PATH}/{table}", body, headers)
        if response.status_code != 200:
            refusal = _error_document(response).get("error")
            raise StoreError(f"{self.description}: the collector refused rows for {table}: {refusal}")
        receipt: dict[str, Any] = response.json()
        return receipt

    def refresh_view(self, name: str) -> None:
        """Ask the collector to rebuild a refreshable view (one attempt: a refresh is an optimisation)."""
        try:
            response = self._client.post(f"{REFRESH_PATH}/{name}", b"", {"content-type": "application/json"})
        except (OSError, http.client.HTTPException) as exc:
            raise self._unreachable(exc) from exc
        if response.status_code != 200:
            refusal = _error_document(response).get("error")
            raise StoreError(f"{self.description}: the collector did not refresh {name}: {refusal}")

    def post_feedback(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """Send feedback records to the collector's ``/v1/feedback``, which validates and writes them
        (and counts feedback about traces it has not stored). A resent record keeps its feedback id."""
        body = json.dumps({"feedback": records}, ensure_ascii=False, default=str).encode()
        response = self._post_retrying("/v1/feedback", body, {})
        if response.status_code != 200:
            refusal = _error_document(response)
            reason = refusal.get("message") or refusal.get("error")
            raise StoreError(f"{self.description}: the collector refused the feedback: {reason}")
        result: dict[str, Any] = response.json()
        return result

    def _post_retrying(self, path: str, body: bytes, headers: dict[str, str]) -> _Response:
        """POST ``body``, again (same headers) while the collector is unreachable or unavailable."""
        headers = {**headers, "content-type": "application/json"}
        for attempt in range(WRITE_ATTEMPTS):
            if attempt:
                time.sleep(0.25 * 2**attempt)
            try:
                response = self._client.post(path, body, headers)
            except (OSError, http.client.HTTPException) as exc:
                if attempt == WRITE_ATTEMPTS - 1:
                    raise self._unreachable(exc) from exc
                continue
            if response.status_code not in _RETRY_STATUS or attempt == WRITE_ATTEMPTS - 1:
                return response
        raise AssertionError("unreachable")  # the loop returns or raises on its last attempt

    def insert(
        self,
        table: str,
        columns: Mapping[str, Sequence[Any]],
        *,
        settings: Mapping[str, object] | None = None,
    ) -> int:
        if not columns or not len(next(iter(columns.values()))):
            return 0
        return int(self.write(table, columns)["rows"])

    def _not_writable(self, what: str) -> StoreError:
        return StoreError(
            f"{self.description}: {what} is not something the running collector does for other processes; "
            f"it takes rows for {', '.join(WRITABLE_TABLES)} (and applies schema migrations itself when "
            "it starts)"
        )

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        raise self._not_writable("running a statement")

    def insert_formatted(
        self,
        table: str,
        column_names: Sequence[str],
        fmt: str,
        body: bytes,
        *,
        settings: Mapping[str, object] | None = None,
    ) -> None:
        raise self._not_writable(f"a pre-encoded {fmt} insert into {table}")

    def close(self) -> None:
        self._client.close()


def _error_document(response: _Response) -> dict[str, Any]:
    try:
        doc = response.json()
    except ValueError:
        doc = None
    return doc if isinstance(doc, dict) else {"error": response.text[:300]}


def remote_store_for(data_dir: str | Path, database: str = "tracelock") -> RemoteStore | None:
    """The collector serving ``data_dir``, if one runs: it wrote its address there and holds the directory.

    A leftover ``collector.json`` (the collector was killed) does not count: the directory's lock is free.
    The collector's own process (an in-process collector) opens the directory directly.
    """
    path = Path(data_dir) / ADMIN_FILE
    try:
        doc = json.loads(path.read_text())
        if doc.get("pid") == os.getpid() or not held_by_another_process(str(Path(data_dir).resolve())):
            return None
        return RemoteStore(doc["admin_url"], doc["token"], database, store=doc.get("store"))
    except (OSError, ValueError, KeyError, AttributeError):
        return None
