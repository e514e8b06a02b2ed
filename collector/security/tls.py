"""TLS and mTLS for the receivers, built from :class:`~tracelock.collector.security.config.TLSConfig`.

The same config gives gRPC its ``ServerCredentials`` and uvicorn its ``ssl_*`` options, so both receivers
agree on what "mTLS on" means: a client certificate signed by ``client_ca_file`` is required, not merely
accepted.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import grpc

from tracelock.collector.security.config import TLSConfig
from tracelock.errors import ConfigError

__all__ = ["grpc_server_credentials", "server_ssl_context", "uvicorn_ssl_options"]


def _read(path: Path, field: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}", field=f"tls.{field}") from exc


def grpc_server_credentials(config: TLSConfig) -> grpc.ServerCredentials:
    """Credentials for ``server.add_secure_port``; mTLS requires a client certificate."""
    key = _read(config.key_file, "key_file")
    cert = _read(config.cert_file, "cert_file")
    client_ca = _read(config.client_ca_file, "client_ca_file") if config.client_ca_file else None
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=client_ca, require_client_auth=client_ca is not None
    )


def server_ssl_context(config: TLSConfig) -> ssl.SSLContext:
    """An ``ssl.SSLContext`` for HTTP servers (TLS 1.2+); raises ConfigError naming a bad file."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(config.cert_file), str(config.key_file))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load certificate/key: {exc}", field="tls.cert_file") from exc
    if config.client_ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(config.client_ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"cannot load client CA: {exc}", field="tls.client_ca_file") from exc
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def uvicorn_ssl_options(config: TLSConfig | None) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.Config``; empty when TLS is off."""
    if config is None:
        return {}
    server_ssl_context(config)  # fail early, with the field named, on an unreadable file
    options: dict[str, Any] = {"ssl_certfile": str(config.cert_file), "ssl_keyfile": str(config.key_file)}
    if config.client_ca_file is not None:
        options |= {"ssl_ca_certs": str(config.client_ca_file), "ssl_cert_reqs": ssl.CERT_REQUIRED}
    return options
