"""``tracelock init`` and ``tracelock query``: create/migrate the schema, run SQL."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING

import click

from tracelock.cli.context import get_context
from tracelock.cli.output import ROWS_FORMAT, OutputFormat, console, print_rows
from tracelock.errors import ConfigError, SchemaError
from tracelock.store import Store, apply_migrations, load_migrations
from tracelock.store.schema import migration_statements, parse_retention, retention_statements

if TYPE_CHECKING:
    from tracelock.store.backfill import BackfillView

__all__ = ["register"]


@click.command("init")
@click.option(
    "--retention-days",
    type=click.IntRange(min=0),
    help="Expire spans and trace summaries after N days (0 removes the TTL).",
)
@click.option("--cluster", help="Create replicated + distributed tables ON CLUSTER (ClickHouse server only).")
@click.option("--print-ddl", is_flag=True, help="Print the DDL instead of applying it.")
@click.option("--retention", help="Like --retention-days, in days or hours: 30d, 72h (0d removes the TTL).")
@click.option(
    "--backfill",
    is_flag=True,
    help="Fill trace_summaries and eval_records from spans already stored (an adopted database); "
    "resumable, and a second run adds nothing.",
)
@click.option("--since", help="With --backfill: only spans from then on (ISO-8601, or 7d/6h ago).")
@click.option(
    "--other-writers/--tracelock-only",
    default=None,
    help="Whether otel_traces also gets spans from another writer (the contrib ClickHouse exporter): "
    "then its shared-key columns fall back to the alias names, at ~4 us of insert CPU a span. "
    "Default: as it is (set on adoption, or when the table holds spans tracelock did not stamp).",
)
@click.pass_context
def init(
    ctx: click.Context,
    retention_days: int | None,
    cluster: str | None,
    print_ddl: bool,
    retention: str | None,
    backfill: bool,
    since: str | None,
    other_writers: bool | None,
) -> None:
    """Create the database and tables, or migrate them to this version of tracelock.

    On a database the OpenTelemetry Collector's ClickHouse exporter created, adds tracelock's columns
    and tables beside the exporter's (whose columns stay as they are).
    """
    app = get_context(ctx)
    ttl = _retention(retention_days, retention)
    if print_ddl:
        migrations = load_migrations()
        statements = [s for m in migrations for s in migration_statements(m, cluster)]
        if ttl is not None:
            statements += retention_statements(ttl[0], cluster, ttl[1])
        sys.stdout.write("".join(f"{s};\n\n" for s in statements))
        return
    if cluster and not app.settings.clickhouse_url:
        raise ConfigError(
            "needs a ClickHouse server (--clickhouse-url); chDB has no clusters", field="cluster"
        )
    with app.open_store(migrate=False) as store:
        applied = apply_migrations(store, cluster=cluster)
        if ttl is not None:
            for statement in retention_statements(ttl[0], cluster, ttl[1]):
                store.command(statement)
        names = ", ".join(m.name for m in applied) or "none (schema already current)"
        console.print(
            f"[green]schema ready[/] in {store.description} database {store.database}; applied: {names}"
        )
        _report_writers(store, other_writers, cluster)
        if backfill:
            from tracelock.report.query import parse_time  # backfill only: kept out of every command's start

            _backfill(store, parse_time(since, option="--since") if since else None)


def _report_writers(store: Store, other_writers: bool | None, cluster: str | None) -> None:
    """Apply ``--other-writers/--tracelock-only`` when given, and say what the columns read now."""
    from tracelock.semconv.columns import Writers
    from tracelock.store.schema import set_writers, writers_of

    if other_writers is not None:
        set_writers(store, Writers.ANY if other_writers else Writers.TRACELOCK, cluster)
    if writers_of(store) is Writers.ANY:
        text = "canonical keys, else the alias names (another writer's spans too; --tracelock-only if not)"
    else:
        text = "canonical keys only (only tracelock's collector writes it; --other-writers if not)"
    console.print(f"otel_traces shared-key columns: {text}")


def _retention(days: int | None, text: str | None) -> tuple[int, str] | None:
    if days is not None and text is not None:
        raise ConfigError("give --retention-days or --retention, not both", field="retention")
    if text is not None:
        try:
            return parse_retention(text)
        except SchemaError as exc:
            raise ConfigError(str(exc), field="retention") from exc
    return None if days is None else (days, "Day")


def _backfill(store: Store, since: datetime | None) -> None:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from tracelock.store.backfill import backfill

    with Progress(console=Console(stderr=True), transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def step(view: BackfillView, _window: datetime, done: int, total: int) -> None:
            if view.name not in tasks:
                tasks[view.name] = bar.add_task(f"backfill {view.target} ({view.name})", total=total)
            bar.update(tasks[view.name], completed=done)

        result = backfill(store, since, step)
    console.print(
        f"[green]backfill done[/]: {result.windows_done} day window(s) filled, "
        f"{result.windows_skipped} already done before"
    )


@click.command("query")
@click.argument("sql")
@ROWS_FORMAT
@click.pass_context
def query(ctx: click.Context, sql: str, fmt: OutputFormat) -> None:
    """Run one SQL statement and print its rows.

    SQL: the statement to run; tables are in the tracelock database.
    """
    app = get_context(ctx)
    with app.open_store() as store:
        result = store.query(sql)
    print_rows(result.columns, result.rows, fmt)


def register(group: click.Group) -> None:
    group.add_command(init)
    group.add_command(query)
