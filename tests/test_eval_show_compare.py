"""``tracelock eval show RUN`` and ``eval compare BASE CANDIDATE``: a run case by case, two runs diffed per
case (improved / regressed / unchanged / added / removed) and per scorer.

Checked failing on a11d664: neither command existed (``No such command 'show'``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tracelock.errors import InputError
from tracelock.evals.compare import compare_runs, show_run
from tracelock.evals.importer import import_results
from tracelock.store import Store


def result(run: str, case: str, passed: bool, score: float | None = None, **extra: object) -> dict:
    row = {"run_id": run, "case_id": case, "dataset_id": "refund", "passed": passed, **extra}
    if score is not None:
        row |= {"score": score, "scores": {"exact": score}}
    return row


BASE = [result("r1", "a", True, 1.0), result("r1", "b", False, 0.2), result("r1", "c", True, 0.9),
        {**result("r1", "d", True), "score": 1.0}]  # fmt: skip
CANDIDATE = [
    result("r2", "a", True, 1.0),
    result("r2", "b", True, 0.8, parse_failure=True),
    result("r2", "c", True, 0.9),
    result("r2", "c", False, repeat=1, error="task: TimeoutError: the model took 30 s"),
    result("r2", "e", True, source_trace_id="4bf92f3577b34da6a3ce929d0e0e4736", score=1.0) | {"scores": {}},
]


def _write(path: Path, results: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in results))
    return path


@pytest.fixture
def runs(store: Store, tmp_path: Path) -> Store:
    import_results(store, _write(tmp_path / "base.jsonl", BASE))
    import_results(store, _write(tmp_path / "candidate.jsonl", CANDIDATE))
    return store


def test_show_lists_cases_failure_types_and_scorers(runs: Store) -> None:
    run = show_run(runs, "r2")
    assert (len(run.cases), run.attempts, run.pass_rate) == (4, 5, 0.8)
    c = run.cases[("refund", "c")]
    assert (c.passes, c.attempts, c.errors) == (1, 2, ["task: TimeoutError: the model took 30 s"])
    assert run.cases[("refund", "e")].source_trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    classes = {name: by_arm["candidate"].successes for name, by_arm in run.failures.classes.items()}
    assert classes == {"exception:TimeoutError": 1, "parse_failure": 1}
    exact = run.failures.scorers["exact"]["candidate"]
    assert (exact.successes, exact.n) == (3, 3)
    with pytest.raises(InputError, match="no eval run 'nope' in the store"):
        show_run(runs, "nope")


def test_compare_calls_each_case_and_each_scorer(runs: Store) -> None:
    diff = compare_runs(runs, "r1", "r2")
    assert {c.case_id: c.status for c in diff.changes} == {
        "a": "unchanged",
        "b": "improved",  # failed -> passed
        "c": "regressed",  # 1/1 -> 1/2 (a timeout)
        "d": "removed",
        "e": "added",
    }
    assert [c.status for c in diff.changes][:2] == ["regressed", "improved"]  # regressions first
    assert diff.scorers["exact"] == {
        "cases": 3,
        "base": 0.7,
        "candidate": 0.9,
        "delta": 0.2,
        "improved": 1,
        "regressed": 0,
    }
    doc = diff.as_dict()
    assert doc["counts"] == {"improved": 1, "regressed": 1, "unchanged": 1, "added": 1, "removed": 1}
    with pytest.raises(InputError, match="two different runs"):
        compare_runs(runs, "r1", "r1")


def _tracelock(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracelock", "--data-dir", str(data), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, COLUMNS="200"),
    )


def test_the_commands_print_tables_and_json(tmp_path: Path) -> None:
    data = tmp_path / "data"
    both = _write(tmp_path / "both.jsonl", BASE + CANDIDATE)
    assert _tracelock(data, "eval", "import", str(both)).returncode == 0
    compared = _tracelock(data, "eval", "compare", "r1", "r2", "--format", "json")
    assert compared.returncode == 0, compared.stderr
    assert json.loads(compared.stdout)["counts"]["regressed"] == 1
    table = _tracelock(data, "eval", "compare", "r1", "r2")
    assert table.returncode == 0, table.stderr
    assert "r1 → r2: pass rate 75.0% → 80.0%; 1 improved, 1 regressed, 1 unchanged, 1 added, 1 removed" in (
        table.stdout
    )
    assert "regressed" in table.stdout and "TimeoutError" in table.stdout
    shown = _tracelock(data, "eval", "show", "r2")
    assert shown.returncode == 0, shown.stderr
    assert "run r2: refund" in shown.stdout and "exception:TimeoutError" in shown.stdout
    missing = _tracelock(data, "eval", "show", "nope")
    assert missing.returncode != 0 and "no eval run 'nope'" in missing.stderr
