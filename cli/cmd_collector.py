"""``tracelock collector``: run the OTLP collector sidecar (receivers -> normalise -> ClickHouse)."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from tracelock.cli.context import get_context
from tracelock.cli.output import console

__all__ = ["register"]


def collector(
    ctx: typer.Context,
    config: Path = typer.Option(
        None, "--config", "-c", help="Collector YAML (OpenTelemetry Collector shape)."
    ),
    check: bool = typer.Option(False, "--check", help="Validate the config and exit."),
) -> None:
    """Run the collector: OTLP/gRPC :4317 and OTLP/HTTP :4318 on loopback by default, chDB in --data-dir."""
    from tracelock.collector.config import load_config
    from tracelock.collector.service import run_collector

    cfg = load_config(config)
    if check:
        console.print(f"[green]config ok[/] ({config or 'defaults'})")
        return
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    raise typer.Exit(run_collector(cfg, get_context(ctx).settings))


def register(app: typer.Typer) -> None:
    app.command()(collector)
