"""``tracelock board``: serve the case board over the configured store.

Loopback by default. Bound to any other address it requires the collector's bearer tokens
(``--tokens-file`` / ``--tokens-env``, the same sources as the collector's ``auth:`` section).
"""

from __future__ import annotations

from pathlib import Path

import typer

from tracelock import env
from tracelock.cli.context import get_context
from tracelock.cli.output import err_console
from tracelock.errors import ConfigError

__all__ = ["parse_listen", "register"]


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535 or not host:
        raise ConfigError(f"--listen {text!r}: use HOST:PORT, e.g. 127.0.0.1:4320", field="--listen")
    return host.strip("[]"), int(port)


def board(
    ctx: typer.Context,
    listen: str = typer.Option(
        "127.0.0.1:4320", "--listen", help="HOST:PORT to serve on (loopback by default)."
    ),
    locks_dir: Path = typer.Option(
        Path("locks"),
        "--locks",
        "-l",
        envvar=env.LOCKS,
        help="Directory of lock files (the lock action writes here).",
    ),
    tokens_file: Path | None = typer.Option(
        None, "--tokens-file", help="Bearer tokens, one a line (required off loopback)."
    ),
    tokens_env: str | None = typer.Option(
        None, "--tokens-env", help="Environment variable with comma-separated tokens."
    ),
    max_stale: float = typer.Option(
        60.0,
        "--max-stale",
        min=0.0,
        help="Seconds a page may show older data while it re-renders for new data (0: never).",
    ),
    allowed_host: list[str] = typer.Option(
        None,
        "--allowed-host",
        help="Host names the board answers to (default: loopback names, or any off loopback).",
    ),
) -> None:
    """Serve the case board: rollouts, divergence, coverage, traces, eval runs, locks and seeds."""
    import uvicorn

    from tracelock.board.app import LOOPBACK_HOSTS, BoardOptions, create_app
    from tracelock.board.security import is_loopback
    from tracelock.collector.security.auth import BearerTokens
    from tracelock.collector.security.config import AuthConfig

    host, port = parse_listen(listen)
    tokens = None
    if tokens_file is not None or tokens_env is not None:
        tokens = BearerTokens.from_config(AuthConfig(tokens_file=tokens_file, tokens_env=tokens_env))
    elif not is_loopback(host):
        raise ConfigError(
            f"--listen {listen}: off loopback the board needs bearer tokens (--tokens-file or --tokens-env)",
            field="--listen",
        )
    hosts = tuple(allowed_host or (LOOPBACK_HOSTS if is_loopback(host) else ("*",)))
    with get_context(ctx).open_store() as store:
        app = create_app(
            store,
            BoardOptions(locks_dir=locks_dir, tokens=tokens, allowed_hosts=hosts, max_stale_s=max_stale),
        )
        shown = f"[{host}]" if ":" in host else host
        err_console.print(
            f"tracelock board on http://{shown}:{port}/ over {store.description} database {store.database}; "
            f"locks in {locks_dir}" + (" (bearer auth on)" if tokens else ""),
            highlight=False,
            soft_wrap=True,
        )
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def register(app: typer.Typer) -> None:
    app.command()(board)
