"""The divergence report: per slice, offline eval results of baseline vs candidate next to production
outcomes of baseline vs candidate, with flags where an offline win meets an online loss.

The numbers come from SQL templates (``live_bounds``, ``divergence_online`` - outcomes per slice and
the timeline in one pass - and ``divergence_offline``) run over the same key selectors; this module
only turns counts into rates, intervals, tests and flags.

A slice is judged on its own numbers only. With at least ``min_eval_cases`` eval cases in each arm, its
offline verdict is its own pass rates (``offline_better``), and an offline win meeting a significant
online loss ``diverges``. With fewer, the slice says so (``few_eval_cases`` / ``no_eval_cases``,
``offline_basis`` = ``too_few_cases``) and gets no offline verdict at all: another slice's figure never
stands in, so a slice that reads 100 % -> 50 % offline is never called ``offline_better``. When such a
slice is significantly worse online while the candidate won offline overall, it is a ``blind_spot``: the
eval set that approved the candidate barely tests this slice. Both ``diverges`` and ``blind_spot`` are
listed as ``flagged``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tracelock.errors import InputError
from tracelock.report.dimensions import Dimension
from tracelock.report.failures import FailureTypes, fold_failures
from tracelock.report.query import ReportQuery, Window, bucket_seconds
from tracelock.report.rollup import timeline_source
from tracelock.report.stats import MIN_UNITS, RateChange, compare_rates
from tracelock.store.base import Store

__all__ = [
    "ATTENTION",
    "ONLINE_OUTCOMES",
    "DivergenceReport",
    "SliceResult",
    "bucket_seconds",
    "divergence_report",
]

#: Online outcomes where a higher rate is worse: metric name -> column of trace counts.
ONLINE_OUTCOMES = {
    "complaint_rate": "complaint_traces",
    "thumbs_down_rate": "thumbs_down_traces",
    "parse_failure_rate": "parse_failure_traces",
    "empty_retrieval_rate": "empty_retrieval_traces",
    "error_rate": "error_traces",
}
_ONLINE_SUMS = ("traces", *ONLINE_OUTCOMES.values())
_CONTEXT_GROWTH = 1.25  # candidate mean context tokens this many times the baseline's: flagged
#: Flags that put a slice in the report's ``flagged`` list.
ATTENTION = frozenset({"diverges", "blind_spot"})


@dataclass
class SliceResult:
    """One slice (or the overall row): raw counts per arm plus the derived comparisons and flags."""

    slice: dict[str, str]
    offline: dict[str, dict[str, Any]]  # arm -> attempts, cases, passes, mean_score, errors, runs
    online: dict[str, dict[str, Any]]  # arm -> traces, *_traces, mean_context_tokens, ...
    offline_pass: RateChange = field(init=False)
    online_rates: dict[str, RateChange] = field(init=False)
    offline_basis: str = "slice"  # or "too_few_cases": no offline verdict for this slice
    flags: list[str] = field(default_factory=list)
    #: How the eval attempts failed, per arm, beside the online signals (report/failures.py).
    failures: FailureTypes | None = None

    def __post_init__(self) -> None:
        base, cand = self.offline["baseline"], self.offline["candidate"]
        self.offline_pass = compare_rates(base["passes"], base["attempts"], cand["passes"], cand["attempts"])
        b, c = self.online["baseline"], self.online["candidate"]
        self.online_rates = {
            name: compare_rates(b[col], b["traces"], c[col], c["traces"])
            for name, col in ONLINE_OUTCOMES.items()
        }

    @property
    def label(self) -> str:
        return ", ".join(f"{k}={v or '(none)'}" for k, v in self.slice.items()) or "all traffic"

    @property
    def flagged(self) -> bool:
        """The slice needs a look: it diverges, or it is a blind spot of the eval set."""
        return bool(ATTENTION & set(self.flags))

    def eval_cases(self, arm: str) -> int:
        return int(self.offline[arm]["cases"])

    def mean(self, arm: str, column: str) -> float | None:
        side = self.online[arm]
        return side[column] if side["traces"] else None

    def examples(self) -> list[str]:
        """Trace ids with a complaint or thumbs-down, candidate first (smallest ids: stable across runs)."""
        return list(self.online["candidate"]["bad_examples"]) + list(self.online["baseline"]["bad_examples"])

    def as_dict(self) -> dict[str, Any]:
        def context(arm: str) -> dict[str, Any]:
            return {
                "traces": self.online[arm]["traces"],
                "mean_context_tokens": _round(self.mean(arm, "mean_context_tokens")),
                "mean_cost_usd": _round(self.mean(arm, "mean_cost_usd"), 8),
            }

        return {
            "slice": self.slice,
            "flags": self.flags,
            "offline": {
                "basis": self.offline_basis,
                "cases": {arm: self.eval_cases(arm) for arm in ("baseline", "candidate")},
                "attempts": {arm: self.offline[arm]["attempts"] for arm in ("baseline", "candidate")},
                "mean_score": {
                    arm: _round(self.offline[arm]["mean_score"]) for arm in ("baseline", "candidate")
                },
                "errors": {arm: self.offline[arm]["errors"] for arm in ("baseline", "candidate")},
                "pass_rate": self.offline_pass.as_dict(),
            },
            "online": {
                "baseline": context("baseline"),
                "candidate": context("candidate"),
                **{name: change.as_dict() for name, change in self.online_rates.items()},
            },
            "failure_types": self.failures.as_dict() if self.failures else None,
            "example_trace_ids": self.examples(),
        }


@dataclass
class DivergenceReport:
    baseline: dict[str, str]
    candidate: dict[str, str]
    by: list[str]
    window: str
    overall: SliceResult
    slices: list[SliceResult]
    timeline: list[dict[str, Any]]
    rollout_at: datetime | None
    settings: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "report": "divergence",
            "baseline": self.baseline,
            "candidate": self.candidate,
            "by": self.by,
            "window": self.window,
            "settings": self.settings,
            "rollout_at": self.rollout_at.isoformat() if self.rollout_at else None,
            "overall": self.overall.as_dict(),
            "slices": [s.as_dict() for s in self.slices],
            "flagged": [s.slice for s in self.slices if s.flagged],
            "timeline": [
                {
                    **row,
                    "bucket": row["bucket"].isoformat(),
                    "slice": dict(zip(self.by, row["slice"], strict=True)),
                }
                for row in self.timeline
            ],
        }


def _round(value: float | None, digits: int = 6) -> float | None:
    """Round for output, so a re-run (summation order differs) prints the same numbers."""
    return None if value is None else round(value, digits)


def _empty_offline() -> dict[str, Any]:
    return {"attempts": 0, "cases": 0, "passes": 0, "mean_score": None, "errors": 0, "runs": 0}


def _empty_online() -> dict[str, Any]:
    empty: dict[str, Any] = dict.fromkeys(_ONLINE_SUMS, 0)
    return empty | {
        "mean_context_tokens": 0.0,
        "mean_cost_usd": 0.0,
        "bad_examples": [],
        "first_seen": None,
        "last_seen": None,
    }


def _fold_online(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Sum per-slice online rows of one arm into one (means weighted by traces)."""
    out = _empty_online()
    for row in rows:
        for col in _ONLINE_SUMS:
            out[col] += row[col]
        for col in ("mean_context_tokens", "mean_cost_usd"):
            out[col] += row[col] * row["traces"]
        out["bad_examples"] = sorted([*out["bad_examples"], *row["bad_examples"]])[:3]
        seen = [v for v in (out["first_seen"], row["first_seen"]) if v is not None]
        out["first_seen"] = min(seen) if seen else None
    for col in ("mean_context_tokens", "mean_cost_usd"):
        out[col] = out[col] / out["traces"] if out["traces"] else 0.0
    return out


def _fold_offline(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out = _empty_offline()
    score_sum = 0.0
    for row in rows:
        for col in ("attempts", "cases", "passes", "errors"):
            out[col] += row[col]
        out["runs"] = max(out["runs"], row["runs"])
        score_sum += (row["mean_score"] or 0.0) * row["attempts"]
    out["mean_score"] = score_sum / out["attempts"] if out["attempts"] else None
    return out


def _flag(result: SliceResult, overall: SliceResult | None, settings: dict[str, Any]) -> None:
    """Flags of one slice from its own numbers (``overall`` only names a blind spot, never a verdict)."""
    alpha = settings["alpha"]
    cases = min(result.eval_cases("baseline"), result.eval_cases("candidate"))
    too_few = overall is not None and cases < settings["min_eval_cases"]
    if too_few:
        result.offline_basis = "too_few_cases"
        total = result.eval_cases("baseline") + result.eval_cases("candidate")
        result.flags.append("no_eval_cases" if total == 0 else "few_eval_cases")
    delta = result.offline_pass.delta
    offline_better = not too_few and delta is not None and delta > 0
    worse = [n for n, c in result.online_rates.items() if c.significant(alpha) and (c.delta or 0) > 0]
    if offline_better:
        result.flags.append("offline_better")
    if worse:
        result.flags.append("online_worse")
        result.flags.extend(f"{name.removesuffix('_rate')}_up" for name in worse)
    base_ctx, cand_ctx = (
        result.mean("baseline", "mean_context_tokens"),
        result.mean("candidate", "mean_context_tokens"),
    )
    enough = min(result.online["baseline"]["traces"], result.online["candidate"]["traces"]) >= MIN_UNITS
    if enough and base_ctx and cand_ctx and cand_ctx >= _CONTEXT_GROWTH * base_ctx:
        result.flags.append("context_tokens_up")
    if (
        min(result.online["baseline"]["traces"], result.online["candidate"]["traces"])
        < settings["min_traces"]
    ):
        result.flags.append("few_traces")
    if result.failures is not None:
        result.flags.extend(f"{kind}_up_offline_too" for kind in result.failures.matched)
    if offline_better and worse:
        result.flags.insert(0, "diverges")
    elif too_few and worse and overall is not None and "offline_better" in overall.flags:
        result.flags.insert(0, "blind_spot")


def divergence_report(
    store: Store,
    baseline: dict[Dimension, str],
    candidate: dict[Dimension, str],
    by: list[Dimension],
    window: Window | None = None,
    *,
    min_eval_cases: int = 10,
    min_traces: int = 30,
    alpha: float = 0.05,
    dataset: str | None = None,
    max_stale_s: float = 0.0,
) -> DivergenceReport:
    """Compute the report. Raises InputError when a side matches no trace and no eval record.

    ``max_stale_s``: how old a rollup of older data may be and still be read (:mod:`.rollup`; 0: only
    a current one, so the report is of the data as it is now)."""
    window = window or Window()
    settings = {
        "min_eval_cases": min_eval_cases,
        "min_traces": min_traces,
        "alpha": alpha,
        "dataset": dataset,
    }
    q = ReportQuery()
    slice_sql, arm_sql = q.slice_expr(by), q.arm_expr(baseline, candidate)
    either = f"({q.match_expr(baseline)} OR {q.match_expr(candidate)})"
    source, bounds = timeline_source(store, q, either, window, max_stale_s)
    if not bounds["partial_rows"]:
        raise InputError(
            f"no production trace of the baseline or the candidate in window {window.describe()} "
            "(empty window, or keys that production does not carry)"
        )
    q.params["bucket_seconds"] = bucket_seconds(bounds["first"], bounds["last"])
    live = source.live(q, slice_sql=slice_sql, arm_sql=arm_sql, filter_sql=either, window=window)
    rows = q.run(store, "divergence_online", live=live)
    online_rows = [r for r in rows if not r["is_timeline"]]
    timeline = [
        {k: r[k] for k in ("bucket", "slice", "traces", "complaint_traces", "candidate_traces")}
        for r in rows
        if r["is_timeline"]
    ]
    eval_filter = either if dataset is None else f"{either} AND DatasetId = {q.bind('dataset', dataset)}"
    offline_rows = q.run(store, "divergence_offline", slice=slice_sql, arm=arm_sql, filter=eval_filter)
    failure_rows = q.run(store, "eval_failures", slice=slice_sql, arm=arm_sql, filter=eval_filter)

    if not online_rows:
        raise InputError(
            f"no production trace of the baseline or the candidate in window {window.describe()} "
            "(empty window, or keys that production does not carry)"
        )
    for arm, selector in (("baseline", baseline), ("candidate", candidate)):
        if not any(r["arm"] == arm for r in online_rows + offline_rows):
            text = ", ".join(f"{d.name}={v}" for d, v in selector.items())
            raise InputError(
                f"{arm} {text} matches no production trace in window {window.describe()} and no eval record"
            )
    for position, dimension in enumerate(by):
        if dimension.label and not any(r["slice"][position] for r in online_rows + offline_rows):
            raise InputError(
                f"--by {dimension.name}: no trace or eval record of this report carries that label"
            )

    keys = sorted({tuple(r["slice"]) for r in online_rows + offline_rows})
    names = [d.short for d in by]

    def build(
        rows_on: list[dict[str, Any]], rows_off: list[dict[str, Any]], key: tuple[str, ...] | None
    ) -> SliceResult:
        def pick(rows: list[dict[str, Any]], arm: str) -> list[dict[str, Any]]:
            return [r for r in rows if r["arm"] == arm and (key is None or tuple(r["slice"]) == key)]

        result = SliceResult(
            slice=dict(zip(names, key, strict=True)) if key is not None else {},
            offline={arm: _fold_offline(pick(rows_off, arm)) for arm in ("baseline", "candidate")},
            online={arm: _fold_online(pick(rows_on, arm)) for arm in ("baseline", "candidate")},
        )
        attempts = {arm: result.offline[arm]["attempts"] for arm in ("baseline", "candidate")}
        mine = [r for r in failure_rows if key is None or tuple(r["slice"]) == key]
        result.failures = fold_failures(mine, attempts)
        result.failures.match(result.online_rates, alpha)
        return result

    overall = build(online_rows, offline_rows, None)
    _flag(overall, None, settings)
    slices = [build(online_rows, offline_rows, key) for key in keys]
    for result in slices:
        _flag(result, overall, settings)
    slices.sort(key=lambda s: (not s.flagged, -s.online["candidate"]["traces"], s.label))

    rollout_at = overall.online["candidate"]["first_seen"]
    return DivergenceReport(
        baseline={d.name: v for d, v in baseline.items()},
        candidate={d.name: v for d, v in candidate.items()},
        by=names,
        window=window.describe(),
        overall=overall,
        slices=slices,
        timeline=timeline,
        rollout_at=rollout_at,
        settings=settings,
    )
