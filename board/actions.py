"""The board's writes: lock a seed or trace (the code of ``tracelock lock add``), add feedback to a trace
(the code of ``tracelock feedback add``), and the login form when auth is on.

A write is a POST with a form or JSON body of at most 64 KiB, validated by a pydantic model (unknown
fields refused), carrying the page's CSRF token (``csrf`` field or ``X-CSRF-Token`` header). A form
answers with a redirect to the page showing the result; JSON answers with JSON.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from tracelock.board.render import page_url
from tracelock.board.security import COOKIE, csrf_problem
from tracelock.collector.feedback import parse_feedback, store_feedback
from tracelock.errors import ConfigError, InputError, LockFileError, StoreError
from tracelock.lock.adding import lock_captured
from tracelock.lock.capture import capture_seed, capture_trace
from tracelock.lock.expect_spec import parse_expect

if TYPE_CHECKING:
    from tracelock.board.app import Board

__all__ = ["ACTIONS", "bind", "login"]

MAX_BODY = 64 * 1024
Action = Callable[["Board", Request, dict[str, Any]], Response]


class LockRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    csrf: str = ""
    seed_id: str = Field("", max_length=200)
    trace_id: str = Field("", max_length=64)
    dataset: str = Field("", max_length=128)
    case_id: str = Field("", max_length=128)
    expect: list[str] = Field(default_factory=list, max_length=20)
    description: str = Field("", max_length=2000)


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    csrf: str = ""
    trace_id: str = Field(max_length=64)
    kind: Literal["complaint", "thumbs_down", "thumbs_up", "rating", "comment"] = "comment"
    comment: str = Field("", max_length=4000)
    value: float | None = None


async def _body(request: Request) -> dict[str, Any]:
    """The body as a dict: JSON object, or form fields (a repeated field becomes a list)."""
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise InputError(f"request body larger than {MAX_BODY} bytes")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            doc = json.loads(raw or b"{}")
        except (UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"malformed JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise InputError("the JSON body must be an object")
        return doc
    if kind not in ("application/x-www-form-urlencoded", ""):
        raise InputError(f"unsupported content type {kind!r}: send a form or JSON")
    try:
        pairs = parse_qsl(
            raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=100
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"malformed form body: {exc}") from None
    fields: dict[str, Any] = {}
    for key, value in pairs:
        if key == "expect":
            fields.setdefault(key, []).append(value)
        elif key in fields:
            raise InputError(f"field {key!r} given twice")
        else:
            fields[key] = value
    if "expect" in fields:
        fields["expect"] = [e for e in fields["expect"] if e.strip()]
    return fields


def _wants_json(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("application/json")


def bind(board: Board, action: Action) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint: read and check the body (CSRF, size, shape), run ``action`` in the thread pool, and
    answer errors as JSON or as an error page."""

    async def endpoint(request: Request) -> Response:
        as_json = _wants_json(request)

        def refuse(status: int, message: str) -> Response:
            if as_json:
                return JSONResponse({"error": message}, status_code=status)
            return board.error(request, status, message)

        if request.method == "GET":
            return await run_in_threadpool(action, board, request, {})
        try:
            fields = await _body(request)
        except InputError as exc:
            return refuse(400, str(exc))
        presented = request.headers.get("x-csrf-token") or str(fields.get("csrf", ""))
        problem = csrf_problem(request, board.options.csrf_token, presented)
        if problem and action is not login:
            return refuse(403, problem)
        try:
            response = await run_in_threadpool(action, board, request, fields)
            board.cache.clear()
            return response
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            return refuse(400, f"{where}: {first['msg']}")
        except (ConfigError, InputError, LockFileError) as exc:
            return refuse(400, str(exc))
        except StoreError as exc:
            return refuse(503, str(exc))

    return endpoint


def lock(board: Board, request: Request, fields: dict[str, Any]) -> Response:
    """Lock a seed (or, without one, a trace) into ``locks_dir`` through ``lock add``'s code."""
    body = LockRequest.model_validate(fields)
    if bool(body.seed_id) == bool(body.trace_id):
        raise InputError("give exactly one of seed_id or trace_id")
    assertions = tuple(parse_expect(s) for s in (body.expect or ["passed"]))
    store = board.store
    captured = capture_seed(store, body.seed_id) if body.seed_id else capture_trace(store, body.trace_id)
    locked = lock_captured(
        store,
        captured,
        board.options.locks_dir,
        assertions=assertions,
        dataset=body.dataset or None,
        case_id=body.case_id or None,
        description=body.description,
    )
    facts = {
        "dataset": locked.case.dataset,
        "case_id": locked.case.id,
        "version": locked.lock_file.version,
        "lock_file": str(locked.lock_file.path),
        "source_trace_id": captured.trace_id,
        "mirror_error": locked.mirror_error,
    }
    if _wants_json(request):
        return JSONResponse(facts)
    target = page_url("/locks", dataset=locked.case.dataset, added=locked.case.id) + f"#case-{locked.case.id}"
    return RedirectResponse(target, status_code=303)


def feedback(board: Board, request: Request, fields: dict[str, Any]) -> Response:
    body = FeedbackRequest.model_validate(fields)
    record: dict[str, Any] = {"trace_id": body.trace_id, "kind": body.kind, "comment": body.comment}
    if body.value is not None:
        record["value"] = body.value
    rows = parse_feedback([record], default_source="board")
    store = board.store
    post = getattr(store, "post_feedback", None)  # through a running collector (RemoteStore)
    result = post([record]) if post is not None else store_feedback(store, rows).as_dict()
    if _wants_json(request):
        return JSONResponse(result)
    return RedirectResponse(f"/trace/{rows[0]['TraceId']}#feedback", status_code=303)


def login(board: Board, request: Request, fields: dict[str, Any]) -> Response:
    """GET: the token form. POST: check the token, keep it in an HttpOnly cookie, go where the user was."""
    tokens = board.options.tokens
    target = str(fields.get("next") or request.query_params.get("next") or "/rollouts")
    if not target.startswith("/") or target.startswith("//"):
        target = "/rollouts"
    context = {"page": "login", "title": "Sign in", "next": target, "message": ""}
    if tokens is None:
        return RedirectResponse(target, status_code=303)
    if request.method == "POST":
        token = str(fields.get("token", ""))
        if tokens.check(f"Bearer {token}") is None:
            response = RedirectResponse(target, status_code=303)
            response.set_cookie(
                COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https"
            )
            return response
        context["message"] = "wrong token"
        return HTMLResponse(board.html(request, "login.html", context, 401), status_code=401)
    return HTMLResponse(board.html(request, "login.html", context))


ACTIONS: list[tuple[str, Action]] = [("/actions/lock", lock), ("/actions/feedback", feedback)]
