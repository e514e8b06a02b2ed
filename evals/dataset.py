"""Eval datasets: an id and a version (both recorded on every eval span, so a result always says which
cases it ran), and cases in the one case format (:mod:`tracelock.cases`): input, expected output, the
version keys and task labels the case is run with, an artifacts path or URL, and its provenance.

Labels use the same names as production (``intent``, ``customer.tier``, ``tracelock.language``, or any
other word as a user label), which is what lets an eval case and a live trace land in the same slice.
A seeds export and a lock export load as they are: ``Dataset.from_jsonl("seeds.jsonl")``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracelock.cases import cases_jsonl, make_case, read_cases_file
from tracelock.errors import InputError

__all__ = ["Case", "Dataset"]


@dataclass(frozen=True)
class Case:
    """One eval case. ``labels`` are task labels, ``keys`` version keys (short or canonical names)."""

    id: str
    inputs: Any
    expected: Any = None
    labels: Mapping[str, str] = field(default_factory=dict)
    source_trace_id: str | None = None
    keys: Mapping[str, str] = field(default_factory=dict)
    artifacts_url: str | None = None
    #: Where the case came from (source trace/span, seed, feedback ids, dataset), carried to the results.
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise InputError(f"case id must be a non-empty string, got {self.id!r}")
        if self.source_trace_id is None and self.provenance.get("source_trace_id"):
            object.__setattr__(self, "source_trace_id", str(self.provenance["source_trace_id"]))

    @property
    def input(self) -> Any:
        """The case format's name for ``inputs``."""
        return self.inputs

    @property
    def source_span_id(self) -> str | None:
        return self.provenance.get("source_span_id") or None

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Case:
        """A case object (already checked by :func:`tracelock.cases.check_case`) -> Case."""
        return cls(
            id=str(record["id"]),
            inputs=record.get("input"),
            expected=record.get("expected"),
            labels=dict(record.get("labels") or {}),
            keys=dict(record.get("keys") or {}),
            artifacts_url=record.get("artifacts_url"),
            provenance=dict(record.get("provenance") or {}),
        )

    def to_record(self, dataset: Dataset | None = None) -> dict[str, Any]:
        """The case as a case object (the dataset's id and version go into its provenance)."""
        provenance = dict(self.provenance)
        if self.source_trace_id:
            provenance.setdefault("source_trace_id", self.source_trace_id)
        if dataset is not None:
            provenance |= {"dataset_id": dataset.id, "dataset_version": dataset.version}
        return make_case(
            self.id,
            self.inputs,
            expected=self.expected,
            keys=self.keys,
            labels=self.labels,
            artifacts_url=self.artifacts_url,
            provenance=provenance,
        )


def _common(cases: list[dict[str, Any]], name: str) -> str | None:
    """The provenance ``name`` shared by every case, if they all have the same one."""
    values = {str((c.get("provenance") or {}).get(name) or "") for c in cases}
    return values.pop() or None if len(values) == 1 else None


@dataclass(frozen=True)
class Dataset:
    """A versioned list of cases; case ids are unique within it."""

    id: str
    version: str
    cases: tuple[Case, ...]

    def __init__(self, id: str, version: str, cases: Iterable[Case]) -> None:
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "version", str(version))
        object.__setattr__(self, "cases", tuple(cases))
        seen: set[str] = set()
        for case in self.cases:
            if case.id in seen:
                raise InputError(f"dataset {id}: case id {case.id!r} appears twice")
            seen.add(case.id)

    def __len__(self) -> int:
        return len(self.cases)

    @classmethod
    def from_jsonl(cls, path: str | Path, *, id: str | None = None, version: str | None = None) -> Dataset:
        """Cases from a JSONL file in the case format (a seeds or lock export loads as it is).

        The id and version default to the ones every case's provenance names (a lock export), else to
        the file's stem and ``"1"``.
        """
        path = Path(path)
        records = read_cases_file(path)
        return cls(
            id or _common(records, "dataset_id") or path.stem,
            version or _common(records, "dataset_version") or "1",
            [Case.from_record(r) for r in records],
        )

    def to_jsonl(self) -> str:
        return cases_jsonl(case.to_record(self) for case in self.cases)
