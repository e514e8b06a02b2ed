"""The coverage report: where production hurts (complaints, thumbs-down) and the eval set does not look,
ranked by the gap, not by volume.

Per slice: its bad traces, how many of them already became an eval case or a lock (``covered``: their
source trace), its eval cases and lock cases. A slice is covered once it has ``min_eval_cases`` eval
cases (default 10, as the divergence report's threshold for judging a slice); short of that, each
missing case leaves a share of the uncovered bad traces open::

    gap = uncovered bad traces x (1 - min(eval cases, min_eval_cases) / min_eval_cases)

so a big slice with enough cases ranks below a small one with none. Flags say why: ``no_eval_cases``
(0), ``thin_eval_cases`` (fewer than ``min_eval_cases``), ``no_locks`` / ``few_locks`` (fewer than
``min_locks``, default 1). Both thresholds are options of ``tracelock report coverage``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from tracelock.errors import ConfigError, InputError
from tracelock.report.dimensions import Dimension
from tracelock.report.query import ReportQuery, Window
from tracelock.report.rollup import live_source
from tracelock.report.stats import Proportion
from tracelock.report.thresholds import MIN_EVAL_CASES, MIN_LOCKS
from tracelock.store.base import Store

__all__ = ["MIN_EVAL_CASES", "MIN_LOCKS", "CoverageReport", "CoverageRow", "coverage_report"]


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
    covered_bad_traces: int = 0
    min_eval_cases: int = MIN_EVAL_CASES
    min_locks: int = MIN_LOCKS

    @property
    def uncovered_bad_traces(self) -> int:
        return self.bad_traces - self.covered_bad_traces

    @property
    def gap(self) -> float:
        """Uncovered bad traces, scaled by the share of ``min_eval_cases`` the slice lacks (0: covered)."""
        if self.min_eval_cases <= 0:
            return 0.0
        shortfall = 1 - min(self.eval_cases, self.min_eval_cases) / self.min_eval_cases
        return round(self.uncovered_bad_traces * shortfall, 2)

    @property
    def flags(self) -> list[str]:
        out = []
        if self.eval_cases == 0:
            out.append("no_eval_cases")
        elif self.eval_cases < self.min_eval_cases:
            out.append("thin_eval_cases")
        if self.locks == 0:
            out.append("no_locks")
        elif self.locks < self.min_locks:
            out.append("few_locks")
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
            "covered_bad_traces": self.covered_bad_traces,
            "gap": self.gap,
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
    settings: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "report": "coverage",
            "by": self.by,
            "filter": self.filter,
            "window": self.window,
            "settings": self.settings,
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
    min_eval_cases: int = MIN_EVAL_CASES,
    min_locks: int = MIN_LOCKS,
    max_stale_s: float = 0.0,
) -> CoverageReport:
    """Bad-feedback slices of live traces (optionally only those matching ``selector``), ranked by gap
    (``max_stale_s`` as in :func:`~tracelock.report.divergence.divergence_report`)."""
    for name, value in (("min_eval_cases", min_eval_cases), ("min_locks", min_locks)):
        if value < 0:
            raise ConfigError(f"must be 0 or more, got {value}", field=f"--{name.replace('_', '-')}")
    window = window or Window()
    selector = selector or {}
    q = ReportQuery()
    live = live_source(store, window, max_stale_s).live(
        q,
        slice_sql=q.slice_expr(by),
        arm_sql="''",
        filter_sql=q.match_expr(selector),
        window=window,
        covered=True,
    )
    eval_filter = "1" if dataset is None else f"DatasetId = {q.bind('dataset', dataset)}"
    rows = q.run(
        store,
        "coverage",
        live=live,
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
    found = [
        CoverageRow(
            rank=0,
            slice=dict(zip(names, r["slice"], strict=True)),
            traces=r["traces"],
            complaint_traces=r["complaint_traces"],
            thumbs_down_traces=r["thumbs_down_traces"],
            bad_traces=r["bad_traces"],
            eval_cases=r["eval_cases"],
            eval_attempts=r["eval_attempts"],
            locks=r["locks"],
            examples=list(r["bad_examples"]),
            covered_bad_traces=r["covered_bad_traces"],
            min_eval_cases=min_eval_cases,
            min_locks=min_locks,
        )
        for r in rows
    ]
    found.sort(key=lambda row: (-row.gap, -row.uncovered_bad_traces, -row.bad_traces, row.label))
    return CoverageReport(
        by=names,
        filter={d.name: v for d, v in selector.items()},
        window=window.describe(),
        rows=[replace(row, rank=i + 1) for i, row in enumerate(found[:limit])],
        settings={"min_eval_cases": min_eval_cases, "min_locks": min_locks},
    )
