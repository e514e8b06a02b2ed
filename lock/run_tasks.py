"""An eval runner for `tracelock lock check --runner`: every lock case through your application.

    tracelock lock check --runner "python -m tracelock.lock.run_tasks myapp.refunds:answer"

It reads the lock files in $TRACELOCK_LOCKS (default ./locks), calls the function with each case's input
(``repeats`` times), and writes one results line per attempt to $TRACELOCK_RESULTS (stdout when unset),
in the eval-results JSONL shape. The function returns the output, or a
``tracelock.lock.results.Attempt`` to report scores, a verdict, cost and tokens too; an exception is a
failed attempt. Exit 0 once results are written, whatever they say: the gate decides.
Copy and adapt it (add your scorers) when your evals need more than assertions on the output.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path

from tracelock import env
from tracelock.lock import load_lock_dir
from tracelock.lock.task import load_task, run_task

__all__ = ["main"]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tracelock.lock.run_tasks module:function", file=sys.stderr)
        return 2
    sys.path.insert(0, os.getcwd())
    task = load_task(argv[0])
    run_id = os.environ.get(env.RUN_ID) or f"locks-{uuid.uuid4().hex[:12]}"
    lines = []
    for lock_file in load_lock_dir(Path(os.environ.get(env.LOCKS, "locks"))):
        for case in lock_file.cases_at():
            for attempt in run_task(task, case, run_id=run_id, dataset_version=lock_file.version):
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
