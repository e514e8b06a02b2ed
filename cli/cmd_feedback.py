"""``tracelock feedback add`` and ``tracelock feedback list``: complaints, ratings and comments on traces.

Works with the collector running (the record goes through its ``/v1/feedback``) or not (written to
the store directly). Feedback for a trace not stored yet is kept and reported.
"""

from __future__ import annotations

import enum
import json
from datetime import datetime, timezone
from pathlib import Path

import click
from rich.markup import escape

from tracelock.cli.context import get_context
from tracelock.cli.output import (
    ROWS_FORMAT,
    SUMMARY_FORMAT,
    OutputFormat,
    SummaryFormat,
    print_rows,
    print_summary,
)
from tracelock.cli.params import enum_choice
from tracelock.collector.feedback import KINDS, parse_feedback, store_feedback
from tracelock.errors import ConfigError, InputError

__all__ = ["register"]

feedback_group = click.Group(
    "feedback", help="User feedback linked to traces (complaints, ratings, comments).", no_args_is_help=True
)

#: ``--kind`` choices, from the one list the feedback API accepts.
FeedbackKind = enum.Enum("FeedbackKind", {kind: kind for kind in KINDS}, type=str)  # type: ignore[misc]


@feedback_group.command("add")
@click.option("--trace-id", help="Hex trace id (32 characters).")
@click.option("--kind", type=enum_choice(FeedbackKind), default="complaint", help="What the feedback is.")
@click.option(
    "--value", type=float, help="Rating value (required for rating; complaint and thumbs_up are 1)."
)
@click.option("--comment", default="", help="Free text.")
@click.option("--span-id", default="", help="Hex span id, if about one span.")
@click.option("--customer-id", default="")
@click.option("--user-id", default="")
@click.option("--id", "feedback_id", default="", help="Idempotency id (default: derived from the content).")
@click.option("--source", default="cli", help="Where the feedback came from.")
@click.option(
    "--file",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="JSON/JSONL file of records instead of the options.",
)
@SUMMARY_FORMAT
@click.pass_context
def add(
    ctx: click.Context,
    trace_id: str | None,
    kind: FeedbackKind,
    value: float | None,
    comment: str,
    span_id: str,
    customer_id: str,
    user_id: str,
    feedback_id: str,
    source: str,
    file: Path | None,
    fmt: SummaryFormat,
) -> None:
    """Store feedback about a trace (accepted even when the trace is not stored yet)."""
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except OSError as exc:
            raise InputError(f"{file}: cannot read: {exc.strerror}") from None
        try:
            records = (
                json.loads(text)
                if text.lstrip().startswith("[")
                else [json.loads(line) for line in text.splitlines() if line.strip()]
            )
        except ValueError as exc:
            raise InputError(f"{file}: not JSON or JSONL: {exc}") from exc
    else:
        if not trace_id:
            raise ConfigError("is required (or --file)", field="--trace-id")
        if kind.value == "rating" and value is None:
            raise ConfigError("a rating needs a value (--value 1..5, or your own scale)", field="--value")
        record = {
            "trace_id": trace_id,
            "kind": kind.value,
            "comment": comment,
            "span_id": span_id,
            "customer_id": customer_id,
            "user_id": user_id,
            "feedback_id": feedback_id,
            "source": source,
        }
        if value is not None:
            record["value"] = value
        records = [record]
    rows = parse_feedback(records, default_source=source)
    with get_context(ctx).open_store() as store:
        post = getattr(store, "post_feedback", None)  # a running collector: its /v1/feedback
        result = post(records) if post is not None else store_feedback(store, rows).as_dict()
    notes = "".join(
        f"\n[yellow]note:[/] trace {escape(unknown)} is not in otel_traces yet (feedback kept)"
        for unknown in result["unknown_trace_ids"]
    )
    print_summary(f"[green]stored[/] {result['accepted']} feedback record(s){notes}", result, fmt)


_LIST = """
SELECT FeedbackId, Timestamp, TraceId, SpanId, Kind, Value, Comment, CustomerId, UserId, Source
FROM feedback FINAL
WHERE ({trace_id:String} = '' OR TraceId = {trace_id:String})
  AND ({kind:String} = '' OR Kind = {kind:String})
  AND Timestamp >= {since:DateTime64(3)}
ORDER BY Timestamp DESC, FeedbackId
LIMIT {limit:UInt32}
"""


@feedback_group.command("list")
@click.option("--trace-id", default="", help="Only feedback about this trace.")
@click.option("--kind", type=enum_choice(FeedbackKind), help="Only this kind.")
@click.option("--since", help="Only feedback given since then (e.g. 7d, 24h).")
@click.option("--limit", type=click.IntRange(min=1), default=100, help="At most this many (newest first).")
@ROWS_FORMAT
@click.pass_context
def list_(
    ctx: click.Context,
    trace_id: str,
    kind: FeedbackKind | None,
    since: str | None,
    limit: int,
    fmt: OutputFormat,
) -> None:
    """List feedback, newest first (what `seeds run` and the coverage report read)."""
    from tracelock.cli.cmd_seeds import since_option

    start = since_option(since) or datetime(1970, 1, 1, tzinfo=timezone.utc)
    params = {
        "trace_id": trace_id.lower(),
        "kind": kind.value if kind else "",
        "since": start,
        "limit": limit,
    }
    with get_context(ctx).open_store() as store:
        result = store.query(_LIST, params)
    print_rows(result.columns, result.rows, fmt, title="feedback")


def register(group: click.Group) -> None:
    group.add_command(feedback_group)
