"""``lock add`` as a function: a captured trace (or seed) becomes a case in ``locks/<dataset>.yaml``.

The CLI command and the case board's "lock" action both call :func:`lock_captured`, so a case locked
from either has the same id, provenance and dataset choice, and goes through the same validated write.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from tracelock.errors import ConfigError, StoreError
from tracelock.lock.capture import CapturedTrace
from tracelock.lock.expect_spec import default_expectations
from tracelock.lock.files import add_case, discover_lock_files
from tracelock.lock.model import Assertion, LockCase, LockFile, PromptRef, Provenance
from tracelock.lock.records import mirror_locks
from tracelock.store import Store

__all__ = ["LockedCase", "default_dataset", "lock_captured"]


@dataclass(frozen=True)
class LockedCase:
    """What a lock action wrote: the case, its file (at its new version), why the mirror lags (if it does)."""

    case: LockCase
    lock_file: LockFile
    mirror_error: str = ""


def default_dataset(locks_dir: Path, captured: CapturedTrace) -> str:
    """The only lock file's dataset, else the trace's feature or intent label; ConfigError otherwise."""
    if locks_dir.is_dir():
        existing = discover_lock_files(locks_dir)
        if len(existing) == 1:
            return existing[0].stem
    for name in ("tracelock.feature", "tracelock.intent"):
        if captured.labels.get(name):
            return captured.labels[name]
    raise ConfigError("cannot tell which dataset to add to: pass --dataset NAME", field="--dataset")


def lock_captured(
    store: Store,
    captured: CapturedTrace,
    locks_dir: Path,
    *,
    assertions: tuple[Assertion, ...],
    dataset: str | None = None,
    case_id: str | None = None,
    repeats: int = 1,
    min_passes: int | None = None,
    description: str = "",
    created_by: str | None = None,
    prompt: PromptRef | None = None,
) -> LockedCase:
    """Append the case to its lock file (bumping the dataset version) and mirror it into ``locks``.

    ``prompt`` records the template the dataset guards. No ``assertions``: the default expectation
    (:func:`~tracelock.lock.expect_spec.default_expectations`).

    The file is the source of truth: a store that refuses the mirror (read-only through a collector)
    leaves ``mirror_error`` set instead of failing the lock.
    """
    dataset = dataset or default_dataset(locks_dir, captured)
    case = LockCase(
        id=case_id or f"{captured.seed_rule or dataset}-{captured.trace_id[:12]}",
        dataset=dataset,
        added_in=1,
        input=captured.input,
        expect=assertions or default_expectations(captured.output),
        description=description,
        repeats=repeats,
        min_passes=min_passes,
        keys=captured.keys,
        labels=captured.labels,
        provenance=Provenance(
            source_trace_id=captured.trace_id,
            source_span_id=captured.span_id,
            store=captured.store,
            seed_id=captured.seed_id,
            seed_rule=captured.seed_rule,
            feedback_ids=tuple(captured.feedback_ids),
            observed_output=captured.output,
            created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            created_by=created_by or getpass.getuser(),
        ),
    )
    lock_file = add_case(locks_dir, dataset, case, prompt=prompt)
    try:
        mirror_locks(store, [lock_file])
    except StoreError as exc:
        return LockedCase(lock_file.case(case.id) or case, lock_file, str(exc))
    return LockedCase(lock_file.case(case.id) or case, lock_file)
