"""One ``lock check`` run, from options to exit code, without the CLI (tests and CI scripts call it too).

Order matters for the exit-code contract: everything that can be a usage/configuration problem (lock
files, the results file, matching, versions) is decided before the store is written, and store or
runner failures are raised as StoreError/RunnerError for the caller to turn into exit 3.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from tracelock.errors import ConfigError
from tracelock.lock.export import case_records_jsonl
from tracelock.lock.files import load_lock_dir
from tracelock.lock.gate import Baseline, GateReport, run_gate
from tracelock.lock.prompts import prompt_statuses
from tracelock.lock.records import (
    baseline_from_report,
    latest_passing_baseline,
    mirror_locks,
    new_check_run_id,
    record_results,
)
from tracelock.lock.render import print_report, write_junit, write_markdown
from tracelock.lock.results import Attempt, attempts_from_run, read_results_file
from tracelock.lock.runner import run_command
from tracelock.store import Store

__all__ = ["CheckOptions", "evaluate", "run_check"]


@dataclass
class CheckOptions:
    locks_dir: Path = Path("locks")
    results: Path | None = None
    run_id: str | None = None
    runner: str | None = None
    runner_timeout: float = 1800.0
    datasets: list[str] = field(default_factory=list)
    min_pass_rate: float = 1.0
    fail_on_flaky: bool = False
    baseline_tag: str | None = None
    baseline_results: Path | None = None
    release: str = ""
    junit: Path | None = None
    markdown: Path | None = None
    record: bool = True
    #: ``table`` (rich, to the console) or ``json`` (the decision as one JSON document on stdout).
    output_format: str = "table"

    @property
    def needs_store(self) -> bool:
        return bool(self.run_id or self.baseline_tag or self.record)


class _LazyStore:
    """Open the store on first use only, so ``--results ... --no-record`` never touches it."""

    def __init__(self, opener: Callable[[], Store]) -> None:
        self._opener = opener
        self._store: Store | None = None

    def get(self) -> Store:
        if self._store is None:
            self._store = self._opener()
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def evaluate(options: CheckOptions, store: _LazyStore | None = None) -> GateReport:
    """Load locks and results and decide every case (no output, no store writes)."""
    files = load_lock_dir(options.locks_dir)
    attempts: list[Attempt]
    if options.results is not None:
        attempts = read_results_file(options.results)
    elif options.run_id is not None:
        if store is None:
            raise ConfigError("--run-id needs a store", field="--run-id")
        attempts = attempts_from_run(store.get(), options.run_id)
        if not attempts:
            raise ConfigError(f"eval run {options.run_id!r} has no records in the store", field="--run-id")
    elif options.runner is not None:
        selected = [f for f in files if not options.datasets or f.dataset in options.datasets]
        attempts = run_command(
            options.runner,
            locks_dir=options.locks_dir,
            timeout=options.runner_timeout,
            cases_jsonl=case_records_jsonl(selected),
        )
    else:
        raise ConfigError("give one of --results, --run-id or --runner")
    baseline: Baseline | None = None
    if options.baseline_results is not None:
        before = run_gate(files, read_results_file(options.baseline_results), datasets=options.datasets)
        baseline = baseline_from_report(before, str(options.baseline_results))
    elif options.baseline_tag:
        if store is None:
            raise ConfigError("--baseline needs a store", field="--baseline")
        baseline = latest_passing_baseline(store.get(), options.baseline_tag)
        if baseline is None:
            baseline = Baseline(label=f"{options.baseline_tag} (no passing run recorded)", entries={})
    report = run_gate(
        files,
        attempts,
        min_pass_rate=options.min_pass_rate,
        fail_on_flaky=options.fail_on_flaky,
        datasets=options.datasets,
        baseline=baseline,
    )
    checked = {o.case.dataset for o in report.outcomes}
    history = store.get() if store is not None and options.needs_store else None
    report.prompts = prompt_statuses([f for f in files if f.dataset in checked], options.locks_dir, history)
    return report


def _record(store: _LazyStore, options: CheckOptions, report: GateReport) -> None:
    """Write lock_results and the locks mirror (through a running collector's write API when it owns
    the chDB directory); a failure is the store's, exit 3, never a silently unrecorded gate run."""
    target = store.get()
    mirror_locks(target, load_lock_dir(options.locks_dir))
    record_results(target, report, check_run_id=new_check_run_id(), release_tag=options.release)


def run_check(options: CheckOptions, *, open_store: Callable[[], Store], console: Console) -> int:
    """Run the gate, print and write its outputs, record it; return 0 or 1 (raise for 2 and 3)."""
    store = _LazyStore(open_store)
    try:
        report = evaluate(options, store)
        if options.output_format == "json":
            sys.stdout.write(json.dumps(report.as_dict(), indent=2) + "\n")
        else:
            print_report(report, console)
        if options.junit is not None:
            write_junit(report, options.junit)
        if options.markdown is not None:
            write_markdown(report, options.markdown)
        if options.record:
            _record(store, options, report)
        return report.exit_code
    finally:
        store.close()
