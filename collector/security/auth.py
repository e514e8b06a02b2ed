"""Bearer-token auth for the collector's gRPC and HTTP endpoints, checked in constant time.

Clients send ``authorization: Bearer <token>`` (gRPC metadata or HTTP header; the OTel SDK exporters do
this through their ``headers=`` argument or ``OTEL_EXPORTER_OTLP_HEADERS``). Every configured token is
compared with :func:`hmac.compare_digest` and the loop never stops early, so the time taken says nothing
about which token, or how much of one, matched. Refusals are counted in :data:`AUTH_FAILURES`.
"""

from __future__ import annotations

import hmac
import json
import os
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

import grpc
from prometheus_client import Counter

from tracelock.collector.security.config import AuthConfig, read_tokens_file
from tracelock.collector.security.registry import SECURITY_REGISTRY
from tracelock.errors import ConfigError

__all__ = [
    "AUTH_FAILURES",
    "BearerAuthMiddleware",
    "BearerTokens",
    "GrpcAioBearerAuthInterceptor",
    "GrpcBearerAuthInterceptor",
]

AUTH_FAILURES = Counter(
    "tracelock_collector_auth_failures",
    "Requests refused for a missing or wrong bearer token.",
    ["endpoint", "reason"],
    registry=SECURITY_REGISTRY,
)

_MISSING = "missing"
_INVALID = "invalid"


class BearerTokens:
    """The set of accepted tokens. ``check(header)`` answers ``None`` when allowed, else the reason."""

    def __init__(self, tokens: Iterable[str]) -> None:
        self._tokens = tuple(t.encode() for t in dict.fromkeys(tokens) if t)
        if not self._tokens:
            raise ConfigError("no bearer tokens configured (the token source is empty)", field="auth")

    def __len__(self) -> int:
        return len(self._tokens)

    @classmethod
    def from_config(cls, config: AuthConfig, environ: MutableMapping[str, str] | None = None) -> BearerTokens:
        """Tokens from ``tokens_file`` (one a line, ``#`` comments) and/or ``tokens_env`` (comma list)."""
        env = os.environ if environ is None else environ
        tokens: list[str] = []
        if config.tokens_file is not None:
            try:
                tokens += read_tokens_file(config.tokens_file)
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(
                    f"cannot read {config.tokens_file}: {exc}", field="auth.tokens_file"
                ) from exc
        if config.tokens_env is not None:
            if config.tokens_env not in env:
                raise ConfigError(
                    f"environment variable {config.tokens_env} is not set", field="auth.tokens_env"
                )
            tokens += [t.strip() for t in env[config.tokens_env].split(",") if t.strip()]
        for token in tokens:
            if any(ch.isspace() for ch in token) or not token.isprintable():
                raise ConfigError("a token contains whitespace or control characters", field="auth")
        return cls(tokens)

    def check(self, authorization: str | bytes | None) -> str | None:
        """``None`` if ``authorization`` is ``Bearer <accepted token>``, else ``"missing"``/``"invalid"``."""
        if not authorization:
            return _MISSING
        value = (
            authorization.encode("latin-1", "replace") if isinstance(authorization, str) else authorization
        )
        scheme, _, presented = value.strip().partition(b" ")
        if scheme.lower() != b"bearer" or not presented:
            return _INVALID
        presented = presented.strip()
        matched = False
        for token in self._tokens:  # no early exit: constant time in which token matched
            matched |= hmac.compare_digest(presented, token)
        return None if matched else _INVALID


def _grpc_authorization(details: grpc.HandlerCallDetails) -> str | bytes | None:
    for key, value in details.invocation_metadata or ():  # (key, value) pairs (namedtuples at run time)
        if key == "authorization":
            return value
    return None


def _denying_handler(
    handler: grpc.RpcMethodHandler[Any, Any], reason: str, *, aio: bool
) -> grpc.RpcMethodHandler[Any, Any]:
    """A handler of the same kind as ``handler`` that aborts with UNAUTHENTICATED."""
    message = f"bearer token {reason}: send 'authorization: Bearer <token>'"
    if aio:

        async def deny(_request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    else:

        def deny(_request: Any, context: grpc.ServicerContext) -> None:  # type: ignore[misc]
            context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    kind = (
        ("stream" if handler.request_streaming else "unary")
        + "_"
        + ("stream" if handler.response_streaming else "unary")
    )
    factory = getattr(grpc, f"{kind}_rpc_method_handler")
    denying: grpc.RpcMethodHandler[Any, Any] = factory(
        deny,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )
    return denying


class GrpcBearerAuthInterceptor(grpc.ServerInterceptor):
    """Sync ``grpc.server`` interceptor: every method needs a valid bearer token."""

    def __init__(self, tokens: BearerTokens, endpoint: str = "otlp_grpc") -> None:
        self._tokens = tokens
        self._endpoint = endpoint

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = continuation(handler_call_details)
        reason = self._tokens.check(_grpc_authorization(handler_call_details))
        if reason is None or handler is None:
            return handler
        AUTH_FAILURES.labels(self._endpoint, reason).inc()
        return _denying_handler(handler, reason, aio=False)


class GrpcAioBearerAuthInterceptor(grpc.aio.ServerInterceptor):
    """``grpc.aio.server`` interceptor: every method needs a valid bearer token."""

    def __init__(self, tokens: BearerTokens, endpoint: str = "otlp_grpc") -> None:
        self._tokens = tokens
        self._endpoint = endpoint

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        reason = self._tokens.check(_grpc_authorization(handler_call_details))
        if reason is None or handler is None:
            return handler
        AUTH_FAILURES.labels(self._endpoint, reason).inc()
        return _denying_handler(handler, reason, aio=True)


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BearerAuthMiddleware:
    """ASGI middleware: HTTP requests outside ``exempt_paths`` need a valid bearer token, else 401.

    The 401 body is JSON ``{"error": ...}`` and carries ``WWW-Authenticate: Bearer``, so a client knows what
    to send; the request body is never read before the check.
    """

    def __init__(
        self,
        app: ASGIApp,
        tokens: BearerTokens,
        *,
        endpoint: str = "otlp_http",
        exempt_paths: Iterable[str] = ("/healthz",),
    ) -> None:
        self.app = app
        self._tokens = tokens
        self._endpoint = endpoint
        self._exempt = frozenset(exempt_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self._exempt:
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope.get("headers", ()) if k == b"authorization"), None)
        reason = self._tokens.check(header)
        if reason is None:
            await self.app(scope, receive, send)
            return
        AUTH_FAILURES.labels(self._endpoint, reason).inc()
        body = json.dumps({"error": f"bearer token {reason}: send 'Authorization: Bearer <token>'"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Bearer realm="tracelock"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
