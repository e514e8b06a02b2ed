"""Settings of the ``otlp`` receiver (the OpenTelemetry Collector's shape: ``protocols: grpc/http``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tracelock.collector.security import AuthConfig, TLSConfig
from tracelock.collector.security.limits import RequestLimits

__all__ = [
    "GrpcProtocolConfig",
    "HttpProtocolConfig",
    "OTLPReceiverConfig",
    "ProtocolsConfig",
    "split_endpoint",
]

LANGFUSE_TRACES_PATH = "/api/public/otel/v1/traces"


def split_endpoint(endpoint: str) -> tuple[str, int]:
    host, sep, port = endpoint.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"endpoint {endpoint!r} must be host:port")
    return host.strip("[]"), int(port)


class _Protocol(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint: str
    auth: AuthConfig | None = Field(None, description="Bearer-token auth (tracelock.collector.security).")
    tls: TLSConfig | None = Field(None, description="Server TLS / mTLS.")
    limits: RequestLimits = Field(
        default_factory=RequestLimits, description="Per-request and concurrency limits."
    )

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        split_endpoint(value)
        return value


class GrpcProtocolConfig(_Protocol):
    endpoint: str = "127.0.0.1:4317"
    max_recv_msg_size_mib: int = Field(16, ge=1, le=512)
    max_workers: int = Field(16, ge=1, le=256)


class HttpProtocolConfig(_Protocol):
    endpoint: str = "127.0.0.1:4318"
    max_request_body_mib: int = Field(16, ge=1, le=512, description="Limit before and after decompression.")
    header_read_timeout_s: float = Field(
        10.0,
        gt=0,
        le=600,
        description="A request's headers must arrive within this (else the connection closes).",
    )
    body_read_timeout_s: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="An export's body must arrive within this once its headers have (408).",
    )
    max_receiving_requests: int = Field(
        256, ge=1, description="Exports still sending their bodies (beyond: 503); they hold no export slot."
    )
    traces_paths: list[str] = Field(
        default_factory=lambda: ["/v1/traces", LANGFUSE_TRACES_PATH],
        description="Paths accepting OTLP trace exports (Langfuse's SDK path included by default).",
    )


class ProtocolsConfig(BaseModel):
    """As in the OpenTelemetry Collector: the protocols listed are enabled (``grpc:`` alone, even empty,
    enables gRPC with defaults); without a ``protocols`` section both are."""

    model_config = ConfigDict(extra="forbid")

    grpc: GrpcProtocolConfig | None = None
    http: HttpProtocolConfig | None = None

    @model_validator(mode="before")
    @classmethod
    def _listed_means_enabled(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: ({} if value is None else value) for key, value in data.items()}
        return data


def _both_protocols() -> ProtocolsConfig:
    return ProtocolsConfig(grpc=GrpcProtocolConfig(), http=HttpProtocolConfig())


class OTLPReceiverConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    protocols: ProtocolsConfig = Field(default_factory=_both_protocols)
