"""One mapping from failures to OTLP answers: permanent (400 / INVALID_ARGUMENT, never retried) or
retryable (429 / 503 / RESOURCE_EXHAUSTED / UNAVAILABLE, with Retry-After)."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from tracelock.errors import (
    InputError,
    Overloaded,
    PayloadTooLarge,
    StoreUnavailable,
    UnsupportedMediaType,
)

__all__ = ["Answer", "answer_for"]


@dataclass(frozen=True)
class Answer:
    http_status: int
    grpc_code: grpc.StatusCode
    message: str
    retry_after: float | None = None
    reason: str = "internal"


def answer_for(exc: BaseException) -> Answer:
    if isinstance(exc, InputError):
        status = (
            413 if isinstance(exc, PayloadTooLarge) else 415 if isinstance(exc, UnsupportedMediaType) else 400
        )
        return Answer(status, grpc.StatusCode.INVALID_ARGUMENT, str(exc), reason=_reason(str(exc)))
    if isinstance(exc, Overloaded):
        return Answer(429, grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc), exc.retry_after, "overloaded")
    if isinstance(exc, StoreUnavailable | OSError):
        return Answer(503, grpc.StatusCode.UNAVAILABLE, f"temporarily unavailable: {exc}", 5.0, "unavailable")
    return Answer(503, grpc.StatusCode.UNAVAILABLE, f"internal error: {exc}", 5.0, "internal")


def _reason(message: str) -> str:
    """A short label for the bad-request metric."""
    for needle, label in (
        ("Content-Type", "bad_content_type"),
        ("Content-Encoding", "bad_compression"),
        ("exceeds the limit", "too_large"),
        ("gzip", "bad_compression"),
        ("deflate", "bad_compression"),
        ("protobuf", "malformed_protobuf"),
        ("JSON", "malformed_json"),
        ("bytes, expected", "bad_id_length"),
        ("hex", "bad_id"),
    ):
        if needle in message:
            return label
    return "invalid"
