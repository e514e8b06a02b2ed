"""The loop in three commands: complaint (feedback add) -> seed (seeds run) -> lock (lock add) -> gate.

Runs bench/lock_loop.py's loop (every step a real `tracelock` process on a real chDB directory, the trace
written from OpenTelemetry SDK spans as the collector writes it) and checks what each step must show.
Wall time is printed, never asserted (bench/RESULTS.md records it).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_SPEC = importlib.util.spec_from_file_location(
    "lock_loop_bench", Path(__file__).resolve().parent.parent / "bench" / "lock_loop.py"
)
assert _SPEC is not None and _SPEC.loader is not None
lock_loop = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = lock_loop  # dataclasses look their module up
_SPEC.loader.exec_module(lock_loop)


def test_complaint_to_seed_to_lock_to_gate(tmp_path: Path) -> None:
    run = lock_loop.run_loop(tmp_path)
    codes = {name: code for name, _, code in run.steps}
    assert codes.get("feedback add") == 0, run.outputs["feedback add"].stderr
    assert codes.get("seeds run") == 0, run.outputs["seeds run"].stderr
    assert run.seed_id, (
        "seeds run did not seed the complained-about trace: " + run.outputs["seeds list"].stdout
    )
    assert codes["lock add"] == 0, run.outputs["lock add"].stderr

    lock_text = (tmp_path / "locks" / "refund.yaml").read_text()
    assert f"source_trace_id: {run.trace_id}" in lock_text
    assert f"seed_id: {run.seed_id}" in lock_text
    assert "seed_rule: complaint-linked-trace" in lock_text
    assert "content: Refund the unused months of our enterprise contract" in lock_text

    failing = run.outputs["lock check (failing)"]
    assert codes["lock check (failing)"] == 1, failing.stdout + failing.stderr
    assert f"REGRESSED refund/{run.case_id} (source trace {run.trace_id})" in failing.stdout
    passing = run.outputs["lock check (passing)"]
    assert codes["lock check (passing)"] == 0, passing.stdout + passing.stderr
    assert "OK: 1 lock cases, 1 passed" in passing.stdout
    print("\n".join(f"{name:24s} {seconds:6.2f} s" for name, seconds, _ in run.steps))
    print(f"loop total {run.total:.2f} s")
