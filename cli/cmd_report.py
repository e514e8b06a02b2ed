"""``tracelock report divergence`` and ``tracelock report coverage``: the join, as tables or a page."""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tracelock import env
from tracelock.cli.context import get_context
from tracelock.cli.output import console
from tracelock.cli.params import format_option
from tracelock.errors import ConfigError
from tracelock.report.thresholds import MIN_EVAL_CASES, MIN_LOCKS

if TYPE_CHECKING:  # imported by the commands that run, not at start-up
    from tracelock.report.coverage import CoverageReport
    from tracelock.report.dimensions import Dimension
    from tracelock.report.divergence import DivergenceReport


__all__ = ["TRACE_URL", "ReportFormat", "parse_by", "register", "write_output"]

report_group = click.Group(
    "report", help="Offline vs online: divergence and coverage reports.", no_args_is_help=True
)


class ReportFormat(str, enum.Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"
    html = "html"


def parse_by(text: str) -> list[Dimension]:
    from tracelock.report.dimensions import resolve_dimension

    names = [n.strip() for n in text.split(",") if n.strip()]
    dims = [resolve_dimension(n, option="--by") for n in names]
    if len({d.name for d in dims}) != len(dims):
        raise ConfigError(f"a label appears twice in {text!r}", field="--by")
    return dims


def write_output(text: str, output: Path | None, default_name: str | None = None) -> None:
    """Write to ``output`` (or ``default_name`` for HTML), else stdout."""
    target = output or (Path(default_name) if default_name else None)
    if target is None:
        sys.stdout.write(text)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    console.print(f"[green]wrote[/] {target}", highlight=False)


_FORMAT = format_option(ReportFormat, ReportFormat.table, "table, json, csv, markdown or html.")
_OUTPUT = click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    help="Write to this file (HTML defaults to tracelock-<report>.html).",
)
_SINCE = click.option("--since", help="Window start on production traces: ISO-8601 or 7d/6h/30m ago.")
_UNTIL = click.option("--until", help="Window end (exclusive): ISO-8601 or 1d ago.")
_DATASET = click.option("--dataset", help="Only eval records of this dataset id.")
TRACE_URL = click.option(
    "--trace-url",
    envvar=env.TRACE_URL,
    show_envvar=True,
    help="Link example traces in markdown/html: a URL template with {trace_id} (e.g. your Jaeger/Grafana).",
)


@report_group.command("divergence")
@click.option("--baseline", multiple=True, required=True, help="KEY=VALUE of the baseline (repeatable).")
@click.option("--candidate", multiple=True, required=True, help="KEY=VALUE of the candidate (repeatable).")
@click.option("--by", default="intent", help="Comma-separated task labels to slice by (label.<name> too).")
@_SINCE
@_UNTIL
@_DATASET
@click.option(
    "--min-eval-cases", type=click.IntRange(min=0), default=10, help="Fewer cases per arm: flagged."
)
@click.option(
    "--min-traces", type=click.IntRange(min=0), default=30, help="Fewer traces per arm: flagged few_traces."
)
@_FORMAT
@_OUTPUT
@TRACE_URL
@click.pass_context
def divergence_command(
    ctx: click.Context,
    baseline: tuple[str, ...],
    candidate: tuple[str, ...],
    by: str,
    since: str | None,
    until: str | None,
    dataset: str | None,
    min_eval_cases: int,
    min_traces: int,
    fmt: ReportFormat,
    output: Path | None,
    trace_url: str | None,
) -> None:
    """Per slice: offline eval score baseline vs candidate next to online outcomes, with flags."""
    from tracelock.report import Window, divergence_report
    from tracelock.report.dimensions import parse_assignments
    from tracelock.report.render import trace_link

    trace_link("0" * 32, trace_url)  # a bad template fails before the work
    base = parse_assignments(baseline, option="--baseline")
    cand = parse_assignments(candidate, option="--candidate")
    dims, window = parse_by(by), Window.parse(since, until)
    with get_context(ctx).open_store() as store:
        report = divergence_report(
            store,
            base,
            cand,
            dims,
            window,
            min_eval_cases=min_eval_cases,
            min_traces=min_traces,
            dataset=dataset,
        )
    _emit(fmt, output, trace_url, divergence=report)


@report_group.command("coverage")
@click.option("--by", default="intent,customer.tier", help="Comma-separated task labels to slice by.")
@click.option("--where", multiple=True, help="KEY=VALUE: only traces with this key (repeatable).")
@_SINCE
@_UNTIL
@_DATASET
@click.option("--limit", type=click.IntRange(min=1), default=50, help="Slices to show.")
@click.option(
    "--min-eval-cases",
    type=click.IntRange(min=0),
    default=MIN_EVAL_CASES,
    help="Eval cases a slice needs to count as covered.",
)
@click.option("--min-locks", type=click.IntRange(min=0), default=MIN_LOCKS, help="Lock cases a slice needs.")
@_FORMAT
@_OUTPUT
@TRACE_URL
@click.pass_context
def coverage_command(
    ctx: click.Context,
    by: str,
    where: tuple[str, ...],
    since: str | None,
    until: str | None,
    dataset: str | None,
    limit: int,
    min_eval_cases: int,
    min_locks: int,
    fmt: ReportFormat,
    output: Path | None,
    trace_url: str | None,
) -> None:
    """Complaint and thumbs-down slices ranked by the coverage gap, with their eval cases and locks."""
    from tracelock.report import Window, coverage_report
    from tracelock.report.dimensions import parse_assignments
    from tracelock.report.render import trace_link

    trace_link("0" * 32, trace_url)
    selector = parse_assignments(where, option="--where") if where else {}
    dims, window = parse_by(by), Window.parse(since, until)
    with get_context(ctx).open_store() as store:
        report = coverage_report(
            store,
            dims,
            window,
            selector=selector,
            dataset=dataset,
            limit=limit,
            min_eval_cases=min_eval_cases,
            min_locks=min_locks,
        )
    _emit(fmt, output, trace_url, coverage=report)


def _emit(
    fmt: ReportFormat,
    output: Path | None,
    trace_url: str | None,
    *,
    divergence: DivergenceReport | None = None,
    coverage: CoverageReport | None = None,
) -> None:
    """Write one report in ``fmt``: an HTML page (to ``output`` or a default file), or text/table."""
    from tracelock.report.html import render_html
    from tracelock.report.render import render_coverage, render_divergence

    name = "divergence" if divergence is not None else "coverage"
    if fmt is ReportFormat.html:
        page = render_html(
            divergence=divergence, coverage=coverage, title=f"tracelock {name}", trace_url=trace_url
        )
        write_output(page, output, f"tracelock-{name}.html")
        return
    if divergence is not None:
        text = render_divergence(divergence, fmt.value, console, trace_url)
    else:
        text = render_coverage(coverage, fmt.value, console, trace_url)  # type: ignore[arg-type]
    if text is not None:
        write_output(text, output)


def register(group: click.Group) -> None:
    group.add_command(report_group)
