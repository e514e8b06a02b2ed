"""``tracelock eval import FILE``, ``eval runs``, ``eval show RUN`` and ``eval compare BASE CANDIDATE``:
bring eval results in, list what is there, read one run case by case, and diff two runs."""

from __future__ import annotations

import enum
import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from tracelock.cli.context import get_context
from tracelock.cli.output import (
    ROWS_FORMAT,
    SUMMARY_FORMAT,
    OutputFormat,
    SummaryFormat,
    console,
    print_rows,
    print_summary,
    to_json_value,
)
from tracelock.cli.params import enum_choice, format_option

__all__ = ["register"]

eval_group = click.Group(
    "eval",
    help="Eval results: import them from other tools, list runs, show one, compare two.",
    no_args_is_help=True,
)


class ShowFormat(str, enum.Enum):
    table = "table"
    json = "json"


class ImportFormat(str, enum.Enum):
    auto = "auto"
    jsonl = "jsonl"
    promptfoo = "promptfoo"


@eval_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.option(
    "--input-format",
    type=enum_choice(ImportFormat),
    default=ImportFormat.auto,
    help="jsonl (the shared results shape), promptfoo (its JSON output), or auto.",
)
@click.option(
    "--pass-threshold",
    type=click.FloatRange(min=0.0, max=1.0),
    default=0.5,
    help="Score at or above which a result without 'passed' passes.",
)
@SUMMARY_FORMAT
@click.pass_context
def import_command(
    ctx: click.Context, file: Path, input_format: ImportFormat, pass_threshold: float, fmt: SummaryFormat
) -> None:
    """Import eval results; all lines or none (a bad line is named with its field and nothing is written).

    FILE: the results file.
    """
    from tracelock.evals.importer import import_results

    with get_context(ctx).open_store() as store:
        result = import_results(store, file, fmt=input_format.value, pass_threshold=pass_threshold)
        where = f"{store.description} database {store.database}"
    facts = {"rows": result.rows, "cases": result.cases, "runs": list(result.runs), "format": result.format}
    message = (
        f"[green]imported[/] {result.rows} result(s) of {result.cases} case(s) in run(s) "
        f"{', '.join(result.runs)} from {file} ({result.format}) into {where}"
    )
    print_summary(message, {**facts, "file": str(file), "store": where}, fmt)


@eval_group.command("runs")
@ROWS_FORMAT
@click.option("--limit", type=click.IntRange(min=1), default=50, help="Most recent runs to list.")
@click.pass_context
def runs_command(ctx: click.Context, fmt: OutputFormat, limit: int) -> None:
    """List eval runs with their keys, case counts and pass rates."""
    sql = """
        SELECT EvalRunId AS run, any(DatasetId) AS dataset, any(DatasetVersion) AS dataset_version,
               any(PromptVersion) AS prompt_version, any(RequestModel) AS model, any(Source) AS source,
               uniqExact(CaseId) AS cases, count() AS attempts, round(avg(Passed), 4) AS pass_rate,
               round(avg(Score), 4) AS mean_score, countIf(Error != '') AS errors, max(Timestamp) AS last_at
        FROM eval_records FINAL GROUP BY EvalRunId ORDER BY last_at DESC LIMIT {limit:UInt32}"""
    with get_context(ctx).open_store() as store:
        result = store.query(sql, {"limit": limit})
    print_rows(result.columns, result.rows, fmt, title="eval runs")


def _write_json(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(to_json_value(document), ensure_ascii=False, indent=2) + "\n")


def _say(text: str) -> None:
    """One plain line (data such as run ids is never read as rich markup)."""
    console.print(escape(text), highlight=False, soft_wrap=True)


def _short(value: Any, width: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


def _pair(before: float | None, after: float | None) -> str:
    def show(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    return f"{show(before)} → {show(after)}"


@eval_group.command("show")
@click.argument("run_id")
@format_option(ShowFormat, ShowFormat.table, "table or json.")
@click.pass_context
def show_command(ctx: click.Context, run_id: str, fmt: ShowFormat) -> None:
    """One eval run case by case: passes, scores, errors, failure types and each scorer's pass rate.

    RUN_ID: the eval run id (see `tracelock eval runs`).
    """
    from tracelock.evals.compare import show_run

    with get_context(ctx).open_store() as store:
        run = show_run(store, run_id)
    if fmt is ShowFormat.json:
        _write_json(run.as_dict())
        return
    keys = ", ".join(f"{k}={v}" for k, v in run.keys.items()) or "no keys"
    _say(f"run {run.run_id}: {', '.join(run.datasets)} ({keys}); {len(run.cases)} cases, "
         f"{run.attempts} attempts, pass rate {run.pass_rate:.1%}")  # fmt: skip
    rows = [
        (c.dataset, c.case_id, f"{c.passes}/{c.attempts}", f"{c.score:.2f}",
         ", ".join(f"{n}={v:.2f}" for n in sorted(c.scorer_sums) if (v := c.scorer(n)) is not None),
         _short(c.errors[0]) if c.errors else "", _short(c.output or ""), c.source_trace_id)
        for c in run.cases.values()
    ]  # fmt: skip
    columns = ["dataset", "case", "passes", "score", "scores", "error", "output", "source_trace"]
    print_rows(columns, rows, OutputFormat.table, title="cases")
    types = [
        (n, f"{p['candidate'].successes}/{p['candidate'].n}") for n, p in sorted(run.failures.classes.items())
    ]
    types += [(f"scorer {n} passes", f"{p['candidate'].successes}/{p['candidate'].n}")
              for n, p in sorted(run.failures.scorers.items())]  # fmt: skip
    if types:
        print_rows(["failure type / scorer", "attempts"], types, OutputFormat.table, title="failure types")


@eval_group.command("compare")
@click.argument("base")
@click.argument("candidate")
@format_option(ShowFormat, ShowFormat.table, "table or json.")
@click.option("--all", "all_cases", is_flag=True, help="List unchanged cases too.")
@click.pass_context
def compare_command(ctx: click.Context, base: str, candidate: str, fmt: ShowFormat, all_cases: bool) -> None:
    """Two eval runs case by case: improved, regressed, unchanged, added, removed; scorer by scorer.

    BASE, CANDIDATE: the base and the candidate run id.
    """
    from tracelock.evals.compare import compare_runs

    with get_context(ctx).open_store() as store:
        diff = compare_runs(store, base, candidate)
    if fmt is ShowFormat.json:
        _write_json(diff.as_dict())
        return
    counts = ", ".join(f"{n} {s}" for s, n in diff.as_dict()["counts"].items() if n)
    _say(f"{base} → {candidate}: pass rate {diff.base.pass_rate:.1%} → {diff.candidate.pass_rate:.1%}; "
         f"{counts or 'no cases'}")  # fmt: skip
    scorers = [
        (
            name,
            s["cases"],
            _pair(s["base"], s["candidate"]),
            f"{s['delta']:+.2f}",
            s["improved"],
            s["regressed"],
        )
        for name, s in diff.scorers.items()
    ]
    if scorers:
        columns = ["scorer", "cases", "mean", "delta", "improved", "regressed"]
        print_rows(columns, scorers, OutputFormat.table, title="scorers")
    rows = [
        (c.status, c.dataset, c.case_id,
         _pair(c.base.pass_rate if c.base else None, c.candidate.pass_rate if c.candidate else None),
         _pair(c.base.score if c.base else None, c.candidate.score if c.candidate else None),
         _short(c.candidate.errors[0]) if c.candidate and c.candidate.errors else "")
        for c in diff.changes
        if all_cases or c.status != "unchanged"
    ]  # fmt: skip
    print_rows(["status", "dataset", "case", "pass rate", "score", "error"], rows, OutputFormat.table,
               title="cases" + ("" if all_cases else " (unchanged ones left out: --all)"))  # fmt: skip


def register(group: click.Group) -> None:
    group.add_command(eval_group)
