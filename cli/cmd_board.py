"""``tracelock board``: serve the case board over the configured store.

Loopback by default. Bound to any other address it requires the collector's bearer tokens
(``--tokens-file`` / ``--tokens-env``, the same sources as the collector's ``auth:`` section).
"""

from __future__ import annotations

from pathlib import Path

import click

from tracelock.board.cache import MAX_STALE_S
from tracelock.cli.context import get_context
from tracelock.cli.output import err_console
from tracelock.cli.params import locks_option
from tracelock.errors import ConfigError

__all__ = ["parse_listen", "register"]


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535 or not host:
        raise ConfigError(f"--listen {text!r}: use HOST:PORT, e.g. 127.0.0.1:4320", field="--listen")
    return host.strip("[]"), int(port)


@click.command("board")
@click.option("--listen", default="127.0.0.1:4320", help="HOST:PORT to serve on (loopback by default).")
@locks_option("Directory of lock files (the lock action writes here).")
@click.option(
    "--tokens-file",
    type=click.Path(path_type=Path),
    help="Bearer tokens, one a line (required off loopback).",
)
@click.option("--tokens-env", help="Environment variable with comma-separated tokens.")
@click.option(
    "--max-stale",
    type=click.FloatRange(min=0.0),
    default=MAX_STALE_S,
    help="Seconds a page may show older data while it re-renders for new data (0: never).",
)
@click.option(
    "--allowed-host",
    multiple=True,
    help="Host names the board answers to (default: loopback names, or any off loopback).",
)
@click.pass_context
def board(
    ctx: click.Context,
    listen: str,
    locks_dir: Path,
    tokens_file: Path | None,
    tokens_env: str | None,
    max_stale: float,
    allowed_host: tuple[str, ...],
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


def register(group: click.Group) -> None:
    group.add_command(board)
