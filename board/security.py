"""What keeps the board's pages and its two writes safe to serve.

- Auth: off on loopback; anywhere else every request needs the collector's bearer token
  (:class:`~tracelock.collector.security.auth.BearerAuthMiddleware`, the same tokens config). A
  browser cannot attach a header to a link, so ``/login`` checks a token once and keeps it in an
  HttpOnly, SameSite=Strict cookie that :class:`CookieBearer` turns back into the header.
- Writes (POST) need the page's CSRF token and, when the browser says where the request came from
  (``Origin`` / ``Sec-Fetch-Site``), the same origin. The token is random per process.
- Hosts: a ``Host`` outside the allowed list is refused (DNS rebinding onto a loopback board).
- Every response carries a Content-Security-Policy that allows only the board's own script and style.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Iterable, MutableMapping
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.requests import Request

from tracelock.collector.security.auth import (
    ASGIApp,
    BearerAuthMiddleware,
    BearerTokens,
    Receive,
    Scope,
    Send,
)

__all__ = [
    "COOKIE",
    "CookieBearer",
    "SecurityHeaders",
    "csrf_problem",
    "is_loopback",
    "new_csrf_token",
    "with_auth",
]

COOKIE = "tracelock_board_token"
PUBLIC_PATHS = ("/healthz", "/login", "/static/board.css", "/static/board.js")
_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"form-action 'self'; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_problem(request: Request, expected: str, presented: str | None) -> str | None:
    """Why a write must be refused (``None`` when it may go ahead)."""
    site = request.headers.get("sec-fetch-site")
    if site not in (None, "same-origin", "none"):
        return f"cross-site request refused (Sec-Fetch-Site: {site})"
    origin = request.headers.get("origin")
    if origin is not None:
        parts = urlsplit(origin)
        if origin == "null" or parts.netloc != request.headers.get("host", ""):
            return "cross-origin request refused (Origin does not match Host)"
    if not presented or not hmac.compare_digest(presented.encode(), expected.encode()):
        return "missing or wrong CSRF token: reload the page and try again"
    return None


class CookieBearer:
    """Turns the login cookie into ``Authorization: Bearer`` for the auth middleware behind it, and sends
    a browser with neither to ``/login`` instead of a bare 401."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = list(scope.get("headers", ()))
        names = {k for k, _ in headers}
        if b"authorization" not in names:
            token = _cookie_token(headers)
            if token:
                scope = {**scope, "headers": [*headers, (b"authorization", b"Bearer " + token.encode())]}
            elif (
                scope.get("method") == "GET"
                and scope.get("path") not in PUBLIC_PATHS
                and _wants_html(headers)
            ):
                target = "/login?next=" + quote(scope.get("path", "/"), safe="/")
                await send(
                    {
                        "type": "http.response.start",
                        "status": 303,
                        "headers": [(b"location", target.encode())],
                    }
                )
                await send({"type": "http.response.body", "body": b""})
                return
        await self.app(scope, receive, send)


def _cookie_token(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    for key, value in headers:
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except CookieError:  # a malformed Cookie header is treated as no cookie
                continue
            if COOKIE in jar:
                return jar[COOKIE].value
    return None


def _wants_html(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    return any(k == b"accept" and b"text/html" in v for k, v in headers)


class SecurityHeaders:
    """Adds the CSP and friends to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def with_auth(app: ASGIApp, tokens: BearerTokens | None) -> ASGIApp:
    """``app`` behind bearer auth (cookie or header) when ``tokens`` is set; unchanged otherwise."""
    if tokens is None:
        return app
    return CookieBearer(BearerAuthMiddleware(app, tokens, endpoint="board", exempt_paths=PUBLIC_PATHS))
