"""The loopback admin endpoint: read-only SQL for ``tracelock query`` and the reports while the collector
owns the chDB directory, plus feedback and the operations endpoints.

Its address and a random bearer token are written to ``<data-dir>/collector.json`` (mode 0600), which
``tracelock.store.remote_store`` reads when opening the directory reports DataDirLocked.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tracelock.collector.host import Host
from tracelock.collector.receivers.otlp.http_server import feedback_route, operations_routes
from tracelock.collector.security.sql_guard import check_read_only_sql
from tracelock.collector.serve_http import ServerThread
from tracelock.errors import InputError, TracelockError
from tracelock.store.base import to_clickhouse_json
from tracelock.store.remote_store import ADMIN_FILE

__all__ = ["ADMIN_FILE", "AdminServer"]


def _json_default(value: Any) -> Any:
    """ClickHouse's own text forms, which RemoteStore turns back into the same Python values."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    converted = to_clickhouse_json(value)
    return converted if converted is not value else str(value)


class AdminServer:
    def __init__(self, host: Host, endpoint: str) -> None:
        self.host = host
        self.endpoint = endpoint
        self.token = secrets.token_urlsafe(24)
        self._thread: ServerThread | None = None

    async def _query(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse({"error": "missing or wrong admin token (see collector.json)"}, 401)
        try:
            doc = json.loads(await request.body())
            sql, params = doc["sql"], doc.get("params") or {}
            if not isinstance(sql, str) or not isinstance(params, dict):
                raise InputError('body must be {"sql": str, "params": object}')
            sql = check_read_only_sql(sql)
            result = await run_in_threadpool(self.host.store.query, sql, params)
        except (ValueError, KeyError, InputError) as exc:
            return JSONResponse({"error": f"bad admin request: {exc}", "kind": "InputError"}, 400)
        except TracelockError as exc:
            return JSONResponse(
                {"error": str(exc), "kind": type(exc).__name__, "code": getattr(exc, "code", None)}, 400
            )
        payload = {"columns": result.columns, "types": result.types, "rows": result.rows}
        return Response(json.dumps(payload, default=_json_default), media_type="application/json")

    def start(self) -> None:
        routes = [Route("/admin/query", self._query, methods=["POST"]), feedback_route(self.host)]
        routes += operations_routes(self.host)
        self._thread = ServerThread(Starlette(routes=routes), self.endpoint, "tracelock-admin")
        self._thread.start()

    @property
    def url(self) -> str:
        assert self._thread is not None
        return self._thread.url

    def write_address(self, path: Path, extra: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({"admin_url": self.url, "token": self.token, "pid": os.getpid(), **extra}, fh)
        os.replace(tmp, path)

    def shutdown(self) -> None:
        if self._thread is not None:
            self._thread.stop()
            self._thread = None
