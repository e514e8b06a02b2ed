"""``tracelock demo``: the refund-v3 -> refund-v4 story end to end, offline, in well under a minute."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape

from tracelock.cli.cmd_report import TRACE_URL, ReportFormat, write_output
from tracelock.cli.context import get_context
from tracelock.cli.output import console, err_console
from tracelock.cli.params import format_option
from tracelock.store.factory import DEFAULT_DATA_DIR, StoreSettings

if TYPE_CHECKING:  # the simulator and the renderers load when the demo runs, not at every start-up
    from tracelock.demo.loop import LoopResult

__all__ = ["register"]


@click.command("demo")
@format_option(ReportFormat, ReportFormat.table, "table, json, markdown or html.")
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    help="Write the report here (HTML: tracelock-demo.html).",
)
@click.option(
    "--seed", type=int, default=7, help="Simulator seed: the same seed gives the same data and report."
)
@click.option(
    "--requests",
    type=click.IntRange(min=100, max=200_000),
    default=1500,
    help="Production requests per version.",
)
@click.option("--demo-database", "database", help="Database the demo recreates (default: tracelock_demo).")
@click.option(
    "--collector/--in-process",
    default=True,
    help="Send spans over OTLP/HTTP to a collector subprocess (default), or write them in-process.",
)
@TRACE_URL
@click.option(
    "--locks",
    type=click.Path(path_type=Path),
    help="Lock directory of the loop (default: <data-dir>-demo-locks, or ./tracelock-demo-locks).",
)
@click.pass_context
def demo(
    ctx: click.Context,
    fmt: ReportFormat,
    output: Path | None,
    seed: int,
    requests: int,
    database: str | None,
    collector: bool,
    trace_url: str | None,
    locks: Path | None,
) -> None:
    """Simulate refund-v3 then refund-v4 in production plus an offline eval of both, then report.

    The demo recreates its own database (default tracelock_demo) in the configured store, so it can be
    re-run and never touches your data. Explore it afterwards with --database tracelock_demo.
    """
    # Imported here, not at the top: every other command starts without the simulator and the renderers.
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from tracelock.demo.run import DEMO_DATABASE, run_demo
    from tracelock.report.html import render_html
    from tracelock.report.render import render_coverage, render_divergence, trace_link

    database = database or DEMO_DATABASE
    if fmt is ReportFormat.csv:
        raise click.BadParameter(
            "the demo prints two reports; use table, json, markdown or html", param_hint="--format"
        )
    trace_link("0" * 32, trace_url)  # a bad template fails before the simulation
    settings = get_context(ctx).settings
    where = settings.clickhouse_url or str(settings.data_dir)
    err_console.print(
        f"[bold]tracelock demo[/]: recreating database [cyan]{database}[/] in {where} "
        f"(seed {seed}, {requests} requests per prompt version; other databases are untouched); spans go "
        + ("over OTLP/HTTP to a tracelock collector on loopback" if collector else "in-process"),
        highlight=False,
        soft_wrap=True,
    )
    columns = (TextColumn("{task.description:<20}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=False) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=total)
            bar.update(tasks[name], completed=done, total=total)

        result = run_demo(
            settings,
            seed=seed,
            per_version=requests,
            database=database,
            via_collector=collector,
            progress=progress,
            locks_dir=locks or _default_locks(settings),
            tracelock=_prefix(settings, database),
        )
    s = result.summary()
    err_console.print(
        f"loaded {s['traces']} traces ({s['spans']} spans, {s['eval_attempts']} eval attempts) and "
        f"{s['feedback']} feedback rows into {s['store']} database {s['database']} in {s['seconds']} s",
        highlight=False,
        soft_wrap=True,
    )
    if fmt is ReportFormat.json:
        doc: dict[str, Any] = {"demo": s, "divergence": result.divergence.as_dict()}
        doc |= {"coverage": result.coverage.as_dict(), "loop": result.loop.as_dict() if result.loop else None}
        write_output(json.dumps(doc, indent=2, default=str) + "\n", output)
    elif fmt is ReportFormat.html:
        page = render_html(
            result.divergence,
            result.coverage,
            title="tracelock demo: refund-v3 -> refund-v4",
            trace_url=trace_url,
        )
        write_output(page, output, "tracelock-demo.html")
    elif fmt is ReportFormat.markdown:
        text = render_divergence(result.divergence, "markdown", console, trace_url) or ""
        text += "\n" + (render_coverage(result.coverage, "markdown", console, trace_url) or "")
        if result.loop:
            steps = "".join(f"```sh\n{s.command}\n```\n{s.outcome}\n\n" for s in result.loop.steps)
            text += f"\n## The loop, step by step\n\n{steps}"
        write_output(text, output)
    else:
        render_divergence(result.divergence, "table", console)
        console.print()
        render_coverage(result.coverage, "table", console)
        if result.loop:
            _print_loop(result.loop)
        console.print(
            f"\nNext: [bold]{escape(_prefix(settings, database))} report divergence "
            "--baseline prompt=refund-v3 --candidate prompt=refund-v4 --by customer.tier --format html[/]",
            highlight=False,
        )
    sys.stdout.flush()


def _default_locks(settings: StoreSettings) -> Path:
    if settings.clickhouse_url:
        return Path("tracelock-demo-locks")
    return Path(f"{str(settings.data_dir).rstrip('/')}-demo-locks")


def _prefix(settings: StoreSettings, database: str) -> str:
    """``tracelock`` with the global options that reach the demo's data (the URL stays in the env)."""
    parts = ["tracelock"]
    if not settings.clickhouse_url and Path(settings.data_dir) != Path(DEFAULT_DATA_DIR):
        parts += ["--data-dir", shlex.quote(str(settings.data_dir))]
    return " ".join([*parts, "--database", database])


def _print_loop(loop: LoopResult) -> None:
    console.print(
        "\n[bold]The loop[/]: an enterprise complaint became a seed, the seed a lock, and the gate ran "
        "against refund-v4 and the fixed prompt. The same steps as commands:",
        highlight=False,
    )
    for step in loop.steps:
        colour = "green" if step.exit_code == 0 else "red"
        console.print(f"  $ {escape(step.command)}", highlight=False, soft_wrap=True)
        console.print(f"    [{colour}]{escape(step.outcome)}[/] (exit {step.exit_code})", highlight=False)


def register(group: click.Group) -> None:
    group.add_command(demo)
