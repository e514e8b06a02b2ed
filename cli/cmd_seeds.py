"""``tracelock seeds``: check a rules file, run rules over stored data, list and export seeds."""

from __future__ import annotations

import enum
import json
import sys
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from tracelock.cli.context import get_context
from tracelock.cli.output import OutputFormat, console, print_rows, to_json_value
from tracelock.errors import ConfigError
from tracelock.sampler.variables import Level

if TYPE_CHECKING:
    from tracelock.sampler.rules import CompiledRule, RuleSet

__all__ = ["register"]

seeds_app = typer.Typer(
    help="Seed sampler: rules that flag production traces as eval seeds, and the seeds they found.",
    no_args_is_help=True,
)


def since_option(text: str | None) -> datetime | None:
    """``--since 7d``: the moment that long ago; a bad duration is a usage error naming the option."""
    if text is None:
        return None
    from tracelock.sampler.rules import parse_duration

    try:
        return datetime.now(timezone.utc) - parse_duration(text)
    except ValueError as exc:
        raise ConfigError(str(exc), field="--since") from None


def _rules(path: Path | None) -> RuleSet:
    from tracelock.sampler.rules import load_rules

    return load_rules(path=path) if path is not None else load_rules()


def _prefilter(rule: CompiledRule) -> str:
    if rule.level is not Level.span:
        return "n/a: runs on trace summaries"
    return "yes" if rule.condition.gates else "no: decodes every span"


@seeds_app.command("check")
def check(
    file: Path = typer.Argument(..., help="Rules file (YAML) to validate."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="Output format."),
) -> None:
    """Validate a rules file: YAML, fields, conditions (compile, names, types). Exit 2 when invalid."""
    rules = _rules(file)
    rows = [
        (
            r.name,
            r.level.value,
            r.spec.scope.value,
            r.version,
            ", ".join(v.name for v in r.condition.variables),
            _prefilter(r),
        )
        for r in rules.rules
    ]
    print_rows(["rule", "level", "scope", "version", "reads", "pre-filtered"], rows, fmt)
    if fmt is OutputFormat.table:
        console.print(f"[green]ok[/] {file}: {len(rows)} rules")


@seeds_app.command("defaults")
def defaults() -> None:
    """Print the built-in rules file (copy it to start your own)."""
    text = resources.files("tracelock").joinpath("deploy/rules/default.yaml").read_text("utf-8")
    sys.stdout.write(text)


@seeds_app.command("run")
def run(
    ctx: typer.Context,
    rules_file: Path = typer.Option(None, "--rules", help="Rules file; the built-in rules when omitted."),
    since: str = typer.Option(
        "24h", "--since", help="Look at traces that started or got feedback since then."
    ),
    level: list[Level] = typer.Option(None, "--level", help="Only rules of this level (repeatable)."),
    ignore_limits: bool = typer.Option(False, "--ignore-limits", help="Ignore max_per_hour (a backfill)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Report what would be seeded; write nothing."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="Output format."),
) -> None:
    """Run every rule over stored spans, traces and feedback; write new seeds (never duplicates)."""
    from tracelock.sampler.batch import run_rules

    rules = _rules(rules_file)
    start = since_option(since)
    assert start is not None
    with get_context(ctx).open_store() as store:
        report = run_rules(
            store, rules, start, levels=level or tuple(Level), limits=not ignore_limits, write=not dry_run
        )
    columns = ["rule", "level", "matched", "new", "already", "sampled_out", "rate_limited", "errors"]
    rows = [[getattr(r, c) for c in columns] for r in report.rules]
    print_rows(columns, rows, fmt)
    if fmt is OutputFormat.table:
        verb = "would be new" if dry_run else "new"
        console.print(f"{report.new} seeds {verb} since {start.isoformat(timespec='seconds')}")


@seeds_app.command("list")
def list_(
    ctx: typer.Context,
    rule: str = typer.Option(None, "--rule", help="Only seeds of this rule."),
    since: str = typer.Option(None, "--since", help="Only seeds found since then (e.g. 24h)."),
    limit: int = typer.Option(100, "--limit", min=1, help="At most this many (newest first)."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="Output format."),
) -> None:
    """List seeds, newest first."""
    from tracelock.sampler.export import seed_rows

    with get_context(ctx).open_store() as store:
        rows = seed_rows(store, rule=rule, since=since_option(since), limit=limit)
    columns = [
        "SeedId",
        "Timestamp",
        "Rule",
        "Level",
        "Mode",
        "TraceId",
        "SpanId",
        "PromptVersion",
        "Matched",
    ]
    print_rows(columns, [[r[c] for c in columns] for r in rows], fmt)


class ExportFormat(str, enum.Enum):
    jsonl = "jsonl"
    json = "json"


@seeds_app.command("export")
def export(
    ctx: typer.Context,
    fmt: ExportFormat = typer.Option(
        ExportFormat.jsonl, "--format", "-f", help="jsonl (one row per line) or json."
    ),
    rule: str = typer.Option(None, "--rule", help="Only seeds of this rule."),
    since: str = typer.Option(None, "--since", help="Only seeds found since then (e.g. 7d)."),
    seed: list[str] = typer.Option(None, "--seed", help="Only this seed id (repeatable)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write here instead of stdout."),
) -> None:
    """Export seeds as dataset rows (inputs, outputs, shared keys, labels, source trace/span, rule)."""
    from tracelock.sampler.export import dataset_rows, seed_rows

    with get_context(ctx).open_store() as store:
        rows = dataset_rows(
            store, seed_rows(store, rule=rule, since=since_option(since), seed_ids=seed or None)
        )
    if fmt is ExportFormat.json:
        text = json.dumps(to_json_value(rows), ensure_ascii=False, indent=2) + "\n"
    else:
        text = "".join(json.dumps(to_json_value(r), ensure_ascii=False) + "\n" for r in rows)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {len(rows)} seeds to {output}")


def register(app: typer.Typer) -> None:
    app.add_typer(seeds_app, name="seeds")
