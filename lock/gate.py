"""The gate: match eval attempts to lock cases and decide, per case and overall, whether the locks hold.

Per case, over the attempts found for it:
- ``missing``: no attempt at all;
- ``regressed``: fewer passing attempts than the case requires (``min_passes`` of ``repeats``; default all);
- ``flaky``: enough attempts passed, but not all of them (the lock holds and wobbles: watch it);
- ``passed``: every attempt passed.
Overall the gate fails when a case is missing, or when the share of holding cases (passed + flaky) is below
``min_pass_rate`` (1.0 by default: any regression fails), or on flaky cases with ``fail_on_flaky``.

Results are matched on (dataset_id, case_id); a result without dataset_id matches by case id when that
id is unique across the lock files. A result's ``dataset_version`` selects the cases of that version
(older versions stay reproducible).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tracelock.errors import ConfigError
from tracelock.lock.assertions import check_attempt
from tracelock.lock.model import LockCase, LockFile, normalize_version
from tracelock.lock.results import Attempt

if TYPE_CHECKING:
    from tracelock.lock.prompts import PromptStatus

__all__ = [
    "HOLDING",
    "Baseline",
    "BaselineEntry",
    "CaseOutcome",
    "GateReport",
    "decide_case",
    "run_gate",
]

HOLDING = ("passed", "flaky")


@dataclass(frozen=True)
class BaselineEntry:
    status: str
    passes: int
    attempts: int


@dataclass(frozen=True)
class Baseline:
    """Per-case outcomes of an earlier, passing gate run (for ``what got worse``)."""

    label: str
    entries: dict[tuple[str, str], BaselineEntry]


@dataclass
class CaseOutcome:
    case: LockCase
    dataset_version: int
    status: str
    passes: int
    attempts: int
    required: int
    failures: list[str] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)
    baseline: BaselineEntry | None = None
    #: Eval traces (the results' trace_id) of the failed attempts: where to look at the regression itself.
    failing_eval_traces: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        return (self.case.dataset, self.case.id)

    @property
    def holds(self) -> bool:
        return self.status in HOLDING

    @property
    def change(self) -> str:
        """``worse``, ``better``, ``same`` or ``new`` compared with the baseline ('' without one)."""
        if self.baseline is None:
            return ""
        before = self.baseline
        if before.status in HOLDING and not self.holds:
            return "worse"
        if before.status not in HOLDING and self.holds:
            return "better"
        rate_now = self.passes / self.attempts if self.attempts else 0.0
        rate_then = before.passes / before.attempts if before.attempts else 0.0
        if rate_now < rate_then - 1e-9:
            return "worse"
        if rate_now > rate_then + 1e-9:
            return "better"
        return "same"


@dataclass
class GateReport:
    outcomes: list[CaseOutcome]
    unmatched: list[Attempt]
    min_pass_rate: float
    fail_on_flaky: bool
    baseline_label: str = ""
    #: The prompt templates the lock files guard, hashed now (lock/prompts.py; filled by lock check).
    prompts: list[PromptStatus] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def pass_rate(self) -> float:
        return sum(o.holds for o in self.outcomes) / len(self.outcomes) if self.outcomes else 0.0

    @property
    def failed(self) -> bool:
        if self.count("missing"):
            return True
        if self.fail_on_flaky and self.count("flaky"):
            return True
        return self.pass_rate < self.min_pass_rate - 1e-9

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    @property
    def run_ids(self) -> list[str]:
        return sorted({r for o in self.outcomes for r in o.run_ids})

    def worse(self) -> list[CaseOutcome]:
        return [o for o in self.outcomes if o.change == "worse"]

    def as_dict(self) -> dict[str, Any]:
        """The decision as plain data (``lock check --format json``)."""
        return {
            "verdict": "failed" if self.failed else "ok",
            "exit_code": self.exit_code,
            "pass_rate": self.pass_rate,
            "min_pass_rate": self.min_pass_rate,
            "baseline": self.baseline_label or None,
            "counts": {s: self.count(s) for s in ("passed", "flaky", "regressed", "missing")},
            "cases": [
                {
                    "dataset": o.case.dataset,
                    "case_id": o.case.id,
                    "dataset_version": o.dataset_version,
                    "status": o.status,
                    "passes": o.passes,
                    "attempts": o.attempts,
                    "required": o.required,
                    "failures": o.failures,
                    "source_trace_id": o.case.provenance.source_trace_id,
                    "failing_eval_traces": o.failing_eval_traces,
                    "run_ids": o.run_ids,
                    "change": o.change or None,
                }
                for o in self.outcomes
            ],
            "unmatched": sorted(
                {f"{a.dataset_id}/{a.case_id}" if a.dataset_id else a.case_id for a in self.unmatched}
            ),
            "prompts": [p.as_dict() for p in self.prompts],
        }

    def summary(self) -> str:
        parts = [f"{self.count(s)} {s}" for s in ("passed", "flaky", "regressed", "missing") if self.count(s)]
        verdict = "FAILED" if self.failed else "OK"
        return (
            f"{verdict}: {len(self.outcomes)} lock cases, "
            + ", ".join(parts or ["none"])
            + (
                f"; pass rate {self.pass_rate:.0%} (needs {self.min_pass_rate:.0%})"
                if self.min_pass_rate < 1
                else ""
            )
        )


def _match(
    files: list[LockFile], attempts: list[Attempt]
) -> tuple[dict[tuple[str, str], list[Attempt]], list[Attempt]]:
    by_dataset = {f.dataset: f for f in files}
    by_case: dict[str, list[str]] = defaultdict(list)
    for lock_file in files:
        for case in lock_file.cases:
            by_case[case.id].append(lock_file.dataset)
    matched: dict[tuple[str, str], list[Attempt]] = defaultdict(list)
    unmatched: list[Attempt] = []
    for attempt in attempts:
        if attempt.dataset_id:
            held = by_dataset.get(attempt.dataset_id)
            if held is not None and held.case(attempt.case_id) is not None:
                matched[(attempt.dataset_id, attempt.case_id)].append(attempt)
            else:
                unmatched.append(attempt)
            continue
        datasets = by_case.get(attempt.case_id, [])
        if len(datasets) > 1:
            raise ConfigError(
                f"{attempt.source}: case id {attempt.case_id!r} is in several lock files "
                f"({', '.join(sorted(datasets))}); add dataset_id to the results"
            )
        if datasets:
            matched[(datasets[0], attempt.case_id)].append(attempt)
        else:
            unmatched.append(attempt)
    return matched, unmatched


def _dataset_version(lock_file: LockFile, attempts: list[Attempt]) -> int:
    versions = {normalize_version(a.dataset_version) for a in attempts if a.dataset_version}
    if not versions:
        return lock_file.version
    if len(versions) > 1:
        raise ConfigError(
            f"results mix versions {', '.join(sorted(versions))} of dataset {lock_file.dataset!r}; "
            "check one version per gate run"
        )
    text = versions.pop()
    if not text.isdigit():
        raise ConfigError(
            f"dataset_version {text!r} of dataset {lock_file.dataset!r} is not a version number"
        )
    version = int(text)
    if version > lock_file.version:
        raise ConfigError(
            f"results are for version {version} of dataset {lock_file.dataset!r} but {lock_file.path} is at "
            f"version {lock_file.version}; update the lock files"
        )
    return version


def decide_case(case: LockCase, version: int, attempts: list[Attempt]) -> CaseOutcome:
    """Passed, flaky, regressed or missing, from the attempts of one case."""
    # One attempt per (run, repeat), the last one seen: a results file appended twice, or an import
    # replayed, does not count twice (as eval_records' ReplacingMergeTree folds them).
    unique = {(a.run_id, a.repeat): a for a in attempts}
    attempts = [unique[key] for key in sorted(unique)]
    failures: list[str] = []
    failing_traces: list[str] = []
    passes = 0
    for attempt in attempts:
        problems = check_attempt(case, attempt)
        if problems:
            label = f"repeat {attempt.repeat}: " if len(attempts) > 1 else ""
            failures.extend(label + p for p in problems)
            if attempt.trace_id:
                failing_traces.append(attempt.trace_id)
        else:
            passes += 1
    required = case.required_passes(len(attempts) if attempts else case.repeats)
    if not attempts:
        status = "missing"
        failures = ["no result for this case"]
    elif passes < required:
        status = "regressed"
    elif passes < len(attempts):
        status = "flaky"
    else:
        status = "passed"
    return CaseOutcome(
        case=case,
        dataset_version=version,
        status=status,
        passes=passes,
        attempts=len(attempts),
        required=required,
        failures=failures,
        run_ids=sorted({a.run_id for a in attempts}),
        failing_eval_traces=failing_traces,
    )


def run_gate(
    files: list[LockFile],
    attempts: list[Attempt],
    *,
    min_pass_rate: float = 1.0,
    fail_on_flaky: bool = False,
    datasets: list[str] | None = None,
    baseline: Baseline | None = None,
) -> GateReport:
    """Decide every lock case of ``files`` (restricted to ``datasets`` when given) from ``attempts``.

    Raises ConfigError (exit 2) when there is nothing to check, when results match no lock case at all,
    or when versions do not line up.
    """
    if not 0 <= min_pass_rate <= 1:
        raise ConfigError(
            f"--min-pass-rate must be between 0 and 1, got {min_pass_rate}", field="min_pass_rate"
        )
    if datasets:
        unknown = sorted(set(datasets) - {f.dataset for f in files})
        if unknown:
            raise ConfigError(f"no lock file for dataset(s) {', '.join(unknown)}", field="dataset")
        files = [f for f in files if f.dataset in datasets]
    if not any(f.cases for f in files):
        raise ConfigError("no lock cases to check (add one with `tracelock lock add`)")
    matched, unmatched = _match(files, attempts)
    if attempts and not matched:
        shown = ", ".join(
            sorted({f"{a.dataset_id + '/' if a.dataset_id else ''}{a.case_id}" for a in attempts})[:5]
        )
        raise ConfigError(
            f"none of the {len(attempts)} results matches a lock case (results have {shown}; "
            f"lock datasets: {', '.join(f.dataset for f in files)})"
        )
    outcomes = []
    for lock_file in files:
        file_attempts = [
            a for (dataset, _), found in matched.items() if dataset == lock_file.dataset for a in found
        ]
        version = _dataset_version(lock_file, file_attempts)
        in_version = {c.id for c in lock_file.cases_at(version)}
        for (dataset, case_id), found in matched.items():
            if dataset == lock_file.dataset and case_id not in in_version:
                unmatched.extend(found)
        for case in lock_file.cases_at(version):
            outcome = decide_case(case, version, matched.get((lock_file.dataset, case.id), []))
            if baseline is not None:
                outcome.baseline = baseline.entries.get(outcome.key)
            outcomes.append(outcome)
    return GateReport(
        outcomes=outcomes,
        unmatched=unmatched,
        min_pass_rate=min_pass_rate,
        fail_on_flaky=fail_on_flaky,
        baseline_label=baseline.label if baseline else "",
    )
