"""Config sections for auth and TLS, shared by every receiver that accepts them (unknown keys forbidden).

YAML shape, under a receiver (``receivers::otlp::grpc``, ``receivers::otlp::http``, ``admin``, ...)::

    auth:
      tokens_file: /etc/tracelock/tokens     # one token per line, '#' comments
      tokens_env: TRACELOCK_COLLECTOR_TOKENS  # comma-separated; either source or both
    tls:
      cert_file: server.pem
      key_file: server.key
      client_ca_file: ca.pem                  # set it to require client certificates (mTLS)
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, model_validator

__all__ = ["AuthConfig", "TLSConfig"]

DEFAULT_TOKENS_ENV = "TRACELOCK_COLLECTOR_TOKENS"


class AuthConfig(BaseModel):
    """Bearer-token auth. ``enabled`` with no token source is refused, so auth is never silently open."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    tokens_file: Path | None = None
    tokens_env: str | None = None
    exempt_paths: tuple[str, ...] = ("/healthz",)

    @model_validator(mode="after")
    def _needs_a_source(self) -> AuthConfig:
        if self.enabled and self.tokens_file is None and self.tokens_env is None:
            raise ValueError("auth is enabled but names no token source: set tokens_file or tokens_env")
        return self


class TLSConfig(BaseModel):
    """Server TLS; with ``client_ca_file`` clients must present a certificate signed by that CA (mTLS)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cert_file: Path
    key_file: Path
    client_ca_file: Path | None = None

    @property
    def mutual(self) -> bool:
        return self.client_ca_file is not None

    @model_validator(mode="after")
    def _files_exist(self) -> TLSConfig:
        for name in ("cert_file", "key_file", "client_ca_file"):
            path = getattr(self, name)
            if path is not None and not Path(path).is_file():
                raise ValueError(f"{name} {str(path)!r} does not exist or is not a file")
        return self
