"""The board inside the collector: ``service: board:`` in its config serves the same pages from the
collector process, over the store it already owns, so one process runs everything on a laptop.

    service:
      board:
        endpoint: 127.0.0.1:4320
        locks_dir: locks
        auth: {tokens_env: TRACELOCK_COLLECTOR_TOKENS}   # required off loopback
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tracelock.board.cache import MAX_STALE_S
from tracelock.board.security import is_loopback
from tracelock.collector.security.config import AuthConfig

if TYPE_CHECKING:
    from tracelock.collector.host import Host
    from tracelock.collector.serve_http import ServerThread

__all__ = ["BoardConfig", "BoardServer"]


class BoardConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint: str = Field(
        "127.0.0.1:4320", description="host:port of the board (loopback unless auth is set)."
    )
    locks_dir: Path = Field(
        Path("locks"), description="Lock files the board shows and its lock action writes."
    )
    auth: AuthConfig | None = Field(None, description="Bearer tokens (the collector's auth config).")
    allowed_hosts: tuple[str, ...] = Field((), description="Host names served (default: loopback names).")
    max_stale_s: float = Field(
        MAX_STALE_S,
        ge=0,
        description="Seconds a page may show older data while spans arrive (it re-renders meanwhile).",
    )

    @model_validator(mode="after")
    def _auth_off_loopback(self) -> BoardConfig:
        host, sep, port = self.endpoint.rpartition(":")
        if not sep or not port.isdigit() or not host:
            raise ValueError(f"endpoint {self.endpoint!r} must be host:port")
        if not is_loopback(host.strip("[]")) and (self.auth is None or not self.auth.enabled):
            raise ValueError(
                f"endpoint {self.endpoint!r} is not loopback: set auth (tokens_file or tokens_env)"
            )
        return self


class BoardServer:
    """Starts and stops the board's HTTP server on the collector's store."""

    def __init__(self, host: Host, config: BoardConfig) -> None:
        self.host, self.config = host, config
        self._thread: ServerThread | None = None

    def start(self) -> None:
        from tracelock.board.app import LOOPBACK_HOSTS, BoardOptions, create_app
        from tracelock.collector.security.auth import BearerTokens
        from tracelock.collector.serve_http import ServerThread

        auth = self.config.auth
        tokens = BearerTokens.from_config(auth) if auth is not None and auth.enabled else None
        loopback = is_loopback(self.config.endpoint.rpartition(":")[0].strip("[]"))
        hosts = self.config.allowed_hosts or (LOOPBACK_HOSTS if loopback else ("*",))
        options = BoardOptions(
            locks_dir=self.config.locks_dir,
            tokens=tokens,
            allowed_hosts=hosts,
            max_stale_s=self.config.max_stale_s,
        )
        self._thread = ServerThread(
            create_app(self.host.open_store(), options), self.config.endpoint, "board"
        )
        self._thread.start()

    @property
    def url(self) -> str | None:
        return self._thread.url if self._thread is not None else None

    def shutdown(self) -> None:
        if self._thread is not None:
            self._thread.stop()
            self._thread = None
