"""Printing rows: a rich table by default, or csv/json/jsonl/markdown for machines and PRs."""

from __future__ import annotations

import csv
import enum
import io
import json
import os
import sys
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tracelock.cli.params import format_option

__all__ = [
    "PIPE_WIDTH",
    "ROWS_FORMAT",
    "SUMMARY_FORMAT",
    "OutputFormat",
    "SummaryFormat",
    "console",
    "err_console",
    "print_error",
    "print_rows",
    "print_summary",
    "to_json_value",
]

#: Width of tables when the output is not a terminal (a pipe, a CI log). Rich's default there is 80
#: columns, which folds every wide table into unreadable cells; a table is only as wide as its rows.
PIPE_WIDTH = 10_000


def _console(*, stderr: bool) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    to_terminal = stream.isatty() or "COLUMNS" in os.environ  # COLUMNS, when set, still wins
    return Console(stderr=stderr, width=None if to_terminal else PIPE_WIDTH)


console = _console(stderr=False)
err_console = _console(stderr=True)


class OutputFormat(str, enum.Enum):
    table = "table"
    csv = "csv"
    json = "json"
    jsonl = "jsonl"
    markdown = "markdown"


class SummaryFormat(str, enum.Enum):
    """For commands that report what they did rather than rows: a sentence, or the same facts as JSON."""

    table = "table"
    json = "json"


#: The ``--format`` option of such commands.
SUMMARY_FORMAT = format_option(SummaryFormat, SummaryFormat.table, "table (a sentence) or json.")
#: The ``--format`` option of commands that print rows (:func:`print_rows`).
ROWS_FORMAT = format_option(OutputFormat, OutputFormat.table, "table, csv, json, jsonl or markdown.")


def print_summary(message: str, facts: dict[str, Any], fmt: SummaryFormat) -> None:
    """``message`` (rich markup) for people, or ``facts`` as one JSON document for machines."""
    if fmt is SummaryFormat.json:
        sys.stdout.write(json.dumps(to_json_value(facts), ensure_ascii=False) + "\n")
    else:
        console.print(message, highlight=False, soft_wrap=True)


def print_error(message: str, label: str = "error") -> None:
    """One red ``label:`` and the message on stderr, printed as it is (brackets in a regex or a user's
    label are text, not rich markup)."""
    err_console.print(f"[red]{label}:[/] {escape(message)}", highlight=False, soft_wrap=True)


def to_json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


def _cell(value: Any) -> str:
    value = to_json_value(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


def print_rows(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: OutputFormat, title: str = ""
) -> None:
    """Write rows to stdout in the requested format."""
    if fmt is OutputFormat.json:
        data = [dict(zip(columns, map(to_json_value, row), strict=True)) for row in rows]
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    elif fmt is OutputFormat.jsonl:
        for row in rows:
            record = dict(zip(columns, map(to_json_value, row), strict=True))
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    elif fmt is OutputFormat.csv:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_cell(v) for v in row] for row in rows)
        sys.stdout.write(buffer.getvalue())
    elif fmt is OutputFormat.markdown:
        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(_cell(v).replace("|", "\\|") for v in row) + " |" for row in rows]
        sys.stdout.write("\n".join(lines) + "\n")
    elif len(columns) == 1 and len(rows) == 1:
        # A scalar prints bare, like clickhouse-client, so shell scripts can use it.
        console.print(_cell(rows[0][0]), highlight=False, soft_wrap=True)
    else:
        table = Table(title=title or None, show_lines=False)
        for name in columns:
            table.add_column(name, overflow="fold")
        for row in rows:
            table.add_row(*(_cell(v) for v in row))
        console.print(table)
