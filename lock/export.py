"""Lock cases as JSONL for eval runners in any language: what to run, how often, and at which version.

One object per case: ``dataset_id``, ``dataset_version``, ``case_id``, ``input``, ``repeats``,
``expect`` (the assertions, for runners that check them themselves), ``keys``, ``labels`` and
``source_trace_id``. ``tracelock lock export`` prints it; ``lock check --runner`` hands the same
file to the runner as ``$TRACELOCK_CASES``. Results echo ``dataset_id``/``dataset_version``/``case_id``.
"""

from __future__ import annotations

import json
from typing import Any

from tracelock.errors import ConfigError
from tracelock.lock.model import LockFile

__all__ = ["case_records", "case_records_jsonl"]


def case_records(files: list[LockFile], version: int | None = None) -> list[dict[str, Any]]:
    """The cases of every file at ``version`` (each file's current version by default)."""
    records = []
    for lock_file in files:
        at = lock_file.version if version is None else version
        if at > lock_file.version or at < 1:
            raise ConfigError(
                f"dataset {lock_file.dataset!r} has versions 1 to {lock_file.version}, not {at}",
                field="--version",
            )
        for case in lock_file.cases_at(at):
            records.append(
                {
                    "dataset_id": lock_file.dataset,
                    "dataset_version": str(at),
                    "case_id": case.id,
                    "input": case.input,
                    "repeats": case.repeats,
                    "expect": [a.to_dict() for a in case.expect],
                    "keys": case.keys,
                    "labels": case.labels,
                    "source_trace_id": case.provenance.source_trace_id,
                }
            )
    return records


def case_records_jsonl(files: list[LockFile], version: int | None = None) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in case_records(files, version))
