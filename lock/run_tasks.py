"""An eval runner for `tracelock lock check --runner`: every lock case through your application.

    tracelock lock check --runner "python -m tracelock.lock.run_tasks myapp.refunds:answer"

It reads the cases from $TRACELOCK_CASES (the case-format JSONL that ``lock check --runner`` hands it, or
any ``tracelock lock export``), else the lock files in $TRACELOCK_LOCKS (default ./locks); calls the
function with each case's input (``repeats`` times; ``function(input, case)`` when it takes a second
parameter: see :mod:`tracelock.lock.task`), and writes one results line per attempt, with the case's
provenance, to $TRACELOCK_RESULTS (stdout when unset), in the eval-results JSONL shape. The function
returns the output, or a ``tracelock.lock.results.Attempt`` to report scores, a verdict, cost and
tokens too; an exception is a failed attempt. Exit 0 once results are written, whatever they say: the
gate decides. Copy and adapt it (add your scorers) when your evals need more than assertions on the output.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path

from tracelock import env
from tracelock.cases import read_cases_file
from tracelock.lock import load_lock_dir
from tracelock.lock.export import case_from_record
from tracelock.lock.model import LockCase
from tracelock.lock.task import load_task, run_task

__all__ = ["main"]


def _cases() -> list[tuple[LockCase, int]]:
    cases_file = os.environ.get(env.CASES)
    if cases_file and Path(cases_file).is_file() and Path(cases_file).stat().st_size:
        return [case_from_record(record) for record in read_cases_file(Path(cases_file))]
    locks = load_lock_dir(Path(os.environ.get(env.LOCKS, "locks")))
    return [(case, f.version) for f in locks for case in f.cases_at()]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tracelock.lock.run_tasks module:function", file=sys.stderr)
        return 2
    sys.path.insert(0, os.getcwd())
    task = load_task(argv[0])
    run_id = os.environ.get(env.RUN_ID) or f"locks-{uuid.uuid4().hex[:12]}"
    lines = []
    for case, version in _cases():
        for attempt in run_task(task, case, run_id=run_id, dataset_version=version):
            lines.append(json.dumps(attempt.to_record(), ensure_ascii=False, default=str))
    target = os.environ.get(env.RESULTS)
    text = "".join(line + "\n" for line in lines)
    if target:
        Path(target).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
