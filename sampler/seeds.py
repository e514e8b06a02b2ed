"""Seeds as rows: what a match records, and reading/writing the ``seeds`` table.

A seed carries its provenance: the rule and the version of its definition, the source trace and span,
the values the condition read (``matched``), the shared keys and labels of the trace, its input and
output when known, and the time it was found. ``mode`` says which path found it first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from tracelock.report.dimensions import DIMENSIONS
from tracelock.sampler.identity import seed_id
from tracelock.sampler.variables import LABEL_PREFIX
from tracelock.store import Store

__all__ = [
    "KEY_COLUMNS",
    "Seed",
    "as_text",
    "existing_seed_keys",
    "keys_and_labels",
    "seeds_this_hour",
    "utc_param",
    "write_seeds",
]

# seeds column -> canonical attribute, for the shared keys a seed records (the columns locks record too).
KEY_COLUMNS: dict[str, str] = {d.lock_column: d.name for d in DIMENSIONS.values() if d.lock_column}


@dataclass(slots=True)
class Seed:
    rule: str
    rule_version: str
    level: str
    trace_id: str
    span_id: str
    mode: str
    matched: dict[str, str]
    keys: dict[str, str] = field(default_factory=dict)  # canonical attribute -> value
    labels: dict[str, str] = field(default_factory=dict)
    input: str = ""
    output: str = ""
    found_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def seed_id(self) -> str:
        return seed_id(self.rule, self.trace_id, self.span_id)

    @property
    def identity(self) -> tuple[str, str, str]:
        return (self.rule, self.trace_id, self.span_id)


def as_text(value: Any) -> str:
    """A value as the seed's ``Matched`` map records it (booleans as true/false, like the exporter)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def keys_and_labels(values: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The shared keys (canonical names) and user labels (short names) a seed records, as text."""
    keys = {a: as_text(values[a]) for a in KEY_COLUMNS.values() if values.get(a) not in (None, "")}
    labels = {k[len(LABEL_PREFIX) :]: as_text(v) for k, v in values.items() if k.startswith(LABEL_PREFIX)}
    return keys, labels


def utc_param(value: datetime) -> datetime:
    """A datetime as a naive UTC value: every store (chDB, server, the collector's admin endpoint) binds
    it the same way, whatever the caller's time zone."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def write_seeds(store: Store, seeds: Sequence[Seed]) -> int:
    """Insert seeds (one columnar batch). Re-writing a seed is harmless: the table folds by identity."""
    if not seeds:
        return 0
    columns: dict[str, list[object]] = {
        "SeedId": [s.seed_id for s in seeds],
        "Timestamp": [s.found_at for s in seeds],
        "TraceId": [s.trace_id for s in seeds],
        "SpanId": [s.span_id for s in seeds],
        "Rule": [s.rule for s in seeds],
        "RuleVersion": [s.rule_version for s in seeds],
        "Level": [s.level for s in seeds],
        "Mode": [s.mode for s in seeds],
        "Matched": [s.matched for s in seeds],
    }
    for column, attribute in KEY_COLUMNS.items():
        columns[column] = [s.keys.get(attribute, "") for s in seeds]
    columns["Labels"] = [s.labels for s in seeds]
    columns["Input"] = [s.input for s in seeds]
    columns["Output"] = [s.output for s in seeds]
    return store.insert("seeds", columns)


def existing_seed_keys(
    store: Store, rules: Iterable[str], trace_ids: Iterable[str]
) -> set[tuple[str, str, str]]:
    """(rule, trace, span) of stored seeds among ``rules`` x ``trace_ids``."""
    rules, trace_ids = sorted(set(rules)), sorted(set(trace_ids))
    if not rules or not trace_ids:
        return set()
    result = store.query(
        "SELECT DISTINCT Rule, TraceId, SpanId FROM seeds "
        "WHERE Rule IN {rules:Array(String)} AND TraceId IN {traces:Array(String)}",
        {"rules": rules, "traces": trace_ids},
    )
    return {(str(r), str(t), str(s)) for r, t, s in result.rows}


def seeds_this_hour(store: Store, now: datetime | None = None) -> dict[str, int]:
    """Seeds found per rule since the start of the current hour (UTC): what rate limits have spent."""
    now = now or datetime.now(timezone.utc)
    start = now.replace(minute=0, second=0, microsecond=0)
    result = store.query(
        "SELECT Rule, uniqExact(TraceId, SpanId) FROM seeds "
        "WHERE Timestamp >= {start:DateTime64(3)} AND Timestamp < {end:DateTime64(3)} GROUP BY Rule",
        {"start": utc_param(start), "end": utc_param(start + timedelta(hours=1))},
    )
    return {str(rule): int(count) for rule, count in result.rows}
