"""Entry point of the ``tracelock`` command.

Each command lives in its own module ``tracelock/cli/cmd_<name>.py`` with a ``register(group)`` function;
every such module is registered, so adding a command touches no shared list.
Errors from tracelock become one red line on stderr and an exit code from the one contract in
:mod:`tracelock.cli.exit_codes` (docs/cli.md): 2 for usage and configuration, 1 for everything else.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import click

from tracelock import __version__, env
from tracelock import cli as cli_package
from tracelock.cli.context import AppContext
from tracelock.cli.exit_codes import EXIT_FAILED, EXIT_USAGE
from tracelock.cli.output import console, print_error
from tracelock.errors import ConfigError, TracelockError
from tracelock.store import StoreSettings
from tracelock.store.chdb_loading import load_chdb_without_pyarrow
from tracelock.store.factory import DEFAULT_DATA_DIR

__all__ = ["app", "main"]

COMMAND_MODULES = sorted(
    f"tracelock.cli.{m.name}" for m in pkgutil.iter_modules(cli_package.__path__) if m.name.startswith("cmd_")
)


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        console.print(f"tracelock {__version__}", highlight=False)
        ctx.exit()


# Defaults are shown in every command's help (a subcommand's context inherits show_default).
@click.group(name="tracelock", no_args_is_help=True, context_settings={"show_default": True})
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=Path(DEFAULT_DATA_DIR),
    envvar=env.DATA_DIR,
    show_envvar=True,
    help="Embedded chDB data directory.",
)
@click.option(
    "--clickhouse-url",
    envvar=env.CLICKHOUSE_URL,
    show_envvar=True,
    help="ClickHouse server URL (http[s]://user:pass@host:port); when set, used instead of chDB.",
)
@click.option("--database", default="tracelock", envvar=env.DATABASE, show_envvar=True, help="Database name.")
@click.option(
    "--version",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=_print_version,
    help="Print the version and exit.",
)
@click.pass_context
def app(ctx: click.Context, data_dir: Path, clickhouse_url: str | None, database: str) -> None:
    """Join offline LLM evals, production traces and user complaints on shared keys."""
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
    load_chdb_without_pyarrow()  # this process is the CLI's own
    try:
        app(args=args, prog_name="tracelock")
    except ConfigError as exc:
        print_error(str(exc))
        raise SystemExit(EXIT_USAGE) from None
    except TracelockError as exc:
        print_error(str(exc))
        raise SystemExit(EXIT_FAILED) from None
