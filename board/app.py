"""The board's Starlette application: routes, the page wrapper (cache, errors, templates) and startup.

Pages are plain functions ``(board, request) -> (template, context)`` in :mod:`tracelock.board.pages`;
the wrapper here renders them, caches the HTML per URL and data fingerprint, and turns a bad filter
into a 400 page that names it. Handlers are synchronous: Starlette runs them in its thread pool, and
the store serialises what its backend needs. A page of older data (younger than ``max_stale_s``) is
served at once and re-rendered on one background thread, so beside a busy collector a view waits for a
report only the first time its URL is asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from tracelock.board.cache import MAX_STALE_S, PageCache
from tracelock.board.render import environment
from tracelock.board.security import SecurityHeaders, new_csrf_token, with_auth
from tracelock.collector.security.auth import ASGIApp, BearerTokens
from tracelock.errors import ConfigError, InputError, LockFileError, StoreError, TracelockError
from tracelock.store import Store

__all__ = ["Board", "BoardOptions", "PageResult", "create_app"]

_log = logging.getLogger("tracelock.board")

PageResult = tuple[str, dict[str, Any]]
PageFunction = Callable[["Board", Request], PageResult | Response]
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
NAV = (
    ("rollouts", "/rollouts", "Rollouts"),
    ("divergence", "/divergence", "Divergence"),
    ("coverage", "/coverage", "Case board"),
    ("traces", "/traces", "Traces"),
    ("evals", "/evals", "Eval runs"),
    ("locks", "/locks", "Locks"),
    ("seeds", "/seeds", "Seeds"),
)


@dataclass
class BoardOptions:
    """How the board is served: where lock files live, who may use it, which Host names it answers."""

    locks_dir: Path = Path("locks")
    tokens: BearerTokens | None = None
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS
    cache_pages: bool = True
    max_stale_s: float = MAX_STALE_S
    csrf_token: str = field(default_factory=new_csrf_token)


class Board:
    """What every page handler reaches: the store, the options, templates and the page cache."""

    def __init__(self, store: Store, options: BoardOptions) -> None:
        self.store, self.options = store, options
        self.env = environment()
        self.cache = PageCache(store, options.locks_dir)
        self._refresher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="board-refresh")

    def html(self, request: Request, template: str, context: dict[str, Any], status: int = 200) -> str:
        page = self.env.get_template(template)
        return page.render(
            nav=NAV,
            request=request,
            csrf_token=self.options.csrf_token,
            database=self.store.database,
            rendered_at=datetime.now(timezone.utc),
            store=self.store.description,
            status=status,
            **context,
        )

    def error(self, request: Request, status: int, message: str, hint: str = "") -> HTMLResponse:
        context = {"page": "error", "title": "error", "message": message, "hint": hint}
        return HTMLResponse(self.html(request, "error.html", context, status), status_code=status)

    def page(self, function: PageFunction) -> Callable[[Request], Response]:
        """A GET endpoint: cached by URL and data fingerprint; tracelock errors become readable pages."""

        def endpoint(request: Request) -> Response:
            key = str(request.url.path) + "?" + str(request.url.query)
            if self.options.cache_pages:
                page = self.cache.while_refreshing(key, self.options.max_stale_s)
                if page is not None:
                    return HTMLResponse(page, headers={"x-board-cache": "stale"})
            fingerprint = self.cache.fingerprint() if self.options.cache_pages else ""
            cached = (
                self.cache.get(key, fingerprint, self.options.max_stale_s)
                if self.options.cache_pages
                else None
            )
            if cached is not None:
                if not cached[1]:
                    self._refresh_later(key, function, request)
                return HTMLResponse(cached[0], headers={"x-board-cache": "hit" if cached[1] else "stale"})
            try:
                result = function(self, request)
            except (ConfigError, InputError, LockFileError) as exc:
                return self.error(request, 400, str(exc))
            except StoreError as exc:
                return self.error(request, 503, str(exc), "is the store reachable? (`tracelock db status`)")
            if isinstance(result, Response):
                return result
            template, context = result
            text = self.html(request, template, context)
            if self.options.cache_pages:
                self.cache.put(key, fingerprint, text)
            return HTMLResponse(text, headers={"x-board-cache": "miss"})

        return endpoint

    def _refresh_later(self, key: str, function: PageFunction, request: Request) -> None:
        generation = self.cache.begin_refresh(key)
        if generation is not None:
            self._refresher.submit(self._refresh, key, function, request, generation)

    def _refresh(self, key: str, function: PageFunction, request: Request, generation: int) -> None:
        """Render ``key`` again for the data now stored; a failure keeps the older page (and is logged)."""
        try:
            fingerprint = self.cache.fingerprint()
            result = function(self, request)
            if not isinstance(result, Response):
                self.cache.put(key, fingerprint, self.html(request, *result), generation)
        except TracelockError as exc:
            _log.warning("board: refreshing %s failed: %s", key, exc)
        finally:
            self.cache.end_refresh(key)


def create_app(store: Store, options: BoardOptions | None = None) -> ASGIApp:
    """The board as an ASGI app over ``store`` (which the caller opens and closes)."""
    from tracelock.board import actions, pages

    options = options or BoardOptions()
    board = Board(store, options)
    routes: list[Route | Mount] = [
        Route("/", lambda request: RedirectResponse("/rollouts", status_code=303)),
        Route("/healthz", lambda request: PlainTextResponse("ok")),
        Mount("/static", StaticFiles(packages=[("tracelock.board", "static")]), name="static"),
    ]
    routes += [Route(path, board.page(function)) for path, function in pages.PAGES]
    routes += [
        Route(path, actions.bind(board, function), methods=["POST"]) for path, function in actions.ACTIONS
    ]
    routes += [Route("/login", actions.bind(board, actions.login), methods=["GET", "POST"])]

    async def not_found(request: Request, exc: Exception) -> Response:
        return board.error(request, 404, f"no page at {request.url.path}", "see the links at the top")

    async def failed(request: Request, exc: Exception) -> Response:
        return board.error(request, 500, f"internal error: {type(exc).__name__}")

    app = Starlette(
        routes=routes,
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(options.allowed_hosts))],
        exception_handlers={404: not_found, TracelockError: failed},
    )
    return SecurityHeaders(with_auth(app, options.tokens))
