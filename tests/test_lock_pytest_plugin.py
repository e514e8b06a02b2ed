"""The pytest plugin, run in a subprocess on a sample project: lock cases are test items like any other."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"

LOCKS = f"""\
# yaml-language-server: $schema=lock.schema.json
dataset: refund
version: 2
cases:
  - id: holds
    added_in: 1
    input: "refund please"
    expect:
      - type: contains
        value: approved
  - id: broken
    added_in: 1
    input: "refund my enterprise plan"
    expect:
      - type: regex
        pattern: '^\\{{'
    provenance:
      source_trace_id: {TRACE}
  - id: wobbly
    added_in: 2
    input: "refund twice"
    expect:
      - type: passed
    repeats: 4
    min_passes: 3
"""

RESULTS = """\
{"run_id": "r", "case_id": "holds", "output": "refund approved"}
{"run_id": "r", "case_id": "broken", "output": "sorry"}
{"run_id": "r", "case_id": "wobbly", "repeat": 0, "passed": true}
{"run_id": "r", "case_id": "wobbly", "repeat": 1, "passed": true}
{"run_id": "r", "case_id": "wobbly", "repeat": 2, "passed": false}
{"run_id": "r", "case_id": "wobbly", "repeat": 3, "passed": true}
"""


def make_project(root: Path, ini: str) -> Path:
    (root / "locks").mkdir()
    (root / "locks" / "refund.yaml").write_text(LOCKS)
    (root / "tests").mkdir()
    (root / "tests" / "test_unit.py").write_text("def test_unit():\n    assert 1 + 1 == 2\n")
    (root / "results.jsonl").write_text(RESULTS)
    (root / "pyproject.toml").write_text(
        "[tool.pytest.ini_options]\ntestpaths = ['tests']\npythonpath = ['.']\n" + textwrap.dedent(ini)
    )
    return root


def run_pytest(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_lock_cases_are_collected_and_judged_like_unit_tests(tmp_path: Path) -> None:
    root = make_project(tmp_path, "tracelock_locks = 'locks'\ntracelock_results = 'results.jsonl'\n")
    run = run_pytest(
        root, "--junitxml=report.xml", "-W", "default::tracelock.lock.pytest_plugin.LockFlakyWarning"
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "PASSED tests/test_unit.py::test_unit" in run.stdout
    assert "PASSED locks/refund.yaml::holds" in run.stdout
    assert "PASSED locks/refund.yaml::wobbly" in run.stdout
    assert "FAILED locks/refund.yaml::broken" in run.stdout
    assert (
        f"lock refund/broken regressed: 0/1 passed, 1 needed (dataset version 2, source trace {TRACE})"
        in run.stdout
    )
    assert "output does not match /^\\{/ (got 'sorry')" in run.stdout
    assert "lock locks/refund.yaml::wobbly is flaky: 3/4 passed" in run.stdout
    suite = ET.parse(root / "report.xml").getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("4", "1")
    names = {(c.get("classname"), c.get("name")) for c in suite.iter("testcase")}
    assert ("locks.refund.yaml", "broken") in names
    broken = next(c for c in suite.iter("testcase") if c.get("name") == "broken")
    props = {p.get("name"): p.get("value") for p in broken.iter("property")}
    assert props["source_trace_id"] == TRACE


def test_explicit_paths_and_keyword_selection_work_as_for_tests(tmp_path: Path) -> None:
    root = make_project(tmp_path, "tracelock_locks = 'locks'\ntracelock_results = 'results.jsonl'\n")
    run = run_pytest(root, "locks/refund.yaml::holds")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout
    run = run_pytest(root, "tests")  # explicit paths: the lock directory is not added
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout
    run = run_pytest(root, "-m", "tracelock_lock", "-k", "not broken")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed, 2 deselected" in run.stdout


def test_task_mode_calls_the_application_per_repeat(tmp_path: Path) -> None:
    root = make_project(tmp_path, "tracelock_locks = 'locks'\ntracelock_task = 'app:answer'\n")
    (root / "app.py").write_text(
        textwrap.dedent(
            """
            import itertools
            _calls = itertools.count()

            def answer(question):
                if "enterprise" in question:
                    return '{"refund": "approved"}'
                if "twice" in question:
                    from tracelock.lock.results import Attempt
                    return Attempt(run_id="", case_id="", passed=next(_calls) != 1)
                return "refund approved"
            """
        )
    )
    run = run_pytest(root)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "4 passed" in run.stdout
    assert "is flaky: 3/4 passed" in run.stdout


def test_inert_without_configuration_and_clear_on_a_bad_lock_file(tmp_path: Path) -> None:
    root = make_project(tmp_path, "")
    run = run_pytest(root)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout
    (root / "locks" / "refund.yaml").write_text(LOCKS.replace("type: passed", "type: vibes"))
    run = run_pytest(root, "--tracelock-locks", "locks", "--tracelock-results", "results.jsonl")
    assert run.returncode == 2, run.stdout + run.stderr
    assert "locks/refund.yaml:23: case 'wobbly': cases[2].expect[0].type: unknown assertion type 'vibes'" in (
        run.stdout
    )


def test_missing_results_fail_the_lock_item(tmp_path: Path) -> None:
    root = make_project(tmp_path, "tracelock_locks = 'locks'\ntracelock_results = 'results.jsonl'\n")
    (root / "results.jsonl").write_text('{"run_id": "r", "case_id": "holds", "output": "approved"}\n')
    run = run_pytest(root)
    assert run.returncode == 1
    assert "lock refund/broken missing: 0/0 passed" in run.stdout
    assert "no result for this case" in run.stdout


def test_plugin_is_registered_as_a_pytest11_entry_point() -> None:
    from importlib.metadata import entry_points

    (plugin,) = [e for e in entry_points(group="pytest11") if e.name == "tracelock"]
    assert plugin.value == "tracelock.lock.pytest_plugin"
