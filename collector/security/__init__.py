"""Who may talk to the collector, and over what: bearer-token auth and TLS/mTLS for both receivers.

Everything here is optional and off by default; a receiver turns it on from its config section:

- :class:`AuthConfig` / :class:`BearerTokens`: tokens from a file or an environment variable, checked in
  constant time; :class:`GrpcBearerAuthInterceptor` (sync and ``grpc.aio``) and
  :class:`BearerAuthMiddleware` (ASGI) enforce them on OTLP/gRPC, OTLP/HTTP, feedback and admin.
- :class:`TLSConfig`: server certificate and key, plus a client CA for mTLS;
  :func:`grpc_server_credentials` and :func:`uvicorn_ssl_options` turn it into what each server takes.
- :class:`RequestLimits` / :func:`apply_limits` and the concurrency interceptor/middleware: spans per
  request, attributes per span, value length, requests in flight, each counted in :data:`SECURITY_REGISTRY`.
- :mod:`~tracelock.collector.security.sql_guard`: the admin/query endpoint's guard, where ClickHouse
  parses each statement and enforces ``readonly`` and the time/result limits (imported from there).
"""

from tracelock.collector.security.auth import (
    AUTH_FAILURES,
    BearerAuthMiddleware,
    BearerTokens,
    GrpcAioBearerAuthInterceptor,
    GrpcBearerAuthInterceptor,
)
from tracelock.collector.security.config import AuthConfig, TLSConfig
from tracelock.collector.security.limits import (
    ConcurrencyLimitMiddleware,
    GrpcConcurrencyInterceptor,
    RequestLimits,
    apply_limits,
)
from tracelock.collector.security.registry import SECURITY_REGISTRY
from tracelock.collector.security.tls import grpc_server_credentials, server_ssl_context, uvicorn_ssl_options

__all__ = [
    "AUTH_FAILURES",
    "SECURITY_REGISTRY",
    "AuthConfig",
    "BearerAuthMiddleware",
    "BearerTokens",
    "ConcurrencyLimitMiddleware",
    "GrpcAioBearerAuthInterceptor",
    "GrpcBearerAuthInterceptor",
    "GrpcConcurrencyInterceptor",
    "RequestLimits",
    "TLSConfig",
    "apply_limits",
    "grpc_server_credentials",
    "server_ssl_context",
    "uvicorn_ssl_options",
]
