"""Config sections for auth, TLS and the admin endpoint (unknown keys forbidden).

YAML shape, under a receiver (``receivers::otlp::grpc``, ``receivers::otlp::http``)::

    auth:
      tokens_file: /etc/tracelock/tokens     # one token per line, '#' comments
      tokens_env: TRACELOCK_COLLECTOR_TOKENS  # comma-separated; either source or both
    tls:
      cert_file: server.pem
      key_file: server.key
      client_ca_file: ca.pem                  # set it to require client certificates (mTLS)

and under ``service::admin`` (see :mod:`tracelock.collector.admin`)::

    admin:
      endpoint: 127.0.0.1:0                   # loopback only
      max_execution_time_s: 60                # engine-enforced, per admin query
      allowed_table_functions: []             # e.g. [numbers]; none by default
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tracelock import env

__all__ = ["AdminConfig", "AuthConfig", "TLSConfig", "read_tokens_file"]

DEFAULT_TOKENS_ENV = env.COLLECTOR_TOKENS
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def read_tokens_file(path: Path) -> list[str]:
    """The tokens in ``path``: one a line, blank lines and ``#`` comments skipped. Raises OSError and
    UnicodeDecodeError as reading does."""
    text = Path(path).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


class AuthConfig(BaseModel):
    """Bearer-token auth. ``enabled`` with no token source, or a tokens file without a token, is refused,
    so auth is never silently open (or silently closed to everyone)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    tokens_file: Path | None = None
    tokens_env: str | None = None
    exempt_paths: tuple[str, ...] = ("/healthz",)

    @field_validator("tokens_file")
    @classmethod
    def _file_has_a_token(cls, path: Path | None) -> Path | None:
        if path is None:
            return None
        try:
            tokens = read_tokens_file(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read {str(path)!r}: {exc}") from exc
        if not tokens:
            raise ValueError(f"{str(path)!r} holds no token (one a line; '#' starts a comment)")
        return path

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


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class AdminConfig(BaseModel):
    """The admin endpoint: loopback only, and the limits ClickHouse enforces on every admin query."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint: str = Field("127.0.0.1:0", description="Loopback address of the admin endpoint (0 = any port).")
    max_execution_time_s: float = Field(60.0, gt=0, le=3600, description="Engine-enforced time per query.")
    max_result_rows: int = Field(1_000_000, ge=1, description="Rows an admin query may return.")
    max_result_mib: int = Field(256, ge=1, description="Bytes (MiB) an admin query may return.")
    max_memory_mib: int = Field(1024, ge=16, description="Memory (MiB) an admin query may use in the engine.")
    allowed_table_functions: tuple[str, ...] = Field(
        (), description="Table functions admin queries may call (none by default), e.g. [numbers]."
    )

    @field_validator("endpoint")
    @classmethod
    def _loopback_only(cls, endpoint: str) -> str:
        host, sep, port = endpoint.rpartition(":")
        host = host.strip("[]")
        if not sep or not port.isdigit() or not host:
            raise ValueError(f"endpoint {endpoint!r} must be host:port")
        if not _is_loopback(host):
            raise ValueError(
                f"{host!r} is not a loopback address: the admin endpoint serves SQL and must listen on "
                "127.0.0.1, ::1 or localhost"
            )
        return endpoint

    @field_validator("allowed_table_functions")
    @classmethod
    def _names(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        for name in names:
            if not _NAME.match(name):
                raise ValueError(f"{name!r} is not a table function name")
        return names
