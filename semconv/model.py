"""The shapes of the registry: a key, an alias of a key, and the problems normalisation reports.

Everything here is plain immutable data so the registry can be rendered (docs), compiled into lookup
dicts (collector hot path) and checked (tests) without executing anything per attribute.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Alias",
    "Category",
    "Conflict",
    "Expander",
    "Fold",
    "Key",
    "LabelSource",
    "Side",
    "ValueType",
    "Violation",
    "ViolationKind",
]


class ValueType(str, enum.Enum):
    """The OTel attribute type a key's value must have."""

    STRING = "string"
    INT = "int"
    FLOAT = "double"
    BOOL = "boolean"


class Side(str, enum.Enum):
    """Where a key belongs: process-constant keys on the Resource, per-request keys on spans."""

    RESOURCE = "resource"
    SPAN = "span"
    BOTH = "both"


class Category(str, enum.Enum):
    """What a key is for; the join logic (report, lock) groups keys by category."""

    VERSION_KEY = "version_key"
    TASK_LABEL = "task_label"
    OUTCOME_SIGNAL = "outcome_signal"
    EVAL_KEY = "eval_key"
    IDENTITY = "identity"  # session and user: who asked (high cardinality, not a report dimension)
    META = "meta"  # origin, operation, content: needed to read spans, not a join dimension


class Fold(str, enum.Enum):
    """How ``trace_summaries`` folds a key's column over the spans of one trace.

    LLM_* folds skip the spans known to be another operation (``OperationKind`` embedding, retrieval,
    tool): a RAG trace's embedding call must not become the trace's model, nor add its tokens to the
    chat tokens.
    """

    MIN = "min"  # origin: 'eval' < 'live', so any eval span makes the trace eval
    MAX = "max"  # any span that has the key (a span without it gives '' and loses)
    LLM_MAX = "llm_max"
    LLM_SUM = "llm_sum"
    SUM = "sum"
    LARGEST = "largest"  # max of a number
    COUNT = "count"  # spans where a flag is set


@dataclass(frozen=True, slots=True)
class Key:
    """One canonical attribute.

    ``short`` is the keyword users type (``tracelock.labels(intent=...)``, ``instrument(model=...)``,
    the ``labels``/``keys`` objects of eval JSONL, ``report --by``/``--where``), the one name reports
    print; ``synonyms`` are older spellings still accepted where a key is named (``--by customer.tier``).
    ``allowed`` is a closed set of values (enforced); ``pattern`` a regular expression the string form
    must match; ``examples`` are illustrative only.
    ``prefix`` marks a family of keys (``tracelock.label.<name>``): ``name`` is then the prefix.

    Storage facts: ``column`` is the ``otel_traces`` MATERIALIZED column holding the key (the same name
    in ``trace_summaries`` and ``eval_records``, unless ``summary_column`` says otherwise) and ``fold`` how
    a trace summary combines it; :mod:`tracelock.semconv.columns` renders the DDL from them.
    """

    name: str
    type: ValueType
    category: Category
    side: Side
    short: str
    brief: str
    allowed: frozenset[str] | None = None
    pattern: str | None = None
    examples: tuple[str, ...] = ()
    unit: str | None = None
    prefix: bool = False
    source: str = "tracelock"  # "otel" when the name is an OTel semantic convention
    column: str | None = None
    fold: Fold | None = None
    summary_column: str | None = None
    synonyms: tuple[str, ...] = ()  # other spellings accepted for ``short`` (older report options)

    def check(self, value: Any, name: str | None = None) -> Violation | None:
        """Return what is wrong with ``value`` for this key, or None when it is acceptable.

        ``name`` is the attribute's full name when this key is a prefix family.
        """
        if not _TYPE_CHECKS[self.type](value):
            message = f"expected {self.type.value}, got {type(value).__name__} {value!r}"
            return Violation(name or self.name, value, ViolationKind.WRONG_TYPE, message)
        if self.allowed is not None and value not in self.allowed:
            message = f"{value!r} is not one of {', '.join(sorted(self.allowed))}"
            return Violation(name or self.name, value, ViolationKind.NOT_ALLOWED, message)
        if self.pattern is not None and not re.fullmatch(self.pattern, str(value)):
            message = f"{value!r} does not match {self.pattern}"
            return Violation(name or self.name, value, ViolationKind.NOT_ALLOWED, message)
        return None


_TYPE_CHECKS: dict[ValueType, Callable[[Any], bool]] = {
    ValueType.STRING: lambda v: isinstance(v, str),
    ValueType.INT: lambda v: isinstance(v, int) and not isinstance(v, bool),
    ValueType.FLOAT: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    ValueType.BOOL: lambda v: isinstance(v, bool),
}


@dataclass(frozen=True, slots=True)
class Alias:
    """A name other instrumentation emits for a canonical key.

    ``convert`` turns the alias's value into the canonical value form (None: unchanged).
    ``source`` names the convention (openinference, openllmetry, langfuse, otel-deprecated, ...).
    Aliases of one key are listed in precedence order: when several disagree, the canonical name wins,
    then the first alias listed (and a :class:`Conflict` is reported either way).
    """

    name: str
    canonical: str
    source: str
    convert: Callable[[Any], Any] | None = None
    note: str = ""
    copy: bool = True  # False: readers fall back to it, ingest never copies it (large content)


@dataclass(frozen=True, slots=True)
class LabelSource:
    """A prefix under which a convention puts free-form metadata: ``<prefix><name>`` becomes the label
    ``tracelock.label.<name>`` (``convert`` decodes the value, e.g. Langfuse's JSON-quoted strings)."""

    prefix: str
    source: str
    convert: Callable[[Any], Any] | None = None


@dataclass(frozen=True, slots=True)
class Expander:
    """An attribute whose one value carries several canonical keys (a JSON object of usage or metadata).

    ``expand`` returns {canonical name: value} and never raises for bad input (it returns {}).
    ``targets`` lists the canonical keys it can produce (for the docs and the alias index).
    """

    name: str
    source: str
    expand: Callable[[Any], Mapping[str, Any]]
    targets: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True, slots=True)
class Conflict:
    """Several source attributes gave different values for one canonical key.

    ``candidates`` are (source attribute name, value after conversion) in precedence order;
    ``kept`` is the value placed in the normalised mapping (the first candidate's).
    """

    key: str
    candidates: tuple[tuple[str, Any], ...]
    kept: Any = field(default=None)

    def __str__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in self.candidates)
        return f"conflicting values for {self.key}: {shown} (kept {self.kept!r})"


class ViolationKind(str, enum.Enum):
    UNKNOWN_KEY = "unknown_key"
    WRONG_TYPE = "wrong_type"
    NOT_ALLOWED = "not_allowed"


@dataclass(frozen=True, slots=True)
class Violation:
    """An attribute that breaks the registry: unknown ``tracelock.*`` key, wrong type, value not allowed."""

    key: str
    value: Any
    kind: ViolationKind
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"
