"""A read-only Store that sends queries through a running collector's loopback admin endpoint.

One process owns a chDB data directory. While ``tracelock collector`` holds it, commands that only
read (``tracelock query``, the reports) reach the same data through the collector: it wrote its admin
address and token into ``<data-dir>/collector.json``. Writes are refused with a message saying so;
feedback goes through the collector's ``/v1/feedback`` (see :meth:`RemoteStore.post_feedback`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from tracelock.errors import QueryError, StoreError, StoreUnavailable
from tracelock.store.base import QueryResult, Store, to_clickhouse_json
from tracelock.store.chdb_store import convert_row

__all__ = ["ADMIN_FILE", "RemoteStore", "remote_store_for"]

ADMIN_FILE = "collector.json"


class RemoteStore(Store):
    def __init__(
        self, admin_url: str, token: str, database: str = "tracelock", timeout: float = 120.0
    ) -> None:
        self.admin_url = admin_url.rstrip("/")
        self.database = database
        self.description = f"collector:{self.admin_url}"
        self._client = httpx.Client(
            base_url=self.admin_url, headers={"authorization": f"Bearer {token}"}, timeout=timeout
        )

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> QueryResult:
        body = {"sql": sql, "params": {k: to_clickhouse_json(v) for k, v in (params or {}).items()}}
        try:
            response = self._client.post("/admin/query", content=json.dumps(body, default=str))
        except httpx.HTTPError as exc:
            raise StoreUnavailable(f"{self.description}: cannot reach the collector: {exc}") from exc
        if response.status_code != 200:
            try:
                doc = response.json()
            except ValueError:
                doc = {"error": response.text[:300]}
            raise QueryError(f"{self.description}: {doc.get('error')}", code=doc.get("code"), sql=sql)
        doc = response.json()
        types = doc["types"]
        return QueryResult(doc["columns"], types, [convert_row(list(r), types) for r in doc["rows"]])

    def _read_only(self, what: str) -> StoreError:
        return StoreError(
            f"{self.description}: {what} is not possible while the collector owns the chDB directory "
            "(queries only); stop the collector or send data through its OTLP / feedback endpoints"
        )

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        raise self._read_only("running a statement")

    def insert(self, table: str, columns: Mapping[str, Sequence[Any]], *, settings: Any = None) -> int:
        raise self._read_only(f"inserting into {table}")

    def insert_formatted(
        self, table: str, column_names: Sequence[str], fmt: str, body: bytes, *, settings: Any = None
    ) -> None:
        raise self._read_only(f"inserting into {table}")

    def post_feedback(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """Send feedback records to the collector's ``/v1/feedback`` (which writes them)."""
        try:
            response = self._client.post("/v1/feedback", json={"feedback": records})
        except httpx.HTTPError as exc:
            raise StoreUnavailable(f"{self.description}: cannot reach the collector: {exc}") from exc
        if response.status_code != 200:
            raise StoreError(f"{self.description}: feedback refused: {response.text[:300]}")
        answer: dict[str, Any] = response.json()
        return answer

    def close(self) -> None:
        self._client.close()


def remote_store_for(data_dir: str | Path, database: str = "tracelock") -> RemoteStore | None:
    """The collector's admin endpoint for ``data_dir``, if a collector wrote its address there."""
    path = Path(data_dir) / ADMIN_FILE
    try:
        doc = json.loads(path.read_text())
        return RemoteStore(doc["admin_url"], doc["token"], database)
    except (OSError, ValueError, KeyError):
        return None
