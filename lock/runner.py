"""``lock check --runner "COMMAND"``: run the user's eval command and read the results it produces.

The contract with the command (documented in ``tracelock lock check --help`` and docs/lock.md):
- it runs through the shell, in the current directory, with ``TRACELOCK_RESULTS`` set to a fresh file
  path, ``TRACELOCK_LOCKS`` set to the lock directory and ``TRACELOCK_CASES`` to a JSONL file of the
  cases to run (:mod:`tracelock.lock.export`: inputs, repeats, dataset versions);
- it writes results in the eval-results JSONL shape to ``$TRACELOCK_RESULTS``, or, if it leaves that file
  empty, to its standard output;
- it exits 0 when it produced results, whatever the scores (the gate decides pass/fail).
A non-zero exit, a timeout, a crash or no results at all is a runner failure (exit 3 of the gate).
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from pathlib import Path

from tracelock import env
from tracelock.errors import ResultsError, RunnerError
from tracelock.lock.results import Attempt, parse_results

__all__ = ["CASES_ENV", "LOCKS_ENV", "RESULTS_ENV", "run_command"]

RESULTS_ENV = env.RESULTS
LOCKS_ENV = env.LOCKS
CASES_ENV = env.CASES
_TAIL = 600


def _tail(text: str) -> str:
    text = text.strip()
    return ("…" + text[-_TAIL:]) if len(text) > _TAIL else text


def run_command(command: str, *, locks_dir: Path, timeout: float, cases_jsonl: str = "") -> list[Attempt]:
    """Run ``command`` and return the attempts it reported; raise RunnerError on any failure."""
    with tempfile.TemporaryDirectory(prefix="tracelock-runner-") as tmp:
        results_path = Path(tmp) / "results.jsonl"
        results_path.touch()
        cases_path = Path(tmp) / "cases.jsonl"
        cases_path.write_text(cases_jsonl, encoding="utf-8")
        env = dict(
            os.environ,
            **{RESULTS_ENV: str(results_path), LOCKS_ENV: str(locks_dir), CASES_ENV: str(cases_path)},
        )
        try:
            process = subprocess.Popen(
                command,
                shell=True,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        except OSError as exc:
            raise RunnerError(f"runner {command!r} could not start: {exc}") from exc
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise RunnerError(f"runner {command!r} timed out after {timeout:g} s (killed)") from None
        if process.returncode != 0:
            how = (
                f"was killed by signal {-process.returncode}"
                if process.returncode < 0
                else f"exited with code {process.returncode}"
            )
            raise RunnerError(
                f"runner {command!r} {how}" + (f"; stderr: {_tail(stderr)}" if stderr.strip() else "")
            )
        text = results_path.read_text(encoding="utf-8")
        source = f"runner output ${RESULTS_ENV}" if text.strip() else "runner stdout"
        if not text.strip():
            text = stdout
        try:
            attempts = parse_results(text.splitlines(), source)
        except ResultsError as exc:
            raise RunnerError(f"runner {command!r} produced malformed results: {exc}") from exc
        if not attempts:
            raise RunnerError(
                f"runner {command!r} produced no results (write JSONL to ${RESULTS_ENV} or to stdout)"
            )
        return attempts
