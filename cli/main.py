"""Entry point of the ``tracelock`` command.

Each command lives in its own module ``tracelock/cli/cmd_<name>.py`` with a ``register(app)`` function;
every such module is registered, so adding a command touches no shared list.
Errors from tracelock become one red line on stderr and an exit code from the one contract in
:mod:`tracelock.cli.exit_codes` (docs/cli.md): 2 for usage and configuration, 1 for everything else.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import typer

from tracelock import __version__, env
from tracelock import cli as cli_package
from tracelock.cli.context import AppContext
from tracelock.cli.exit_codes import EXIT_FAILED, EXIT_USAGE
from tracelock.cli.output import console, print_error
from tracelock.errors import ConfigError, TracelockError
from tracelock.store import StoreSettings
from tracelock.store.factory import DEFAULT_DATA_DIR

__all__ = ["app", "main"]

COMMAND_MODULES = sorted(
    f"tracelock.cli.{m.name}" for m in pkgutil.iter_modules(cli_package.__path__) if m.name.startswith("cmd_")
)

app = typer.Typer(
    name="tracelock",
    help="Join offline LLM evals, production traces and user complaints on shared keys.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        console.print(f"tracelock {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _global_options(
    ctx: typer.Context,
    data_dir: Path = typer.Option(
        Path(DEFAULT_DATA_DIR),
        "--data-dir",
        envvar=env.DATA_DIR,
        help="Embedded chDB data directory.",
    ),
    clickhouse_url: str = typer.Option(
        None,
        "--clickhouse-url",
        envvar=env.CLICKHOUSE_URL,
        help="ClickHouse server URL (http[s]://user:pass@host:port); when set, used instead of chDB.",
    ),
    database: str = typer.Option("tracelock", "--database", envvar=env.DATABASE, help="Database name."),
    version: bool = typer.Option(
        False, "--version", is_eager=True, help="Print the version and exit.", callback=_print_version
    ),
) -> None:
    ctx.obj = AppContext(
        StoreSettings(data_dir=data_dir, clickhouse_url=clickhouse_url or None, database=database)
    )


for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)


_GLOBAL_OPTIONS = ("--data-dir", "--clickhouse-url", "--database")


def hoist_global_options(argv: list[str]) -> list[str]:
    """Accept the global options anywhere (``tracelock init --data-dir D``) by moving them to the front."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        name = arg.split("=", 1)[0]
        if name in _GLOBAL_OPTIONS and rest:
            if "=" in arg:
                front.append(arg)
            else:
                front.extend(argv[i : i + 2])
                i += 1
        else:
            rest.append(arg)
        i += 1
    return front + rest


def main(argv: list[str] | None = None) -> None:
    """Run the CLI, turning tracelock errors into one line and an exit code."""
    args = hoist_global_options(list(sys.argv[1:] if argv is None else argv))
    try:
        app(args=args, prog_name="tracelock")
    except ConfigError as exc:
        print_error(str(exc))
        raise SystemExit(EXIT_USAGE) from None
    except TracelockError as exc:
        print_error(str(exc))
        raise SystemExit(EXIT_FAILED) from None
