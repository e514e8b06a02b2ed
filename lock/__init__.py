"""Lock cases: production traces turned into permanent regression cases, and the CI gate that checks them.

The names an eval runner or a CI script needs: read lock files (:func:`load_lock_dir`), describe
attempts (:class:`Attempt`, the eval-results JSONL shape), decide (:func:`run_gate`) and render
(:func:`write_junit`, :func:`report_markdown`). The CLI is ``tracelock lock``; see docs/lock.md.

The names below load on first use (PEP 562), so a command that needs only the lock files' reader
(``tracelock lock show``) does not load the gate, its renderers and the results parser.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tracelock.lazy import lazy_attributes

if TYPE_CHECKING:
    from tracelock.lock.files import load_lock_dir, load_lock_file, validate_lock_dir
    from tracelock.lock.gate import CaseOutcome, GateReport, run_gate
    from tracelock.lock.model import Assertion, LockCase, LockFile
    from tracelock.lock.render import report_markdown, write_junit
    from tracelock.lock.results import Attempt, parse_results, read_results_file

__all__ = [
    "Assertion",
    "Attempt",
    "CaseOutcome",
    "GateReport",
    "LockCase",
    "LockFile",
    "load_lock_dir",
    "load_lock_file",
    "parse_results",
    "read_results_file",
    "report_markdown",
    "run_gate",
    "validate_lock_dir",
    "write_junit",
]

_MODULE_OF = {
    "load_lock_dir": "files",
    "load_lock_file": "files",
    "validate_lock_dir": "files",
    "CaseOutcome": "gate",
    "GateReport": "gate",
    "run_gate": "gate",
    "Assertion": "model",
    "LockCase": "model",
    "LockFile": "model",
    "report_markdown": "render",
    "write_junit": "render",
    "Attempt": "results",
    "parse_results": "results",
    "read_results_file": "results",
}


__getattr__ = lazy_attributes(__name__, _MODULE_OF)
