"""``tracelock feedback add``: record a complaint, rating or comment about a trace.

Works with the collector running (the record goes through its ``/v1/feedback``) or not (written to
the store directly). Feedback for a trace not stored yet is kept and reported.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from tracelock.cli.context import get_context
from tracelock.cli.output import SummaryFormat, print_summary
from tracelock.collector.feedback import KINDS, parse_feedback, store_feedback
from tracelock.errors import InputError

__all__ = ["register"]

feedback_app = typer.Typer(
    help="User feedback linked to traces (complaints, ratings, comments).", no_args_is_help=True
)


@feedback_app.command("add")
def add(
    ctx: typer.Context,
    trace_id: str = typer.Option(None, "--trace-id", help="Hex trace id (32 characters)."),
    kind: str = typer.Option("complaint", "--kind", help=f"One of: {', '.join(KINDS)}."),
    value: float = typer.Option(None, "--value", help="Rating value (default 1 for complaint/thumbs_up)."),
    comment: str = typer.Option("", "--comment", help="Free text."),
    span_id: str = typer.Option("", "--span-id", help="Hex span id, if about one span."),
    customer_id: str = typer.Option("", "--customer-id"),
    user_id: str = typer.Option("", "--user-id"),
    feedback_id: str = typer.Option("", "--id", help="Idempotency id (default: derived from the content)."),
    source: str = typer.Option("cli", "--source", help="Where the feedback came from."),
    file: Path = typer.Option(None, "--file", help="JSON/JSONL file of records instead of the options."),
    fmt: SummaryFormat = typer.Option(
        SummaryFormat.table, "--format", "-f", help="table (a sentence) or json."
    ),
) -> None:
    """Store feedback about a trace (accepted even when the trace is not stored yet)."""
    if file is not None:
        text = file.read_text(encoding="utf-8")
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
            raise InputError("--trace-id is required (or --file)")
        record = {
            "trace_id": trace_id,
            "kind": kind,
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
        if hasattr(store, "post_feedback"):
            result = store.post_feedback(records)
        else:
            result = store_feedback(store, rows).as_dict()
    notes = "".join(
        f"\n[yellow]note:[/] trace {unknown} is not in otel_traces yet (feedback kept)"
        for unknown in result["unknown_trace_ids"]
    )
    print_summary(f"[green]stored[/] {result['accepted']} feedback record(s){notes}", result, fmt)


def register(app: typer.Typer) -> None:
    app.add_typer(feedback_app, name="feedback")
