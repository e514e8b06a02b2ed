"""``tracelock collector``: run the OTLP collector sidecar (receivers -> normalise -> ClickHouse), and
``tracelock collector dead-letter list|show|replay|drop`` for the requests it quarantined."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from tracelock.collector.exporterhelper.dead_letter import DeadLetters

from tracelock import env
from tracelock.cli.context import get_context
from tracelock.cli.output import (
    ROWS_FORMAT,
    SUMMARY_FORMAT,
    OutputFormat,
    SummaryFormat,
    console,
    print_rows,
    print_summary,
)
from tracelock.errors import ConfigError

__all__ = ["register", "with_endpoints"]


def with_endpoints(raw: Any, endpoints: dict[str, str | None]) -> Any:
    """The config ``raw`` with the OTLP receiver's ``protocol -> endpoint`` overrides from the command line.

    Settings precedence as in the OTel SDK: a flag or its environment variable wins over the file. A
    protocol named on the command line is enabled; without a ``protocols`` section both stay enabled.
    """
    wanted = {protocol: value for protocol, value in endpoints.items() if value}
    if not wanted:
        return raw
    flags = ", ".join(f"--{protocol}-endpoint" for protocol in wanted)
    receivers = raw.get("receivers") if isinstance(raw, dict) else None
    if not isinstance(receivers, dict):
        receivers = {}
    otlp = [name for name in receivers if str(name).split("/", 1)[0] == "otlp"]
    if len(otlp) != 1:
        found = "no otlp receiver" if not otlp else f"{len(otlp)} otlp receivers ({', '.join(otlp)})"
        raise ConfigError(f"the config has {found}; set the endpoints in the file", field=flags)
    receiver = receivers[otlp[0]] = dict(receivers[otlp[0]] or {})
    protocols = receiver["protocols"] = dict(receiver.get("protocols") or {"grpc": {}, "http": {}})
    for protocol, endpoint in wanted.items():
        host, _, port = endpoint.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"{endpoint!r} must be host:port", field=f"--{protocol}-endpoint")
        protocols[protocol] = {**(protocols.get(protocol) or {}), "endpoint": endpoint}
    return raw


@click.group(
    "collector",
    help="Run the OTLP collector; inspect what it quarantined.",
    invoke_without_command=True,
)
@click.option(
    "--config", "-c", type=click.Path(path_type=Path), help="Collector YAML (OpenTelemetry Collector shape)."
)
@click.option(
    "--grpc-endpoint",
    envvar=env.GRPC_ENDPOINT,
    show_envvar=True,
    help="OTLP/gRPC host:port (wins over the config file; port 0 picks one).",
)
@click.option(
    "--http-endpoint",
    envvar=env.HTTP_ENDPOINT,
    show_envvar=True,
    help="OTLP/HTTP host:port (wins over the config file; port 0 picks one).",
)
@click.option("--check", is_flag=True, help="Validate the config and exit.")
@click.pass_context
def collector(
    ctx: click.Context,
    config: Path | None,
    grpc_endpoint: str | None,
    http_endpoint: str | None,
    check: bool,
) -> None:
    """Run the collector: OTLP/gRPC :4317 and OTLP/HTTP :4318 on loopback by default, chDB in --data-dir.

    Click calls this before a subcommand too (``collector dead-letter ...``), which it then leaves alone.
    """
    if ctx.invoked_subcommand is not None:
        return
    from tracelock.collector.config import parse_config, read_config
    from tracelock.collector.service import run_collector

    raw = with_endpoints(read_config(config), {"grpc": grpc_endpoint, "http": http_endpoint})
    cfg = parse_config(raw, str(config) if config is not None else "defaults")
    if check:
        console.print(f"[green]config ok[/] ({config or 'defaults'})", highlight=False)
        return
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.exit(run_collector(cfg, get_context(ctx).settings))


# A bare `tracelock collector dead-letter` says "Missing command." (exit 2), as it always has.
dead_letter = click.Group(
    "dead-letter",
    help="Requests the store refused permanently "
    "(kept with their error in <data-dir>/collector/dead-letter).",
    no_args_is_help=False,
)
collector.add_command(dead_letter)


def _letters(ctx: click.Context) -> DeadLetters:
    from tracelock.collector.dead_letter_cli import dead_letters_of

    return dead_letters_of(get_context(ctx).data_dir)


_COLUMNS = ("id", "quarantined_at", "span_count", "bytes", "cause", "error")


@dead_letter.command("list")
@ROWS_FORMAT
@click.pass_context
def list_entries(ctx: click.Context, fmt: OutputFormat) -> None:
    """Every quarantined request, oldest first."""
    entries = _letters(ctx).list()
    print_rows(_COLUMNS, [[getattr(e, c) for c in _COLUMNS] for e in entries], fmt, "dead letters")


@dead_letter.command("show")
@click.argument("entry_id")
@SUMMARY_FORMAT
@click.pass_context
def show(ctx: click.Context, entry_id: str, fmt: SummaryFormat) -> None:
    """One entry: its error and the spans it holds (trace and span ids, names)."""
    from tracelock.collector.dead_letter_cli import describe

    facts = describe(_letters(ctx), entry_id)
    lines = [f"{k}: {v}" for k, v in facts.items() if k != "spans"]
    lines += [f"  {s['trace_id']} {s['span_id']} {s['name']}" for s in facts["spans"]]
    print_summary("\n".join(lines), facts, fmt)


@dead_letter.command("replay")
@click.argument("entry_ids", nargs=-1)
@click.option("--token", envvar=env.COLLECTOR_TOKEN, show_envvar=True, help="Receiver token.")
@SUMMARY_FORMAT
@click.pass_context
def replay(ctx: click.Context, entry_ids: tuple[str, ...], token: str | None, fmt: SummaryFormat) -> None:
    """Send entries again: through the running collector that owns --data-dir (its OTLP/HTTP receiver,
    validated and acknowledged like any export), else straight into the store. Replayed entries are
    removed; one that fails again stays, and the command exits 1 naming it.

    ENTRY_IDS: the entries to replay (default: all).
    """
    from tracelock.collector.dead_letter_cli import replay_entries

    app_ctx = get_context(ctx)
    result = replay_entries(app_ctx, _letters(ctx), list(entry_ids) or None, token)
    message = f"replayed {len(result.replayed)} entr(y/ies) ({result.spans} spans) via {result.via}"
    if result.failed:
        message += "; still failing: " + ", ".join(f"{k} ({v})" for k, v in result.failed.items())
    print_summary(message, result.facts(), fmt)
    if result.failed:
        ctx.exit(1)


@dead_letter.command("drop")
@click.argument("entry_ids", nargs=-1, required=True)
@SUMMARY_FORMAT
@click.pass_context
def drop(ctx: click.Context, entry_ids: tuple[str, ...], fmt: SummaryFormat) -> None:
    """Delete entries (their spans are given up).

    ENTRY_IDS: the entries to delete for good.
    """
    letters = _letters(ctx)
    for entry_id in entry_ids:
        letters.drop(entry_id)
    print_summary(f"dropped {len(entry_ids)} entr(y/ies)", {"dropped": entry_ids}, fmt)


def register(group: click.Group) -> None:
    group.add_command(collector)
