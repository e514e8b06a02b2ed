"""``tracelock init`` and ``tracelock query``: create/migrate the schema, run SQL."""

from __future__ import annotations

import typer

from tracelock.cli.context import get_context
from tracelock.cli.output import OutputFormat, console, print_rows
from tracelock.store import apply_migrations

__all__ = ["register"]


def init(
    ctx: typer.Context,
    retention_days: int = typer.Option(
        0, "--retention-days", min=0, help="Drop spans older than N days (TTL on otel_traces); 0 keeps all."
    ),
) -> None:
    """Create the database and tables, or migrate them to this version of tracelock."""
    app = get_context(ctx)
    with app.open_store(migrate=False) as store:
        applied = apply_migrations(store)
        if retention_days:
            ttl = f"toDateTime(Timestamp) + toIntervalDay({retention_days:d})"
            store.command(f"ALTER TABLE otel_traces MODIFY TTL {ttl}")
        names = ", ".join(m.name for m in applied) or "none (schema already current)"
        console.print(
            f"[green]schema ready[/] in {store.description} database {store.database}; applied: {names}"
        )


def query(
    ctx: typer.Context,
    sql: str = typer.Argument(..., help="SQL to run; tables are in the tracelock database."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="Output format."),
) -> None:
    """Run one SQL statement and print its rows."""
    app = get_context(ctx)
    with app.open_store() as store:
        result = store.query(sql)
    print_rows(result.columns, result.rows, fmt)


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(query)
