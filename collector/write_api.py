"""The collector's write API: the loop's writes while the collector owns the chDB directory.

One process owns a chDB directory, so while the collector runs, ``eval import``, ``seeds run``,
``lock add``/``sync``, ``lock check --record`` and ``feedback add`` write through it::

    POST /admin/v1/write/{table}        {"rows": [{"Column": value, ...}, ...]}
    POST /admin/v1/refresh/{view}       (no body: rebuild a refreshable view, e.g. the report rollup)
    Authorization: Bearer <admin token from collector.json>
    Idempotency-Key: <1-128 of A-Z a-z 0-9 . _ : ->   (optional; default: the body's sha256)

Typed rows, not SQL: only the tables in :data:`WRITABLE_TABLES` are writable, and each row is checked by
a pydantic model built from the table's own columns (``system.columns``), so ``deploy/sql`` stays the
one description of what a row holds. Unknown columns, wrong types, NaN, values out of an integer's range
and MATERIALIZED columns are refused with a 400 naming the field (``rows[3].Score: ...``).

Exactly once: a request is written under a lock, in three steps - look the key up in ``write_requests``
(a replay answers the first answer; the key with another body is a 409), insert the rows with the key as
ClickHouse's ``insert_deduplication_token``, log the key. A retry after a crash between the last two
finds no log row and inserts again, and the engine drops that block as a duplicate.

Answers: 200 ``{"table", "rows", "idempotency_key", "replayed"}``; 400 bad body (names the field);
401 token; 404 table not writable; 409 key reused; 413 over :data:`MAX_BODY_BYTES` or :data:`MAX_ROWS`;
503 store unavailable. The rows are durable when 200 is sent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tracelock.collector.serve_http import read_body
from tracelock.errors import InputError, StoreUnavailable, TracelockError
from tracelock.store import Store
from tracelock.store.chdb_store import _split_type_args
from tracelock.store.remote_store import REFRESH_PATH, REFRESHABLE_VIEWS, WRITABLE_TABLES, WRITE_PATH

__all__ = ["MAX_BODY_BYTES", "MAX_ROWS", "WriteApi", "WriteRejected", "row_model"]

MAX_BODY_BYTES = 64 * 1024 * 1024
MAX_ROWS = 100_000
_KEY = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_MAX_LISTED_ERRORS = 5
_INT_RANGE = re.compile(r"^(U?)Int(8|16|32|64)$")
_COLUMNS = """
SELECT name, type FROM system.columns
WHERE database = currentDatabase() AND table = {table:String}
  AND default_kind NOT IN ('MATERIALIZED', 'ALIAS')
ORDER BY position"""
_PREVIOUS = "SELECT BodySha256, Rows FROM write_requests FINAL WHERE IdempotencyKey = {key:String} LIMIT 1"


class WriteRejected(TracelockError):
    """A write refused with an HTTP status; ``field`` names the bad part of the request when there is one."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        self.status = status
        self.field = field
        super().__init__(message)


def _annotation(ctype: str) -> Any:
    """The Python type pydantic checks for a ClickHouse column type (strict enough to keep inserts safe)."""
    if ctype.startswith("LowCardinality("):
        return _annotation(ctype[len("LowCardinality(") : -1])
    if ctype.startswith("Nullable("):
        return _annotation(ctype[len("Nullable(") : -1]) | None
    if ctype == "String" or ctype.startswith("FixedString("):
        return str
    if ctype == "Bool":
        return bool
    if match := _INT_RANGE.match(ctype):
        bits = int(match.group(2))
        low, high = (0, 2**bits - 1) if match.group(1) else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
        return Annotated[int, Field(ge=low, le=high)]
    if ctype in ("Float32", "Float64"):
        return Annotated[float, Field(allow_inf_nan=False)]
    if ctype.startswith("DateTime"):
        return datetime
    if ctype in ("Date", "Date32"):
        return date
    if ctype.startswith("Array("):
        return list[_annotation(ctype[len("Array(") : -1])]  # type: ignore[misc]
    if ctype.startswith("Map("):
        key, value = _split_type_args(ctype[len("Map(") : -1])
        return dict[_annotation(key), _annotation(value)]  # type: ignore[misc]
    raise TypeError(f"column type {ctype} has no write-API mapping")


def row_model(table: str, columns: list[tuple[str, str]]) -> type[BaseModel]:
    """A model of one row of ``table`` from its ``(name, ClickHouse type)`` columns; every field optional
    (an omitted column takes the table's default), unknown fields forbidden."""
    fields: dict[str, Any] = {name: (_annotation(ctype), None) for name, ctype in columns}
    config = ConfigDict(extra="forbid", allow_inf_nan=False)
    return create_model(f"{table}_row", __config__=config, **fields)


def _field_path(loc: tuple[int | str, ...]) -> str:
    """``("rows", 3, "Score")`` -> ``rows[3].Score``."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


@dataclass(frozen=True)
class _Receipt:
    table: str
    rows: int
    idempotency_key: str
    replayed: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "rows": self.rows,
            "idempotency_key": self.idempotency_key,
            "replayed": self.replayed,
        }


class WriteApi:
    """The write routes over the collector's store (``get_store`` is the collector's shared store)."""

    def __init__(self, get_store: Callable[[], Store], token: str) -> None:
        self._get_store = get_store
        self._token = token
        self._models: dict[str, type[BaseModel]] = {}
        self._lock = threading.Lock()  # the look-up, the insert and the log row of one key are one step

    def routes(self) -> list[Route]:
        return [
            Route(f"{WRITE_PATH}/{{table}}", self._endpoint, methods=["POST"]),
            Route(f"{REFRESH_PATH}/{{view}}", self._refresh, methods=["POST"]),
        ]

    async def _answer(self, request: Request, action: Callable[[], Awaitable[dict[str, Any]]]) -> Response:
        """The token check and one mapping of refusals to answers, for every route of this API."""
        expected = f"Bearer {self._token}".encode()
        if not hmac.compare_digest(request.headers.get("authorization", "").encode(), expected):
            return JSONResponse({"error": "missing or wrong admin token (see collector.json)"}, 401)
        try:
            return JSONResponse(await action())
        except WriteRejected as exc:
            doc = {"error": str(exc), "field": exc.field, "kind": "InputError"}
            return JSONResponse(doc, exc.status)
        except StoreUnavailable as exc:
            return JSONResponse({"error": str(exc), "kind": type(exc).__name__}, 503)
        except TracelockError as exc:
            return JSONResponse({"error": str(exc), "kind": type(exc).__name__}, 400)

    async def _refresh(self, request: Request) -> Response:
        """Start a rebuild of one of :data:`REFRESHABLE_VIEWS` (ClickHouse runs it in the background)."""

        async def refresh() -> dict[str, Any]:
            view = request.path_params["view"]
            if view not in REFRESHABLE_VIEWS:
                raise WriteRejected(
                    404, f"view {view!r} is not refreshable here; refreshable: {', '.join(REFRESHABLE_VIEWS)}"
                )
            await run_in_threadpool(self._get_store().refresh_view, view)
            return {"view": view, "refreshing": True}

        return await self._answer(request, refresh)

    async def _endpoint(self, request: Request) -> Response:
        async def write() -> dict[str, Any]:
            table = request.path_params["table"]
            if table not in WRITABLE_TABLES:
                raise WriteRejected(
                    404, f"table {table!r} is not writable here; writable: {', '.join(WRITABLE_TABLES)}"
                )
            key = request.headers.get("idempotency-key")
            if key is not None and not _KEY.fullmatch(key):
                raise WriteRejected(
                    400, "Idempotency-Key: use 1-128 of A-Z a-z 0-9 . _ : -", field="Idempotency-Key"
                )
            try:
                body = await read_body(request, MAX_BODY_BYTES)
            except InputError as exc:
                raise WriteRejected(413, str(exc)) from None
            receipt = await run_in_threadpool(self.write, table, body, key)
            return receipt.as_dict()

        return await self._answer(request, write)

    def write(self, table: str, body: bytes, key: str | None) -> _Receipt:
        """Validate and store one request's rows exactly once (see the module docstring)."""
        digest = hashlib.sha256(body).hexdigest()
        key = key or digest
        with self._lock:
            store = self._get_store()
            previous = store.query(_PREVIOUS, {"key": key}).dicts()
            if previous:
                if previous[0]["BodySha256"] != digest:
                    raise WriteRejected(
                        409, f"Idempotency-Key {key!r} was used for a different body", "Idempotency-Key"
                    )
                return _Receipt(table, int(previous[0]["Rows"]), key, replayed=True)
            columns = self._columns(store, table, body)
            rows = store.insert(table, columns, settings={"insert_deduplication_token": f"{table}:{key}"})
            store.insert(
                "write_requests",
                {
                    "IdempotencyKey": [key],
                    "TableName": [table],
                    "BodySha256": [digest],
                    "Rows": [rows],
                    "ReceivedAt": [datetime.now(timezone.utc)],
                },
            )
        return _Receipt(table, rows, key, replayed=False)

    def _model(self, store: Store, table: str) -> type[BaseModel]:
        if table not in self._models:
            columns = [(name, ctype) for name, ctype in store.query(_COLUMNS, {"table": table}).rows]
            self._models[table] = row_model(table, columns)
        return self._models[table]

    def _columns(self, store: Store, table: str, body: bytes) -> dict[str, list[Any]]:
        """The body's rows, checked against the table's row model, as one columnar batch."""
        try:
            doc = json.loads(body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise WriteRejected(400, f"body is not JSON: {exc}") from None
        if not isinstance(doc, dict) or set(doc) != {"rows"} or not isinstance(doc["rows"], list):
            raise WriteRejected(400, 'body must be {"rows": [row, ...]}', field="rows")
        items: list[Any] = doc["rows"]
        if not items:
            raise WriteRejected(400, "no rows in the body", field="rows")
        if len(items) > MAX_ROWS:
            raise WriteRejected(413, f"{len(items)} rows; at most {MAX_ROWS} per request", field="rows")
        model = self._model(store, table)
        rows, problems = [], []
        for i, item in enumerate(items):
            try:
                rows.append(model.model_validate(item).model_dump(exclude_unset=True))
            except ValidationError as exc:
                for error in exc.errors():
                    problems.append(f"{_field_path(('rows', i, *error['loc']))}: {error['msg']}")
        if problems:
            first = problems[0].split(":", 1)[0]
            hidden = len(problems) - _MAX_LISTED_ERRORS
            more = f" (and {hidden} more)" if hidden > 0 else ""
            raise WriteRejected(400, "; ".join(problems[:_MAX_LISTED_ERRORS]) + more, field=first)
        names = list(rows[0])
        if not names:
            raise WriteRejected(400, "rows[0]: sets no column", field="rows[0]")
        for i, row in enumerate(rows):
            if set(row) != set(names):
                differ = sorted(set(row) ^ set(names))
                raise WriteRejected(
                    400, f"rows[{i}]: sets other columns than rows[0] ({', '.join(differ)})", f"rows[{i}]"
                )
        return {name: [row[name] for row in rows] for name in names}
