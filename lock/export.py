"""Lock cases as JSONL for eval runners in any language, in the one case format (:mod:`tracelock.cases`).

One object per case: ``id``, ``input``, ``keys``, ``labels``, ``repeats``, ``expect`` (the assertions, for
runners that check them themselves) and ``provenance`` (the lock's provenance plus ``dataset_id`` and
``dataset_version``). ``tracelock lock export`` prints it; ``lock check --runner`` hands the same file to
the runner as ``$TRACELOCK_CASES``. Results echo ``case_id`` (the case's ``id``), ``dataset_id`` and
``dataset_version``, and may carry the ``provenance`` object back unchanged.
"""

from __future__ import annotations

from typing import Any

from tracelock.cases import cases_jsonl, make_case
from tracelock.errors import ConfigError
from tracelock.lock.model import Assertion, LockCase, LockFile, Provenance

__all__ = ["case_from_record", "case_record", "case_records", "case_records_jsonl"]


def case_record(case: LockCase, dataset_version: int) -> dict[str, Any]:
    """One lock case at ``dataset_version`` as a case object."""
    return make_case(
        case.id,
        case.input,
        keys=case.keys,
        labels=case.labels,
        description=case.description,
        repeats=case.repeats,
        expect=[a.to_dict() for a in case.expect],
        provenance={
            **case.provenance.to_dict(),
            "dataset_id": case.dataset,
            "dataset_version": str(dataset_version),
        },
    )


def case_records(files: list[LockFile], version: int | None = None) -> list[dict[str, Any]]:
    """The cases of every file at ``version`` (each file's current version by default)."""
    records: list[dict[str, Any]] = []
    for lock_file in files:
        at = lock_file.version if version is None else version
        if at > lock_file.version or at < 1:
            raise ConfigError(
                f"dataset {lock_file.dataset!r} has versions 1 to {lock_file.version}, not {at}",
                field="--version",
            )
        records.extend(case_record(case, at) for case in lock_file.cases_at(at))
    return records


def case_records_jsonl(files: list[LockFile], version: int | None = None) -> str:
    return cases_jsonl(case_records(files, version))


def case_from_record(record: dict[str, Any]) -> tuple[LockCase, int]:
    """A case object (as ``lock export`` writes it) -> the lock case and its dataset version."""
    provenance = dict(record.get("provenance") or {})
    dataset = str(provenance.pop("dataset_id", "") or "")
    version_text = str(provenance.pop("dataset_version", "") or "1")
    version = int(version_text) if version_text.isdigit() else 1
    known = {k: v for k, v in provenance.items() if k in Provenance.__dataclass_fields__}
    case = LockCase(
        id=str(record["id"]),
        dataset=dataset,
        added_in=1,
        input=record.get("input"),
        expect=tuple(
            Assertion(a["type"], {k: v for k, v in a.items() if k != "type"})
            for a in record.get("expect") or []
        ),
        description=str(record.get("description") or ""),
        repeats=int(record.get("repeats") or 1),
        keys=dict(record.get("keys") or {}),
        labels=dict(record.get("labels") or {}),
        provenance=Provenance.from_dict(known),
    )
    return case, version
