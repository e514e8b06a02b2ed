"""deploy/ci: the shell gate passes the exit code through; the GitHub workflow uses real options."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
GATE = REPO / "deploy" / "ci" / "lock-gate.sh"
WORKFLOW = REPO / "deploy" / "ci" / "github-actions-lock-gate.yml"

LOCKS = """\
dataset: refund
version: 1
cases:
  - id: enterprise-refund
    added_in: 1
    input: refund please
    expect:
      - type: contains
        value: approved
    provenance:
      source_trace_id: 4bf92f3577b34da6a3ce929d0e0e4736
"""


def tracelock_command() -> str:
    found = shutil.which("tracelock", path=str(Path(sys.executable).parent))
    return found or "tracelock"


def run_gate(root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("TRACELOCK_")}
    return subprocess.run(
        ["sh", str(GATE)],
        cwd=root,
        env={**base, "TRACELOCK": tracelock_command(), "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_shell_gate_passes_the_exit_code_and_writes_reports(tmp_path: Path) -> None:
    (tmp_path / "locks").mkdir()
    (tmp_path / "locks" / "refund.yaml").write_text(LOCKS)
    good = {"run_id": "r", "case_id": "enterprise-refund", "output": "refund approved"}
    (tmp_path / "good.jsonl").write_text(json.dumps(good) + "\n")
    (tmp_path / "bad.jsonl").write_text(json.dumps({**good, "output": "no"}) + "\n")

    ok = run_gate(tmp_path, TRACELOCK_RESULTS_FILE="good.jsonl", TRACELOCK_RELEASE="v1")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "lock-gate: all locks hold" in ok.stdout
    assert not (tmp_path / "tracelock-data").exists()  # no store configured: nothing recorded

    bad = run_gate(tmp_path, TRACELOCK_RESULTS_FILE="bad.jsonl", TRACELOCK_RELEASE="v1")
    assert bad.returncode == 1
    assert "a lock regressed or is missing" in bad.stderr
    assert "regressed" in (tmp_path / "reports" / "locks.md").read_text()
    assert "<failure" in (tmp_path / "reports" / "locks.xml").read_text()

    runner = run_gate(tmp_path, TRACELOCK_RUNNER="cat good.jsonl", TRACELOCK_RELEASE="v1")
    assert runner.returncode == 0, runner.stdout + runner.stderr

    crashed = run_gate(tmp_path, TRACELOCK_RUNNER="exit 9", TRACELOCK_RELEASE="v1")
    assert crashed.returncode == 3
    assert "the eval runner or the store failed" in crashed.stderr

    assert run_gate(tmp_path).returncode == 2
    (tmp_path / "locks" / "refund.yaml").write_text(LOCKS.replace("version: 1\n", ""))
    invalid = run_gate(tmp_path, TRACELOCK_RESULTS_FILE="good.jsonl")
    assert invalid.returncode == 2
    assert "missing dataset version" in invalid.stderr


def test_github_workflow_uses_only_real_options() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = workflow["jobs"]["lock-gate"]["steps"]
    gate = next(s for s in steps if s.get("id") == "gate")["run"]
    command = gate[gate.index("tracelock lock check") :].split("echo")[0]
    used = set(re.findall(r"(--[a-z][a-z-]+)", command + " --record --baseline"))
    help_text = subprocess.run(
        [sys.executable, "-m", "tracelock", "lock", "check", "--help"],
        capture_output=True,
        text=True,
        env=dict(os.environ, COLUMNS="250"),
        check=True,
    ).stdout
    assert used <= set(re.findall(r"(--[a-z][a-z-]+)", help_text)), used
    final = steps[-1]["run"]
    for code in ("0)", "1)", "2)", "3)"):
        assert code in final
    assert any("tracelock lock validate" in s.get("run", "") for s in steps)


def test_run_tasks_runner_drives_the_application_through_the_gate(tmp_path: Path) -> None:
    (tmp_path / "locks").mkdir()
    (tmp_path / "locks" / "refund.yaml").write_text(
        LOCKS.replace("input: refund please", "input: refund please\n    repeats: 3")
    )
    (tmp_path / "app.py").write_text(
        "def answer(question):\n"
        "    if 'refund' not in question:\n"
        "        raise ValueError('no refund')\n"
        "    return 'refund approved'\n"
        "def broken(question):\n"
        "    raise ValueError('model timeout')\n"
    )
    runner = f"{sys.executable} -m tracelock.lock.run_tasks"
    ok = run_gate(tmp_path, TRACELOCK_RUNNER=f"{runner} app:answer", TRACELOCK_RELEASE="v1")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "3/3 (need 3)" in ok.stdout
    bad = run_gate(tmp_path, TRACELOCK_RUNNER=f"{runner} app:broken", TRACELOCK_RELEASE="v1")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "error: ValueError: model timeout" in bad.stdout
    typo = run_gate(tmp_path, TRACELOCK_RUNNER=f"{runner} app:answr", TRACELOCK_RELEASE="v1")
    assert typo.returncode == 3
    assert "answr is not a function of app" in typo.stderr
