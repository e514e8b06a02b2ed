"""The loopback admin endpoint: read-only SQL for ``tracelock query`` and the reports while the collector
owns the chDB directory, plus feedback and the operations endpoints.

Its address and a random bearer token are written to ``<data-dir>/collector.json`` (mode 0600), which
``tracelock.store.remote_store`` reads when opening the directory reports DataDirLocked. Every route but
``/healthz`` needs that token (compared in constant time). Queries are checked and limited by the engine
(:mod:`tracelock.collector.security.sql_guard`) and run in a read-only session of their own, never in the
writer's. More routes mount through :meth:`AdminServer.routes`.
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
from starlette.routing import BaseRoute, Route

from tracelock.collector.host import Host
from tracelock.collector.receivers.otlp.http_server import feedback_route, operations_routes
from tracelock.collector.security.auth import BearerAuthMiddleware, BearerTokens
from tracelock.collector.security.config import AdminConfig
from tracelock.collector.security.sql_guard import AdminQueryGuard, open_admin_session
from tracelock.collector.serve_http import ServerThread, read_body
from tracelock.collector.write_api import WriteApi
from tracelock.errors import InputError, TracelockError
from tracelock.store import QueryResult, Store
from tracelock.store.base import to_clickhouse_json
from tracelock.store.remote_store import ADMIN_FILE

__all__ = ["ADMIN_FILE", "AdminServer"]

MAX_QUERY_BODY = 1 << 20  # one statement and its parameters


def _json_default(value: Any) -> Any:
    """ClickHouse's own text forms, which RemoteStore turns back into the same Python values."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    converted = to_clickhouse_json(value)
    return converted if converted is not value else str(value)


class AdminServer:
    def __init__(self, host: Host, config: AdminConfig | None = None) -> None:
        self.host = host
        self.config = config or AdminConfig()
        self.token = secrets.token_urlsafe(24)
        self._session: Store | None = None
        self._guard: AdminQueryGuard | None = None
        self._thread: ServerThread | None = None

    def _run(self, sql: str, params: dict[str, Any]) -> QueryResult:
        assert self._guard is not None and self._session is not None
        return self._session.query(self._guard.check(sql, params), params)

    async def _query(self, request: Request) -> Response:
        try:
            doc = json.loads(await read_body(request, MAX_QUERY_BODY))
            if not isinstance(doc, dict):
                raise InputError('body must be {"sql": str, "params": object}')
            sql, params = doc.get("sql"), doc.get("params") or {}
            if not isinstance(sql, str) or not isinstance(params, dict):
                raise InputError('body must be {"sql": str, "params": object}')
            result = await run_in_threadpool(self._run, sql, params)
        except (ValueError, RecursionError, InputError) as exc:
            return JSONResponse({"error": f"bad admin request: {exc}", "kind": "InputError"}, 400)
        except TracelockError as exc:
            return JSONResponse(
                {"error": str(exc), "kind": type(exc).__name__, "code": getattr(exc, "code", None)}, 400
            )
        payload = {"columns": result.columns, "types": result.types, "rows": result.rows}
        return Response(json.dumps(payload, default=_json_default), media_type="application/json")

    def routes(self) -> list[BaseRoute]:
        """Every admin route; all but ``/healthz`` sit behind the token."""
        return [
            Route("/admin/query", self._query, methods=["POST"]),
            feedback_route(self.host),
            *operations_routes(self.host),
            *WriteApi(lambda: self.host.store, self.token).routes(),  # the loop's writes (write_api.py)
        ]

    def app(self) -> Any:
        return BearerAuthMiddleware(
            Starlette(routes=self.routes()),
            BearerTokens([self.token]),
            endpoint="admin",
            exempt_paths=("/healthz",),
        )

    def start(self) -> None:
        self.host.open_store()  # migrations first: the admin session is read-only
        self._session = open_admin_session(self.host.store_settings, self.config)
        self._guard = AdminQueryGuard(self._session, self.config.allowed_table_functions)
        self._thread = ServerThread(self.app(), self.config.endpoint, "tracelock-admin")
        try:
            self._thread.start()
        except BaseException:
            self.shutdown()
            raise

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
        if self._session is not None:
            self._session.close()
            self._session = None
