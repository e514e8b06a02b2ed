"""``tracelock eval show RUN`` and ``tracelock eval compare BASE CANDIDATE``: one run case by case, and two
runs side by side, as Braintrust's experiment view does.

A case's figures are over its attempts in the run (``passes`` of ``attempts``, the mean score, the mean of
each scorer). Comparing two runs matches cases on (dataset, case id) and calls each one:
- ``improved`` / ``regressed``: its pass rate went up / down, or, at an equal pass rate, its mean score
  moved by more than ``SCORE_EPSILON``;
- ``unchanged`` otherwise; ``added`` / ``removed`` when only the candidate / only the base ran it.
Per scorer, the mean over the cases both runs have, and how many of them improved and regressed on that
scorer alone. Failure types (exceptions, parse failures, failed scorers) are the divergence report's
(report/failures.py over deploy/sql/queries/eval_failures.sql), so both read a run the same way.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from tracelock.errors import InputError
from tracelock.report.failures import FailureTypes, fold_failures
from tracelock.report.query import ReportQuery
from tracelock.store.base import Store

__all__ = [
    "SCORE_EPSILON",
    "CaseChange",
    "CaseResult",
    "RunComparison",
    "RunSummary",
    "compare_runs",
    "show_run",
]

#: A mean score must move by more than this to count as a change (float noise is not a regression).
SCORE_EPSILON = 1e-6

_ATTEMPTS = """
SELECT DatasetId, DatasetVersion, CaseId, Repeat, Score, Scores, Passed, Error, ParseFailure, Output,
       TraceId, SourceTraceId, PromptVersion, RequestModel
FROM eval_records FINAL
WHERE EvalRunId = {run_id:String}
ORDER BY DatasetId, CaseId, Repeat
"""


@dataclass
class CaseResult:
    """One case of one run, over its attempts."""

    dataset: str
    case_id: str
    attempts: int = 0
    passes: int = 0
    score_sum: float = 0.0
    scorer_sums: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    parse_failures: int = 0
    output: Any = None
    trace_id: str = ""
    source_trace_id: str = ""

    @property
    def pass_rate(self) -> float:
        return self.passes / self.attempts if self.attempts else 0.0

    @property
    def score(self) -> float:
        return self.score_sum / self.attempts if self.attempts else 0.0

    def scorer(self, name: str) -> float | None:
        total = self.scorer_sums.get(name)
        return total[0] / total[1] if total and total[1] else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "case_id": self.case_id,
            "attempts": self.attempts,
            "passes": self.passes,
            "pass_rate": round(self.pass_rate, 6),
            "score": round(self.score, 6),
            "scores": {n: round(v, 6) for n in sorted(self.scorer_sums) if (v := self.scorer(n)) is not None},
            "errors": self.errors,
            "parse_failures": self.parse_failures,
            "output": self.output,
            "trace_id": self.trace_id,
            "source_trace_id": self.source_trace_id,
        }


@dataclass
class RunSummary:
    run_id: str
    datasets: list[str]
    keys: dict[str, str]
    cases: dict[tuple[str, str], CaseResult]
    failures: FailureTypes

    @property
    def attempts(self) -> int:
        return sum(c.attempts for c in self.cases.values())

    @property
    def pass_rate(self) -> float:
        return sum(c.passes for c in self.cases.values()) / self.attempts if self.attempts else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "datasets": self.datasets,
            "keys": self.keys,
            "cases": len(self.cases),
            "attempts": self.attempts,
            "pass_rate": round(self.pass_rate, 6),
            "failure_types": {
                name: by_arm["candidate"].as_dict() for name, by_arm in sorted(self.failures.classes.items())
            },
            "scorers": {
                name: by_arm["candidate"].as_dict() for name, by_arm in sorted(self.failures.scorers.items())
            },
            "case_results": [c.as_dict() for c in self.cases.values()],
        }


def _failures(store: Store, run_id: str) -> list[dict[str, Any]]:
    """eval_failures.sql rows of one run (as its candidate arm)."""
    q = ReportQuery()
    run = q.bind("run", run_id)
    slices = "CAST([], 'Array(String)')"
    return q.run(
        store,
        "eval_failures",
        slice=slices,
        arm=f"if(EvalRunId = {run}, 'candidate', '')",
        filter=f"EvalRunId = {run}",
    )


def _cases(store: Store, run_id: str) -> tuple[dict[tuple[str, str], CaseResult], dict[str, str]]:
    rows = store.query(_ATTEMPTS, {"run_id": run_id}).dicts()
    if not rows:
        raise InputError(f"no eval run {run_id!r} in the store (list them with `tracelock eval runs`)")
    cases: dict[tuple[str, str], CaseResult] = {}
    for row in rows:
        key = (row["DatasetId"], row["CaseId"])
        case = cases.setdefault(key, CaseResult(*key, trace_id=row["TraceId"]))
        case.attempts += 1
        case.passes += int(row["Passed"])
        case.score_sum += float(row["Score"])
        for name, value in (row["Scores"] or {}).items():
            total = case.scorer_sums.setdefault(str(name), [0.0, 0])
            total[0] += float(value)
            total[1] += 1
        if row["Error"]:
            case.errors.append(row["Error"])
        case.parse_failures += int(row["ParseFailure"])
        case.output = case.output if case.output is not None else row["Output"]
        case.source_trace_id = case.source_trace_id or row["SourceTraceId"]
    first = rows[0]
    keys = {"prompt_version": first["PromptVersion"], "model": first["RequestModel"]}
    return cases, {k: v for k, v in keys.items() if v}


def show_run(store: Store, run_id: str) -> RunSummary:
    """One run, case by case; InputError when the store has no record of it."""
    cases, keys = _cases(store, run_id)
    attempts = {"baseline": 0, "candidate": sum(c.attempts for c in cases.values())}
    failures = fold_failures(_failures(store, run_id), attempts)
    return RunSummary(run_id, sorted({d for d, _ in cases}), keys, cases, failures)


@dataclass(frozen=True)
class CaseChange:
    dataset: str
    case_id: str
    status: str
    base: CaseResult | None
    candidate: CaseResult | None

    def as_dict(self) -> dict[str, Any]:
        def side(result: CaseResult | None) -> dict[str, Any] | None:
            if result is None:
                return None
            picked = ("attempts", "passes", "pass_rate", "score", "scores", "errors")
            return {k: v for k, v in result.as_dict().items() if k in picked}

        return {
            "dataset": self.dataset,
            "case_id": self.case_id,
            "status": self.status,
            "base": side(self.base),
            "candidate": side(self.candidate),
        }


@dataclass
class RunComparison:
    base: RunSummary
    candidate: RunSummary
    changes: list[CaseChange]
    scorers: dict[str, dict[str, Any]]

    def count(self, status: str) -> int:
        return sum(1 for c in self.changes if c.status == status)

    def as_dict(self) -> dict[str, Any]:
        statuses = ("improved", "regressed", "unchanged", "added", "removed")
        return {
            "base": self.base.run_id,
            "candidate": self.candidate.run_id,
            "pass_rate": {
                "base": round(self.base.pass_rate, 6),
                "candidate": round(self.candidate.pass_rate, 6),
            },
            "counts": {s: self.count(s) for s in statuses},
            "scorers": self.scorers,
            "cases": [c.as_dict() for c in self.changes],
        }


def _status(base: CaseResult | None, cand: CaseResult | None) -> str:
    if base is None:
        return "added"
    if cand is None:
        return "removed"
    for before, after in ((base.pass_rate, cand.pass_rate), (base.score, cand.score)):
        if after > before + SCORE_EPSILON:
            return "improved"
        if after < before - SCORE_EPSILON:
            return "regressed"
    return "unchanged"


def _scorer_changes(pairs: list[tuple[CaseResult, CaseResult]]) -> dict[str, dict[str, Any]]:
    """Per scorer, over the cases both runs scored with it: means and improved/regressed counts."""
    seen: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for base, cand in pairs:
        for name in set(base.scorer_sums) & set(cand.scorer_sums):
            before, after = base.scorer(name), cand.scorer(name)
            if before is not None and after is not None:
                seen[name].append((before, after))
    out = {}
    for name, values in sorted(seen.items()):
        base_mean = sum(b for b, _ in values) / len(values)
        cand_mean = sum(c for _, c in values) / len(values)
        out[name] = {
            "cases": len(values),
            "base": round(base_mean, 6),
            "candidate": round(cand_mean, 6),
            "delta": round(cand_mean - base_mean, 6),
            "improved": sum(1 for b, c in values if c > b + SCORE_EPSILON),
            "regressed": sum(1 for b, c in values if c < b - SCORE_EPSILON),
        }
    return out


def compare_runs(store: Store, base_id: str, candidate_id: str) -> RunComparison:
    """Two runs case by case; InputError when either is not in the store or they are the same run."""
    if base_id == candidate_id:
        raise InputError(f"compare two different runs (both are {base_id!r})")
    base, candidate = show_run(store, base_id), show_run(store, candidate_id)
    keys = sorted(set(base.cases) | set(candidate.cases))
    changes = [
        CaseChange(d, c, _status(base.cases.get((d, c)), candidate.cases.get((d, c))),
                   base.cases.get((d, c)), candidate.cases.get((d, c)))
        for d, c in keys
    ]  # fmt: skip
    order = {"regressed": 0, "improved": 1, "added": 2, "removed": 3, "unchanged": 4}
    changes.sort(key=lambda c: (order[c.status], c.dataset, c.case_id))
    pairs = [(c.base, c.candidate) for c in changes if c.base is not None and c.candidate is not None]
    return RunComparison(base, candidate, changes, _scorer_changes(pairs))
