"""Eval datasets: an id and a version (both recorded on every eval span, so a result always says which
cases it ran), and cases with inputs, the expected output and the case's task labels.

Labels use the same names as production (``intent``, ``customer.tier``, ``tracelock.language``, or any
other word as a user label), which is what lets an eval case and a live trace land in the same slice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracelock.errors import InputError

__all__ = ["Case", "Dataset"]


@dataclass(frozen=True)
class Case:
    """One eval case. ``labels`` are task labels (short or canonical names)."""

    id: str
    inputs: Any
    expected: Any = None
    labels: Mapping[str, str] = field(default_factory=dict)
    source_trace_id: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise InputError(f"case id must be a non-empty string, got {self.id!r}")


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
    def from_jsonl(cls, path: str | Path, *, id: str | None = None, version: str = "1") -> Dataset:
        """Cases from a JSONL file, one ``{"id", "inputs", "expected", "labels"}`` object per line."""
        path = Path(path)
        cases = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                cases.append(
                    Case(
                        id=str(obj["id"]),
                        inputs=obj.get("inputs"),
                        expected=obj.get("expected"),
                        labels={str(k): str(v) for k, v in (obj.get("labels") or {}).items()},
                        source_trace_id=obj.get("source_trace_id"),
                    )
                )
            except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
                raise InputError(f"{path} line {number}: not a case object ({exc})") from None
        return cls(id or path.stem, version, cases)
