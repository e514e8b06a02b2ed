"""``lock add``: turn a seed, or any stored trace, into a lock case.

The case input is the source span's ``gen_ai.input.messages`` (OpenInference ``input.value`` as alias);
the output it produced is kept in the provenance as ``observed_output`` (the behaviour being locked out).
The span is the seed's span when it carries content, else the root span, else the first span with
content. Shared keys and task labels are read from the spans (span attribute first, then the resource),
complaint/feedback ids come from the ``feedback`` table, and a trace locked by id is linked to the seed
that flagged it, if any.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tracelock.errors import InputError
from tracelock.semconv.index import READ_FALLBACKS
from tracelock.store import Store
from tracelock.store.base import json_or_text

__all__ = ["VERSION_KEYS", "CapturedTrace", "capture_seed", "capture_trace"]

# Canonical names (common.md; semconv/ is the registry of record).
VERSION_KEYS = (
    "gen_ai.request.model",
    "gen_ai.response.model",
    "gen_ai.provider.name",
    "gen_ai.prompt.name",
    "gen_ai.prompt.version",
    "tracelock.retriever.version",
    "tracelock.guardrail.version",
    "tracelock.experiment.bucket",
)
TASK_LABELS = (
    "tracelock.intent",
    "tracelock.feature",
    "tracelock.language",
    "tracelock.customer.tier",
    "gen_ai.output.type",
)
LABEL_PREFIX = "tracelock.label."
INPUT_KEYS = ("gen_ai.input.messages", *READ_FALLBACKS["gen_ai.input.messages"])
OUTPUT_KEYS = ("gen_ai.output.messages", *READ_FALLBACKS["gen_ai.output.messages"])


@dataclass
class CapturedTrace:
    """What a lock case needs from the store about its source trace."""

    trace_id: str
    span_id: str
    input: Any
    output: Any
    keys: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    feedback_ids: list[str] = field(default_factory=list)
    seed_id: str = ""
    seed_rule: str = ""
    store: str = ""


def _content(attributes: dict[str, str], names: tuple[str, ...]) -> Any:
    for name in names:
        if attributes.get(name):
            return json_or_text(attributes[name])
    return None


_SPANS = """
SELECT SpanId, ParentSpanId, SpanName, SpanAttributes, ResourceAttributes
FROM otel_traces
WHERE TraceId = {trace_id:String}
ORDER BY Timestamp, SpanId
"""
# A trace locked by id still records the seed that flagged it, if any (the earliest one).
_SEED_OF_TRACE = """
SELECT SeedId, Rule FROM seeds FINAL WHERE TraceId = {trace_id:String} ORDER BY Timestamp, SeedId LIMIT 1
"""
_FEEDBACK = (
    "SELECT FeedbackId FROM feedback FINAL WHERE TraceId = {trace_id:String} ORDER BY Timestamp, FeedbackId"
)


def _pick_span(spans: list[dict[str, Any]], preferred: str) -> dict[str, Any] | None:
    with_content = [s for s in spans if _content(s["SpanAttributes"], INPUT_KEYS) is not None]
    for span in with_content:
        if preferred and span["SpanId"] == preferred:
            return span
    for span in with_content:
        if not span["ParentSpanId"]:
            return span
    return with_content[0] if with_content else None


def _first_value(spans: list[dict[str, Any]], name: str) -> str:
    for column in ("SpanAttributes", "ResourceAttributes"):
        for span in spans:
            value = span[column].get(name)
            if value:
                return str(value)
    return ""


def capture_trace(store: Store, trace_id: str, *, span_id: str = "") -> CapturedTrace:
    """Read a stored trace; raise InputError when it is not in the store or has no input to lock."""
    trace_id = trace_id.strip().lower()
    if len(trace_id) != 32 or any(c not in "0123456789abcdef" for c in trace_id):
        raise InputError(f"trace id {trace_id!r} is not 32 hex digits")
    spans = store.query(_SPANS, {"trace_id": trace_id}).dicts()
    if not spans:
        raise InputError(f"trace {trace_id} is not in {store.description} (database {store.database})")
    span = _pick_span(spans, span_id)
    if span is None:
        raise InputError(
            f"trace {trace_id} has no span with an input ({' or '.join(INPUT_KEYS)}); nothing to lock"
        )
    ordered = [span] + [s for s in spans if s is not span]
    keys = {k: v for k in VERSION_KEYS if (v := _first_value(ordered, k))}
    labels = {k: v for k in TASK_LABELS if (v := _first_value(ordered, k))}
    for s in ordered:
        for column in ("SpanAttributes", "ResourceAttributes"):
            for name, value in s[column].items():
                if name.startswith(LABEL_PREFIX) and value:
                    labels.setdefault(name, value)
    feedback = [r[0] for r in store.query(_FEEDBACK, {"trace_id": trace_id}).rows]
    seed = store.query(_SEED_OF_TRACE, {"trace_id": trace_id}).dicts()
    return CapturedTrace(
        trace_id=trace_id,
        span_id=span["SpanId"],
        input=_content(span["SpanAttributes"], INPUT_KEYS),
        output=_content(span["SpanAttributes"], OUTPUT_KEYS),
        keys=keys,
        labels=labels,
        feedback_ids=list(dict.fromkeys(feedback)),
        seed_id=seed[0]["SeedId"] if seed else "",
        seed_rule=seed[0]["Rule"] if seed else "",
        store=store.description,
    )


_SEED = """
SELECT SeedId, TraceId, SpanId, Rule, Input, Output
FROM seeds FINAL
WHERE startsWith(SeedId, {seed_id:String})
ORDER BY SeedId
LIMIT 3
"""


def capture_seed(store: Store, seed_id: str) -> CapturedTrace:
    """Read a seed (exact id or a unique prefix of at least 6 characters) and its source trace."""
    seed_id = seed_id.strip()
    if len(seed_id) < 6:
        raise InputError(f"seed id {seed_id!r} is too short (give at least 6 characters)")
    rows = store.query(_SEED, {"seed_id": seed_id}).dicts()
    exact = [r for r in rows if r["SeedId"] == seed_id]
    rows = exact or rows
    if not rows:
        raise InputError(f"seed {seed_id!r} is not in {store.description} (see `tracelock seeds list`)")
    if len(rows) > 1:
        raise InputError(f"seed id prefix {seed_id!r} is ambiguous: {', '.join(r['SeedId'] for r in rows)}")
    seed = rows[0]
    try:
        captured = capture_trace(store, seed["TraceId"], span_id=seed["SpanId"])
    except InputError:
        if not seed["Input"]:
            raise
        captured = CapturedTrace(
            trace_id=seed["TraceId"],
            span_id=seed["SpanId"],
            input=json_or_text(seed["Input"]),
            output=json_or_text(seed["Output"]) if seed["Output"] else None,
            store=store.description,
        )
    captured.seed_id = seed["SeedId"]
    captured.seed_rule = seed["Rule"]
    return captured
