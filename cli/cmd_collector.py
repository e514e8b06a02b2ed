"""``tracelock collector``: run the OTLP collector sidecar (receivers -> normalise -> ClickHouse), and
``tracelock collector dead-letter list|show|replay|drop`` for the requests it quarantined."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from tracelock.collector.exporterhelper.dead_letter import DeadLetters

from tracelock import env
from tracelock.cli.context import get_context
from tracelock.cli.output import (
    SUMMARY_FORMAT,
    OutputFormat,
    SummaryFormat,
    console,
    print_rows,
    print_summary,
)
from tracelock.errors import ConfigError

__all__ = ["register", "with_endpoints"]

collector_app = typer.Typer(help="Run the OTLP collector; inspect what it quarantined.")
dead_letter_app = typer.Typer(
    help="Requests the store refused permanently (kept with their error in <data-dir>/collector/dead-letter)."
)
collector_app.add_typer(dead_letter_app, name="dead-letter")


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


@collector_app.callback(invoke_without_command=True)
def collector(
    ctx: typer.Context,
    config: Path = typer.Option(
        None, "--config", "-c", help="Collector YAML (OpenTelemetry Collector shape)."
    ),
    grpc_endpoint: str = typer.Option(
        None,
        "--grpc-endpoint",
        envvar=env.GRPC_ENDPOINT,
        help="OTLP/gRPC host:port (wins over the config file; port 0 picks one).",
    ),
    http_endpoint: str = typer.Option(
        None,
        "--http-endpoint",
        envvar=env.HTTP_ENDPOINT,
        help="OTLP/HTTP host:port (wins over the config file; port 0 picks one).",
    ),
    check: bool = typer.Option(False, "--check", help="Validate the config and exit."),
) -> None:
    """Run the collector: OTLP/gRPC :4317 and OTLP/HTTP :4318 on loopback by default, chDB in --data-dir."""
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
    raise typer.Exit(run_collector(cfg, get_context(ctx).settings))


def _letters(ctx: typer.Context) -> DeadLetters:
    from tracelock.collector.dead_letter_cli import dead_letters_of

    return dead_letters_of(get_context(ctx).data_dir)


_COLUMNS = ("id", "quarantined_at", "span_count", "bytes", "cause", "error")


@dead_letter_app.command("list")
def list_entries(
    ctx: typer.Context,
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="table, csv, json, ..."),
) -> None:
    """Every quarantined request, oldest first."""
    entries = _letters(ctx).list()
    print_rows(_COLUMNS, [[getattr(e, c) for c in _COLUMNS] for e in entries], fmt, "dead letters")


@dead_letter_app.command("show")
def show(
    ctx: typer.Context, entry_id: str = typer.Argument(...), fmt: SummaryFormat = SUMMARY_FORMAT
) -> None:
    """One entry: its error and the spans it holds (trace and span ids, names)."""
    from tracelock.collector.dead_letter_cli import describe

    facts = describe(_letters(ctx), entry_id)
    lines = [f"{k}: {v}" for k, v in facts.items() if k != "spans"]
    lines += [f"  {s['trace_id']} {s['span_id']} {s['name']}" for s in facts["spans"]]
    print_summary("\n".join(lines), facts, fmt)


@dead_letter_app.command("replay")
def replay(
    ctx: typer.Context,
    entry_ids: list[str] = typer.Argument(None, help="Entries to replay (default: all)."),
    token: str = typer.Option(None, "--token", envvar="TRACELOCK_COLLECTOR_TOKEN", help="Receiver token."),
    fmt: SummaryFormat = SUMMARY_FORMAT,
) -> None:
    """Send entries again: through the running collector that owns --data-dir (its OTLP/HTTP receiver,
    validated and acknowledged like any export), else straight into the store. Replayed entries are
    removed; one that fails again stays, and the command exits 1 naming it."""
    from tracelock.collector.dead_letter_cli import replay_entries

    app_ctx = get_context(ctx)
    result = replay_entries(app_ctx, _letters(ctx), entry_ids or None, token)
    message = f"replayed {len(result.replayed)} entr(y/ies) ({result.spans} spans) via {result.via}"
    if result.failed:
        message += "; still failing: " + ", ".join(f"{k} ({v})" for k, v in result.failed.items())
    print_summary(message, result.facts(), fmt)
    if result.failed:
        raise typer.Exit(1)


@dead_letter_app.command("drop")
def drop(
    ctx: typer.Context,
    entry_ids: list[str] = typer.Argument(..., help="Entries to delete for good."),
    fmt: SummaryFormat = SUMMARY_FORMAT,
) -> None:
    """Delete entries (their spans are given up)."""
    letters = _letters(ctx)
    for entry_id in entry_ids:
        letters.drop(entry_id)
    print_summary(f"dropped {len(entry_ids)} entr(y/ies)", {"dropped": entry_ids}, fmt)


def register(app: typer.Typer) -> None:
    app.add_typer(collector_app, name="collector")
