"""pytest plugin: every lock case is a test item, so a lock is indistinguishable from a unit test.

Installed with tracelock (entry point ``pytest11``) and inert until a lock directory is configured:

    [tool.pytest.ini_options]           # or pytest.ini / setup.cfg [tool:pytest]
    tracelock_locks = "locks"           # lock files to collect (also: --tracelock-locks DIR)
    tracelock_results = "evals.jsonl"   # results to check them against (also: --tracelock-results FILE)
    # or, instead of results, a function called with each case input (once per repeat):
    tracelock_task = "myapp.refunds:answer"

Each case becomes ``locks/<dataset>.yaml::<case id>``; it fails when the case regressed or has no result
(the message names the source trace), passes otherwise (a flaky pass emits a ``LockFlakyWarning``).
A task may return the output, or a :class:`tracelock.lock.results.Attempt` to report scores, cost and
tokens too. When pytest runs without explicit paths, the lock directory is collected along with the
configured ``testpaths``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tracelock.errors import LockFileError, TracelockError
from tracelock.lock.files import load_lock_file
from tracelock.lock.gate import CaseOutcome, decide_case
from tracelock.lock.model import LockCase
from tracelock.lock.results import Attempt, read_results_file
from tracelock.lock.task import load_task, run_task

__all__ = ["LockFlakyWarning", "LockItem", "LockYamlFile"]

_STATE = pytest.StashKey[dict[str, Any]]()


class LockFlakyWarning(UserWarning):
    """A lock case held, but not every attempt passed."""


class LockCaseFailed(Exception):
    def __init__(self, outcome: CaseOutcome) -> None:
        self.outcome = outcome
        super().__init__(outcome.status)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tracelock", "tracelock lock cases")
    group.addoption(
        "--tracelock-locks", dest="tracelock_locks", default=None, help="Directory of lock files."
    )
    group.addoption("--tracelock-results", dest="tracelock_results", default=None, help="Eval results JSONL.")
    group.addoption("--tracelock-task", dest="tracelock_task", default=None, help="module:function per case.")
    parser.addini("tracelock_locks", "Directory of tracelock lock files to collect as tests.", default="")
    parser.addini("tracelock_results", "Eval results JSONL the lock cases are checked against.", default="")
    parser.addini("tracelock_task", "module:function called with each lock case's input.", default="")


def _setting(config: pytest.Config, name: str) -> str:
    value = config.getoption(name) or config.getini(name)
    return str(value) if value else ""


def _resolve(config: pytest.Config, text: str) -> Path:
    path = Path(text)
    return path if path.is_absolute() else (config.rootpath / path)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "tracelock_lock: a tracelock lock case (collected from a lock file)")
    locks = _setting(config, "tracelock_locks")
    if not locks:
        return
    state: dict[str, Any] = {"locks_dir": _resolve(config, locks).resolve()}
    config.stash[_STATE] = state
    explicit = getattr(config, "args_source", None) == pytest.Config.ArgsSource.ARGS
    if not explicit and state["locks_dir"].is_dir():
        known = [Path(a).resolve() for a in config.args]
        if not any(state["locks_dir"] == k or k in state["locks_dir"].parents for k in known):
            config.args.append(str(state["locks_dir"]))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    state = parent.config.stash.get(_STATE, None)
    if state is None or file_path.suffix not in (".yaml", ".yml"):
        return None
    if file_path.resolve().parent != state["locks_dir"]:
        return None
    return LockYamlFile.from_parent(parent, path=file_path)


class LockYamlFile(pytest.File):
    """A lock file; its cases of the current dataset version are the test items."""

    def collect(self) -> Iterator[LockItem]:
        lock_file = load_lock_file(self.path)
        for case in lock_file.cases_at():
            yield LockItem.from_parent(self, name=case.id, case=case, dataset_version=lock_file.version)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, LockFileError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))


def _attempts_from_task(config: pytest.Config, case: LockCase, dataset_version: int) -> list[Attempt]:
    state = config.stash[_STATE]
    if "task" not in state:
        state["task"] = load_task(_setting(config, "tracelock_task"))
    return run_task(state["task"], case, run_id="pytest", dataset_version=dataset_version)


def _attempts_from_results(config: pytest.Config, case: LockCase) -> list[Attempt]:
    state = config.stash[_STATE]
    if "results" not in state:
        state["results"] = read_results_file(_resolve(config, _setting(config, "tracelock_results")))
    return [
        a
        for a in state["results"]
        if a.case_id == case.id and (not a.dataset_id or a.dataset_id == case.dataset)
    ]


class LockItem(pytest.Item):
    """One lock case run as a test."""

    def __init__(self, *, case: LockCase, dataset_version: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.dataset_version = dataset_version
        self.user_properties.append(("source_trace_id", case.provenance.source_trace_id))
        self.user_properties.append(("dataset_version", str(dataset_version)))
        self.add_marker(pytest.mark.tracelock_lock)

    def runtest(self) -> None:
        if _setting(self.config, "tracelock_task"):
            attempts = _attempts_from_task(self.config, self.case, self.dataset_version)
        elif _setting(self.config, "tracelock_results"):
            attempts = _attempts_from_results(self.config, self.case)
        else:
            raise TracelockError("lock cases need results: set tracelock_results (or tracelock_task)")
        outcome = decide_case(self.case, self.dataset_version, attempts)
        if not outcome.holds:
            raise LockCaseFailed(outcome)
        if outcome.status == "flaky":
            warnings.warn(
                f"lock {self.nodeid} is flaky: {outcome.passes}/{outcome.attempts} passed",
                LockFlakyWarning,
                stacklevel=1,
            )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, LockCaseFailed):
            o = excinfo.value.outcome
            trace = self.case.provenance.source_trace_id or "none recorded"
            lines = [
                f"lock {self.case.dataset}/{self.case.id} {o.status}: {o.passes}/{o.attempts} passed, "
                f"{o.required} needed (dataset version {self.dataset_version}, source trace {trace})"
            ]
            lines += [f"  - {failure}" for failure in o.failures]
            return "\n".join(lines)
        if isinstance(excinfo.value, TracelockError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, (self.case.line or 1) - 1, f"lock {self.case.dataset}/{self.case.id}"
