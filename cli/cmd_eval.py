"""``tracelock eval import FILE`` and ``tracelock eval runs``: bring eval results in, list what is there."""

from __future__ import annotations

import enum
from pathlib import Path

import typer

from tracelock.cli.context import get_context
from tracelock.cli.output import OutputFormat, SummaryFormat, print_rows, print_summary
from tracelock.evals.importer import import_results

__all__ = ["register"]

eval_app = typer.Typer(help="Eval results: import them from other tools, list runs.", no_args_is_help=True)


class ImportFormat(str, enum.Enum):
    auto = "auto"
    jsonl = "jsonl"
    promptfoo = "promptfoo"


@eval_app.command("import")
def import_command(
    ctx: typer.Context,
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="Results file."),
    input_format: ImportFormat = typer.Option(
        ImportFormat.auto,
        "--input-format",
        help="jsonl (the shared results shape), promptfoo (its JSON output), or auto.",
    ),
    pass_threshold: float = typer.Option(
        0.5,
        "--pass-threshold",
        min=0.0,
        max=1.0,
        help="Score at or above which a result without 'passed' passes.",
    ),
    fmt: SummaryFormat = typer.Option(
        SummaryFormat.table, "--format", "-f", help="table (a sentence) or json."
    ),
) -> None:
    """Import eval results; all lines or none (a bad line is named with its field and nothing is written)."""
    with get_context(ctx).open_store() as store:
        result = import_results(store, file, fmt=input_format.value, pass_threshold=pass_threshold)
        where = f"{store.description} database {store.database}"
    facts = {"rows": result.rows, "cases": result.cases, "runs": list(result.runs), "format": result.format}
    message = (
        f"[green]imported[/] {result.rows} result(s) of {result.cases} case(s) in run(s) "
        f"{', '.join(result.runs)} from {file} ({result.format}) into {where}"
    )
    print_summary(message, {**facts, "file": str(file), "store": where}, fmt)


@eval_app.command("runs")
def runs_command(
    ctx: typer.Context,
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="Output format."),
    limit: int = typer.Option(50, "--limit", min=1, help="Most recent runs to list."),
) -> None:
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


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")
