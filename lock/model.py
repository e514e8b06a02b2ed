"""The lock file, as Python values: a dataset of cases, each with its assertions and provenance.

The YAML file is the source of truth (reviewed like code); these classes are what the gate, the pytest
plugin and the ``locks`` table mirror read. They are built only from data that already passed the JSON
Schema in ``deploy/schemas/lock.schema.json`` (see :mod:`tracelock.lock.files`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ASSERTION_TYPES",
    "CEILING_METRICS",
    "Assertion",
    "LockCase",
    "LockFile",
    "PromptRef",
    "Provenance",
    "normalize_version",
]

ASSERTION_TYPES = (
    "passed",
    "completes",
    "exact",
    "not_exact",
    "contains",
    "not_contains",
    "regex",
    "json_schema",
    "score",
    "judge",
    "ceiling",
)
CEILING_METRICS = (
    "cost_usd",
    "latency_ms",
    "input_tokens",
    "output_tokens",
    "context_tokens",
    "total_tokens",
)


def normalize_version(value: object) -> str:
    """Dataset versions compare as text without a leading ``v``: 3, "3" and "v3" are one version."""
    text = str(value).strip()
    return text[1:] if text[:1] in ("v", "V") and text[1:].isdigit() else text


@dataclass(frozen=True)
class Assertion:
    """One expected behaviour. ``params`` holds the type's fields exactly as written in the file."""

    type: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **self.params}

    def describe(self) -> str:
        """Short human form, e.g. ``contains 'refund'`` or ``score faithfulness >= 0.8``."""
        p = self.params
        if self.type in ("exact", "not_exact", "contains", "not_contains"):
            shown = repr(p["value"])
            return f"{self.type} {shown if len(shown) <= 60 else shown[:59] + '…'}"
        if self.type == "regex":
            return f"regex {p['pattern']!r}"
        if self.type == "json_schema":
            return "json_schema"
        if self.type == "score":
            return f"score {p['scorer']} >= {p['min']}"
        if self.type == "judge":
            return f"judge {p['scorer']} >= {p['min']} ({p['judge_model']} {p['judge_version']})"
        if self.type == "ceiling":
            return f"{p['metric']} <= {p['max']}"
        return self.type


@dataclass(frozen=True)
class Provenance:
    """Where a case came from: the production trace that revealed the bug and how it got here."""

    source_trace_id: str = ""
    source_span_id: str = ""
    store: str = ""
    seed_id: str = ""
    seed_rule: str = ""
    feedback_ids: tuple[str, ...] = ()
    observed_output: Any = None
    created_at: str = ""
    created_by: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Provenance:
        data = dict(data or {})
        data["feedback_ids"] = tuple(data.get("feedback_ids") or ())
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if value in ("", (), None):
                continue
            out[name] = list(value) if isinstance(value, tuple) else value
        return out


@dataclass(frozen=True)
class LockCase:
    """A permanent regression case, pinned to the dataset version it was added in."""

    id: str
    dataset: str
    added_in: int
    input: Any
    expect: tuple[Assertion, ...]
    description: str = ""
    removed_in: int | None = None
    repeats: int = 1
    min_passes: int | None = None
    keys: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    provenance: Provenance = field(default_factory=Provenance)
    line: int | None = None

    @property
    def required_fraction(self) -> float:
        """Fraction of attempts that must pass (``min_passes`` of ``repeats``; all by default)."""
        if self.min_passes is None:
            return 1.0
        return self.min_passes / self.repeats

    def required_passes(self, attempts: int) -> int:
        """Passes needed among ``attempts`` attempts (8 of 10 needs 8; 8 of 10 scaled to 5 needs 4)."""
        return max(1, math.ceil(self.required_fraction * attempts - 1e-9))

    def in_version(self, version: int) -> bool:
        """Whether the case belongs to dataset version ``version`` (old versions stay reproducible)."""
        return self.added_in <= version and (self.removed_in is None or self.removed_in > version)

    def to_dict(self) -> dict[str, Any]:
        """The case as it is written in a lock file (field order is the file's order)."""
        out: dict[str, Any] = {"id": self.id}
        if self.description:
            out["description"] = self.description
        out["added_in"] = self.added_in
        if self.removed_in is not None:
            out["removed_in"] = self.removed_in
        out["input"] = self.input
        out["expect"] = [a.to_dict() for a in self.expect]
        if self.repeats != 1:
            out["repeats"] = self.repeats
        if self.min_passes is not None:
            out["min_passes"] = self.min_passes
        if self.keys:
            out["keys"] = dict(self.keys)
        if self.labels:
            out["labels"] = dict(self.labels)
        provenance = self.provenance.to_dict()
        if provenance:
            out["provenance"] = provenance
        return out


@dataclass(frozen=True)
class PromptRef:
    """The prompt template a lock file guards: a path in the user's repo and its content hash."""

    path: str
    hash: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "hash": self.hash}


@dataclass(frozen=True)
class LockFile:
    """One dataset: ``locks/<dataset>.yaml``."""

    path: Path
    dataset: str
    version: int
    cases: tuple[LockCase, ...]
    description: str = ""
    prompt: PromptRef | None = None

    def cases_at(self, version: int | None = None) -> list[LockCase]:
        """The cases of dataset version ``version`` (the current one by default)."""
        version = self.version if version is None else version
        return [c for c in self.cases if c.in_version(version)]

    def case(self, case_id: str) -> LockCase | None:
        return next((c for c in self.cases if c.id == case_id), None)
