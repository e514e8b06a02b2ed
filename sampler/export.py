"""Seeds as eval cases: what ``tracelock seeds export`` writes, in the case format (:mod:`tracelock.cases`).

One JSON object per seed (documented in docs/seeds.md)::

    {"id": "seed-9ddc3632aa4f070c", "input": <JSON value or text>,
     "keys": {"gen_ai.request.model": "...", "gen_ai.prompt.version": "...", ...},
     "labels": {"tracelock.intent": "...", "tracelock.customer.tier": "...", "tracelock.label.x": "..."},
     "provenance": {"source_trace_id": "<hex32>", "source_span_id": "<hex16>", "seed_id": "9ddc3632aa4f070c",
                    "seed_rule": "complaint-linked-trace", "seed_rule_version": "cb811781678d",
                    "seed_level": "trace", "seed_mode": "online", "found_at": "2026-...Z",
                    "matched": {"feedback.complaint": "true"}, "feedback_ids": ["..."],
                    "feedback": [{"id": "...", "kind": "complaint", "value": 1.0, "comment": "...", ...}],
                    "observed_output": <the output the trace produced>}}
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from tracelock.cases import make_case
from tracelock.errors import InputError
from tracelock.sampler.seeds import KEY_COLUMNS, utc_param
from tracelock.store import Store
from tracelock.store.base import json_or_text

__all__ = ["dataset_row", "dataset_rows", "get_seed", "seed_rows"]

_VERSION_KEYS = ("gen_ai.request.model", "gen_ai.prompt.version", "tracelock.retriever.version")
# Times travel as integers: every store (the collector's admin endpoint included) returns them alike.
_SEED_COLUMNS = (
    "SeedId, toUnixTimestamp64Milli(Timestamp) AS TimestampMs, TraceId, SpanId, Rule, RuleVersion, Level, "
    "Mode, Matched, " + ", ".join(KEY_COLUMNS) + ", Labels, Input, Output"
)


def seed_rows(
    store: Store,
    *,
    rule: str | None = None,
    since: datetime | None = None,
    seed_ids: Sequence[str] | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Stored seeds (one row per identity, newest first), optionally filtered."""
    where = ["1"]
    params: dict[str, Any] = {}
    if rule:
        where.append("Rule = {rule:String}")
        params["rule"] = rule
    if since is not None:
        where.append("Timestamp >= {since:DateTime64(3)}")
        params["since"] = utc_param(since)
    if seed_ids is not None:
        where.append("SeedId IN {ids:Array(String)}")
        params["ids"] = list(seed_ids)
    sql = (
        f"SELECT {_SEED_COLUMNS} FROM seeds FINAL WHERE {' AND '.join(where)} ORDER BY Timestamp DESC, SeedId"
    )
    if limit:
        sql += " LIMIT {limit:UInt64}"
        params["limit"] = limit
    rows = store.query(sql, params).dicts()
    for row in rows:
        row["Timestamp"] = _from_ms(row.pop("TimestampMs"))
    return rows


def _from_ms(value: Any) -> datetime:
    return datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc)


def _feedback(store: Store, trace_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    if not trace_ids:
        return {}
    result = store.query(
        "SELECT TraceId, FeedbackId, Kind, Value, Comment, toUnixTimestamp64Milli(Timestamp) "
        "FROM feedback FINAL WHERE TraceId IN {traces:Array(String)} ORDER BY Timestamp, FeedbackId",
        {"traces": sorted(set(trace_ids))},
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for trace_id, fid, kind, value, comment, ts in result.rows:
        out.setdefault(str(trace_id), []).append(
            {
                "id": fid,
                "kind": kind,
                "value": value,
                "comment": comment,
                "timestamp": _from_ms(ts).isoformat(),
            }
        )
    return out


def dataset_row(row: dict[str, Any], feedback: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """One stored seed as a case (see the module docstring)."""
    keys: dict[str, str] = {}
    labels: dict[str, str] = {}
    for column, attribute in KEY_COLUMNS.items():
        value = row.get(column) or ""
        if value:
            (keys if attribute in _VERSION_KEYS else labels)[attribute] = value
    for name, value in (row.get("Labels") or {}).items():
        labels[f"tracelock.label.{name}"] = value
    feedback = feedback or []
    return make_case(
        f"seed-{row['SeedId']}",
        json_or_text(row["Input"]) if row["Input"] else None,
        keys=keys,
        labels=labels,
        provenance={
            "source_trace_id": row["TraceId"],
            "source_span_id": row["SpanId"],
            "seed_id": row["SeedId"],
            "seed_rule": row["Rule"],
            "seed_rule_version": row["RuleVersion"],
            "seed_level": row["Level"],
            "seed_mode": row["Mode"],
            "found_at": row["Timestamp"].isoformat(),
            "matched": dict(row["Matched"]),
            "feedback_ids": [f["id"] for f in feedback],
            "feedback": feedback,
            "observed_output": json_or_text(row["Output"]) if row["Output"] else None,
        },
    )


def dataset_rows(store: Store, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    feedback = _feedback(store, [r["TraceId"] for r in rows])
    return [dataset_row(r, feedback.get(r["TraceId"])) for r in rows]


def get_seed(store: Store, seed_id: str) -> dict[str, Any]:
    """The dataset row of one seed; InputError naming the id when there is no such seed."""
    rows = seed_rows(store, seed_ids=[seed_id.strip().lower()])
    if not rows:
        raise InputError(f"no seed with id {seed_id!r} (list them with `tracelock seeds list`)")
    return dataset_rows(store, rows[:1])[0]
