"""The demo's second half, the loop: an enterprise complaint becomes a seed, the seed a lock, and the
gate runs red against refund-v4 and green against the fixed prompt.

Each step runs in process, on the demo's store, through the functions the commands call (``run_rules``,
``lock_captured``, ``run_task`` + ``run_gate`` as ``lock check --runner`` does with
``tracelock.lock.run_tasks``), and is listed as the command that does the same, so a newcomer can repeat
it by hand (``tracelock demo`` stays one process: no CLI start-up per step). The lock uses ``lock add``'s
default expectation: the answer the complaint was about must not come back.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tracelock.demo import app
from tracelock.errors import InputError
from tracelock.lock.adding import lock_captured
from tracelock.lock.capture import capture_seed
from tracelock.lock.files import SCHEMA_FILE_NAME, load_lock_dir
from tracelock.lock.gate import GateReport, run_gate
from tracelock.lock.prompts import prompt_statuses
from tracelock.lock.records import new_check_run_id, record_results
from tracelock.lock.task import run_task
from tracelock.sampler.batch import run_rules
from tracelock.sampler.export import get_seed
from tracelock.sampler.rules import load_rules
from tracelock.sampler.variables import Level
from tracelock.store import Store

__all__ = ["LoopResult", "LoopStep", "run_loop"]

DATASET = "refund"
_RULE = "complaint-linked-trace"
# the enterprise complaint to lock: a refund-v4 trace whose answer was the apology (its tool failed)
_PICK = """
SELECT s.SeedId AS SeedId, s.TraceId AS TraceId
FROM seeds AS s FINAL
INNER JOIN trace_summaries_final AS t ON t.TraceId = s.TraceId
WHERE s.Rule = {rule:String} AND t.CustomerTier = 'enterprise' AND t.PromptVersion = 'refund-v4'
    AND t.ParseFailures > 0
ORDER BY s.SeedId
LIMIT 1
"""


@dataclass(frozen=True)
class LoopStep:
    command: str
    outcome: str
    exit_code: int = 0


@dataclass
class LoopResult:
    seed_id: str
    trace_id: str
    case_id: str
    lock_file: Path
    steps: list[LoopStep] = field(default_factory=list)
    gates: dict[str, GateReport] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "seed_id": self.seed_id,
            "trace_id": self.trace_id,
            "case_id": self.case_id,
            "lock_file": str(self.lock_file),
            "gates": {release: report.as_dict() for release, report in self.gates.items()},
            "steps": [
                {"command": s.command, "outcome": s.outcome, "exit_code": s.exit_code} for s in self.steps
            ],
        }


def _python() -> str:
    """``python`` when that is this interpreter, else its path (a venv used without activating it)."""
    found = shutil.which("python")
    if found and Path(found).resolve() == Path(sys.executable).resolve():
        return "python"
    return sys.executable


def _gate(store: Store, locks_dir: Path, task: Callable[..., Any], release: str) -> GateReport:
    """``lock check --runner "python -m tracelock.lock.run_tasks ..." --release RELEASE``, in process."""
    files = load_lock_dir(locks_dir)
    attempts = [
        attempt
        for lock_file in files
        for case in lock_file.cases_at()
        for attempt in run_task(task, case, run_id=f"demo-{release}", dataset_version=lock_file.version)
    ]
    report = run_gate(files, attempts)
    report.prompts = prompt_statuses(files, locks_dir, store)
    record_results(store, report, check_run_id=new_check_run_id(), release_tag=release)
    return report


def run_loop(store: Store, locks_dir: Path, tracelock: str, since: datetime) -> LoopResult:
    """Seed, lock and gate on the demo's data; ``tracelock`` is the command prefix the steps print."""
    report = run_rules(store, load_rules(), since, levels=(Level.trace,))
    new = sum(r.new for r in report.rules if r.rule == _RULE)
    picked = store.query(_PICK, {"rule": _RULE}).dicts()
    if not picked:
        raise InputError("the demo data has no refund-v4 enterprise complaint to lock (change --seed)")
    seed_id, trace_id = picked[0]["SeedId"], picked[0]["TraceId"]
    for stale in (locks_dir / f"{DATASET}.yaml", locks_dir / SCHEMA_FILE_NAME):
        stale.unlink(missing_ok=True)  # the demo owns its lock directory, as it owns its database
    locks_dir.mkdir(parents=True, exist_ok=True)
    as_case = get_seed(store, seed_id)  # what `seeds export --seed` prints
    locked = lock_captured(store, capture_seed(store, seed_id), locks_dir, assertions=(), dataset=DATASET)
    locks = shlex.quote(str(locks_dir))
    result = LoopResult(seed_id, trace_id, locked.case.id, locks_dir / f"{DATASET}.yaml")
    result.steps += [
        LoopStep(f"{tracelock} seeds run --since 15d --level trace",
                 f"{new} complaint traces seeded by rule {_RULE}"),
        LoopStep(f"{tracelock} seeds export --seed {seed_id}",
                 f"the enterprise complaint on trace {trace_id} as eval case {as_case['id']}"),
        LoopStep(f"{tracelock} lock add {seed_id} --dataset {DATASET} --locks {locks}",
                 f"locked {DATASET}/{locked.case.id}; expects "
                 + ", ".join(a.describe() for a in locked.case.expect)),
    ]  # fmt: skip
    for release, task in (("refund-v4", app.refund_v4), ("refund-v5", app.refund_v5)):
        gate = _gate(store, locks_dir, task, release)
        result.gates[release] = gate
        runner = shlex.quote(f"{_python()} -m tracelock.lock.run_tasks tracelock.demo.app:{task.__name__}")
        result.steps.append(
            LoopStep(
                f"{tracelock} lock check --locks {locks} --runner {runner} --release {release}",
                gate.summary(),
                gate.exit_code,
            )
        )
    return result
