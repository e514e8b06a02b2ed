"""``tracelock init`` and ``tracelock query``: create/migrate the schema, run SQL."""

from __future__ import annotations

import sys

import typer

from tracelock.cli.context import get_context
from tracelock.cli.output import OutputFormat, console, print_rows
from tracelock.errors import ConfigError
from tracelock.store import apply_migrations, load_migrations
from tracelock.store.schema import migration_statements, retention_statements

__all__ = ["register"]


def init(
    ctx: typer.Context,
    retention_days: int = typer.Option(
        None,
        "--retention-days",
        min=0,
        help="Expire spans and trace summaries after N days (0 removes the TTL).",
    ),
    cluster: str = typer.Option(
        None, "--cluster", help="Create replicated + distributed tables ON CLUSTER (ClickHouse server only)."
    ),
    print_ddl: bool = typer.Option(False, "--print-ddl", help="Print the DDL instead of applying it."),
) -> None:
    """Create the database and tables, or migrate them to this version of tracelock."""
    app = get_context(ctx)
    if print_ddl:
        migrations = load_migrations()
        statements = [s for m in migrations for s in migration_statements(m, cluster)]
        if retention_days is not None:
            statements += retention_statements(retention_days, cluster)
        sys.stdout.write("".join(f"{s};\n\n" for s in statements))
        return
    if cluster and not app.settings.clickhouse_url:
        raise ConfigError(
            "needs a ClickHouse server (--clickhouse-url); chDB has no clusters", field="cluster"
        )
    with app.open_store(migrate=False) as store:
        applied = apply_migrations(store, cluster=cluster)
        if retention_days is not None:
            for statement in retention_statements(retention_days, cluster):
                store.command(statement)
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
