"""The coverage report: where production hurts (complaints, thumbs-down) ranked by volume, next to how
many eval cases and lock cases exist for the same slice. A slice with many bad traces and no eval case
is a blind spot; the report says so with ``no_eval_cases`` / ``no_locks`` flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tracelock.errors import InputError
from tracelock.report.dimensions import Dimension
from tracelock.report.query import ReportQuery, Window, load_query
from tracelock.report.stats import Proportion
from tracelock.store.base import Store

__all__ = ["CoverageReport", "CoverageRow", "coverage_report"]


@dataclass
class CoverageRow:
    rank: int
    slice: dict[str, str]
    traces: int
    complaint_traces: int
    thumbs_down_traces: int
    bad_traces: int
    eval_cases: int
    eval_attempts: int
    locks: int
    examples: list[str]

    @property
    def flags(self) -> list[str]:
        out = []
        if self.eval_cases == 0:
            out.append("no_eval_cases")
        if self.locks == 0:
            out.append("no_locks")
        return out

    @property
    def label(self) -> str:
        return ", ".join(f"{k}={v or '(none)'}" for k, v in self.slice.items()) or "all traffic"

    def as_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "slice": self.slice,
            "traces": self.traces,
            "complaint_traces": self.complaint_traces,
            "thumbs_down_traces": self.thumbs_down_traces,
            "bad_traces": self.bad_traces,
            "bad_rate": Proportion(self.bad_traces, self.traces).as_dict(),
            "eval_cases": self.eval_cases,
            "eval_attempts": self.eval_attempts,
            "locks": self.locks,
            "flags": self.flags,
            "example_trace_ids": self.examples,
        }


@dataclass
class CoverageReport:
    by: list[str]
    filter: dict[str, str]
    window: str
    rows: list[CoverageRow]

    def as_dict(self) -> dict[str, Any]:
        return {
            "report": "coverage",
            "by": self.by,
            "filter": self.filter,
            "window": self.window,
            "rows": [r.as_dict() for r in self.rows],
        }


def coverage_report(
    store: Store,
    by: list[Dimension],
    window: Window | None = None,
    *,
    selector: dict[Dimension, str] | None = None,
    dataset: str | None = None,
    limit: int = 50,
) -> CoverageReport:
    """Bad-feedback slices of live traces (optionally only those matching ``selector``), ranked."""
    window = window or Window()
    selector = selector or {}
    q = ReportQuery()
    live = load_query("live_traces").substitute(
        slice=q.slice_expr(by), arm="''", filter=q.match_expr(selector), **q.window(window)
    )
    eval_filter = "1" if dataset is None else f"DatasetId = {q.bind('dataset', dataset)}"
    rows = q.run(
        store,
        "coverage",
        live_traces=live,
        eval_slice=q.slice_expr(by),
        eval_filter=eval_filter,
        lock_slice=q.slice_expr(by, table="locks"),
    )
    if not rows:
        total = store.query(
            "SELECT count() FROM trace_summaries FINAL WHERE Origin = 'live' AND Start >= {s:DateTime64(9)} "
            "AND Start < {u:DateTime64(9)}",
            {"s": window.since, "u": window.until},
        ).scalar()
        if not total:
            raise InputError(f"no production traces in window {window.describe()}")
    for position, dimension in enumerate(by):
        if rows and dimension.label and not any(r["slice"][position] for r in rows):
            raise InputError(f"--by {dimension.name}: no complaint or thumbs-down trace carries that label")
    names = [d.short for d in by]
    return CoverageReport(
        by=names,
        filter={d.name: v for d, v in selector.items()},
        window=window.describe(),
        rows=[
            CoverageRow(
                rank=i + 1,
                slice=dict(zip(names, r["slice"], strict=True)),
                traces=r["traces"],
                complaint_traces=r["complaint_traces"],
                thumbs_down_traces=r["thumbs_down_traces"],
                bad_traces=r["bad_traces"],
                eval_cases=r["eval_cases"],
                eval_attempts=r["eval_attempts"],
                locks=r["locks"],
                examples=list(r["bad_examples"]),
            )
            for i, r in enumerate(rows[:limit])
        ],
    )
