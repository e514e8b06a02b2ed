"""``tracelock seeds``: check a rules file, run rules over stored data, list and export seeds."""

from __future__ import annotations

import enum
import json
import sys
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tracelock.cli.context import get_context
from tracelock.cli.output import ROWS_FORMAT, OutputFormat, console, print_rows, to_json_value
from tracelock.cli.params import enum_choice, format_option
from tracelock.errors import ConfigError
from tracelock.sampler.variables import Level

if TYPE_CHECKING:
    from tracelock.sampler.rules import CompiledRule, RuleSet

__all__ = ["register"]

seeds_group = click.Group(
    "seeds",
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


@seeds_group.command("check")
@click.argument("file", type=click.Path(path_type=Path))
@ROWS_FORMAT
def check(file: Path, fmt: OutputFormat) -> None:
    """Validate a rules file: YAML, fields, conditions (compile, names, types). Exit 2 when invalid.

    FILE: the rules file (YAML) to validate.
    """
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


@seeds_group.command("defaults")
def defaults() -> None:
    """Print the built-in rules file (copy it to start your own)."""
    text = resources.files("tracelock").joinpath("deploy/rules/default.yaml").read_text("utf-8")
    sys.stdout.write(text)


@seeds_group.command("run")
@click.option(
    "--rules",
    "rules_file",
    type=click.Path(path_type=Path),
    help="Rules file; the built-in rules when omitted.",
)
@click.option("--since", default="24h", help="Look at traces that started or got feedback since then.")
@click.option(
    "--level", type=enum_choice(Level), multiple=True, help="Only rules of this level (repeatable)."
)
@click.option("--ignore-limits", is_flag=True, help="Ignore max_per_hour (a backfill).")
@click.option("--dry-run", is_flag=True, help="Report what would be seeded; write nothing.")
@ROWS_FORMAT
@click.pass_context
def run(
    ctx: click.Context,
    rules_file: Path | None,
    since: str,
    level: tuple[Level, ...],
    ignore_limits: bool,
    dry_run: bool,
    fmt: OutputFormat,
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


@seeds_group.command("list")
@click.option("--rule", help="Only seeds of this rule.")
@click.option("--since", help="Only seeds found since then (e.g. 24h).")
@click.option("--limit", type=click.IntRange(min=1), default=100, help="At most this many (newest first).")
@ROWS_FORMAT
@click.pass_context
def list_(ctx: click.Context, rule: str | None, since: str | None, limit: int, fmt: OutputFormat) -> None:
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


@seeds_group.command("export")
@format_option(ExportFormat, ExportFormat.jsonl, "jsonl (one row per line) or json.")
@click.option("--rule", help="Only seeds of this rule.")
@click.option("--since", help="Only seeds found since then (e.g. 7d).")
@click.option("--seed", multiple=True, help="Only this seed id (repeatable).")
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Write here instead of stdout.")
@click.pass_context
def export(
    ctx: click.Context,
    fmt: ExportFormat,
    rule: str | None,
    since: str | None,
    seed: tuple[str, ...],
    output: Path | None,
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


def register(group: click.Group) -> None:
    group.add_command(seeds_group)
