"""The names a rule's condition may read, their CEL types, and where each comes from.

A condition is written with the canonical attribute names of the semconv registry
(``tracelock.retrieval.empty``, ``gen_ai.prompt.version``) plus four small namespaces of derived fields:
``span.*`` (the span itself), ``trace.*`` (the trace summary), ``feedback.*`` (user feedback on the
trace) and ``slice.*`` (aggregates of an aggregate rule). Which names a rule may use depends on its
level: a span rule sees the span's attributes, a trace rule sees the trace summary (the shared keys and
labels that ``trace_summaries`` keeps), a slice rule sees the slice's aggregates and its grouping keys.

An attribute a span does not carry reads as its type's zero value (``""``, ``0``, ``0.0``, ``false``), so
``gen_ai.usage.input_tokens > 1000`` is simply false on a span without token counts. The same values are
read on the collector path (typed OTLP values) and in batch (ClickHouse's string form); :func:`convert`
turns either into the declared type so both paths see identical activations.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tracelock.semconv.columns import columns_of

__all__ = [
    "SUMMARY_COLUMNS",
    "CelType",
    "Level",
    "VarSpec",
    "Variables",
    "convert",
    "zero_value",
]

LABEL_PREFIX = "tracelock.label."


class Level(str, enum.Enum):
    """What one match of a rule is about: one span, one trace, or a slice of traces."""

    span = "span"
    trace = "trace"
    slice = "slice"


class CelType(str, enum.Enum):
    string = "string"
    int = "int"
    double = "double"
    bool = "bool"


@dataclass(frozen=True, slots=True)
class VarSpec:
    """One readable name: ``name`` as written in a condition, its CEL type, and its origin.

    ``attribute`` is the attribute key for attribute variables (None for derived fields), so the
    collector path can tell cheaply whether a span carries it at all.
    """

    name: str
    type: CelType
    brief: str
    attribute: str | None = None

    @property
    def identifier(self) -> str:
        """The CEL identifier the name is rewritten to (dots are member selection in CEL)."""
        return "_v_" + self.name.replace(".", "__")


# trace_summaries column for each attribute a trace summary keeps (the rest of a trace's attributes are
# per span and not summarised).
SUMMARY_COLUMNS: dict[str, str] = columns_of(
    (
        "tracelock.origin",
        "gen_ai.request.model",
        "gen_ai.prompt.version",
        "tracelock.retriever.version",
        "tracelock.guardrail.version",
        "tracelock.experiment.bucket",
        "tracelock.intent",
        "tracelock.feature",
        "tracelock.language",
        "tracelock.customer.tier",
        "gen_ai.output.type",
    )
)

_S, _I, _D, _B = CelType.string, CelType.int, CelType.double, CelType.bool

SPAN_FIELDS = {
    "span.name": (_S, "span name"),
    "span.kind": (_S, "span kind (Internal, Server, Client, ...)"),
    "span.service_name": (_S, "service.name of the span's resource"),
    "span.status_code": (_S, "Unset, Ok or Error"),
    "span.duration_ms": (_D, "span duration in milliseconds"),
    "span.is_root": (_B, "true for the span without parent"),
}
TRACE_FIELDS = {
    "trace.span_count": (_I, "spans in the trace"),
    "trace.error_count": (_I, "spans with status Error"),
    "trace.input_tokens": (_I, "sum of gen_ai.usage.input_tokens"),
    "trace.output_tokens": (_I, "sum of gen_ai.usage.output_tokens"),
    "trace.context_tokens": (_I, "largest tracelock.usage.context_tokens"),
    "trace.cost_usd": (_D, "sum of tracelock.cost.usd"),
    "trace.parse_failures": (_I, "spans flagged tracelock.parse_failure"),
    "trace.empty_retrievals": (_I, "spans flagged tracelock.retrieval.empty"),
    "trace.duration_ms": (_D, "first span start to last span end, in milliseconds"),
    "trace.root_span_name": (_S, "name of the root span"),
    "trace.service_name": (_S, "service.name"),
}
FEEDBACK_FIELDS = {
    "feedback.complaint": (_B, "a complaint: tracelock.feedback.complaint on a span or a complaint row"),
    "feedback.complaints": (_I, "complaints (flagged spans + complaint rows)"),
    "feedback.thumbs_down": (_B, "a thumbs_down feedback row"),
    "feedback.thumbs_up": (_B, "a thumbs_up feedback row"),
    "feedback.rated": (_B, "a score was given (rating row or tracelock.feedback.score on a span)"),
    "feedback.score": (_D, "lowest score given (0.0 when none: check feedback.rated)"),
    "feedback.count": (_I, "feedback rows about the trace"),
}
SLICE_FIELDS = {
    "slice.traces": (_I, "traces in the slice within the window"),
    "slice.complaint_traces": (_I, "traces of the slice with a complaint"),
    "slice.complaint_rate": (_D, "complaint_traces / traces"),
    "slice.thumbs_down_traces": (_I, "traces of the slice with a thumbs_down"),
    "slice.cost_usd": (_D, "total cost of the slice"),
}


def zero_value(cel_type: CelType) -> Any:
    return {_S: "", _I: 0, _D: 0.0, _B: False}[cel_type]


def _to_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    if isinstance(value, bool):
        return value
    return value == 1 if isinstance(value, (int, float)) else False  # as ClickHouse reads "1" / "2"


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0
    return int(number) if math.isfinite(number) else 0


def _to_double(value: Any) -> float:
    if isinstance(value, float):
        return value
    if isinstance(value, bool):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):  # the ClickHouse exporter's form, so both paths read the same text
        return "true" if value else "false"
    return str(value)


_CONVERTERS: dict[CelType, Callable[[Any], Any]] = {_S: _to_string, _I: _to_int, _D: _to_double, _B: _to_bool}


def convert(value: Any, cel_type: CelType) -> Any:
    """``value`` (typed OTLP value or ClickHouse string form) as ``cel_type``; zero value if unreadable."""
    return _CONVERTERS[cel_type](value)


def converter(cel_type: CelType) -> Callable[[Any], Any]:
    return _CONVERTERS[cel_type]


def _registry_attributes() -> dict[str, CelType]:
    """Canonical attribute name -> CEL type, from the semconv registry (prefix families end with '.')."""
    from tracelock.semconv.registry import KEYS

    mapping = {"string": _S, "int": _I, "double": _D, "boolean": _B}
    return {key.name: mapping[key.type.value] for key in KEYS}


class Variables:
    """The names each level may read, built once from the semconv registry."""

    def __init__(self, attribute_types: Mapping[str, CelType] | None = None) -> None:
        types = dict(attribute_types) if attribute_types is not None else _registry_attributes()
        self._attributes = {n: t for n, t in types.items() if not n.endswith(".")}
        self._prefixes = {n: t for n, t in types.items() if n.endswith(".")}
        self._prefixes.setdefault(LABEL_PREFIX, _S)
        self._derived: dict[Level, dict[str, VarSpec]] = {
            Level.span: _specs(SPAN_FIELDS),
            Level.trace: _specs(TRACE_FIELDS) | _specs(FEEDBACK_FIELDS),
            Level.slice: _specs(SLICE_FIELDS),
        }

    def attribute_names(self) -> list[str]:
        return sorted(self._attributes)

    def derived_names(self, level: Level) -> list[str]:
        return sorted(self._derived[level])

    def attribute_type(self, name: str) -> CelType | None:
        """The registry type of an attribute (prefix families included), or None when unknown."""
        if name in self._attributes:
            return self._attributes[name]
        for prefix, cel_type in self._prefixes.items():
            if name.startswith(prefix) and len(name) > len(prefix) and "." not in name[len(prefix) :]:
                return cel_type
        return None

    def lookup(self, name: str, level: Level, slice_keys: tuple[str, ...] = ()) -> VarSpec | None:
        """The variable ``name`` denotes at ``level``; None when the level cannot read it."""
        derived = self._derived[level].get(name)
        if derived is not None:
            return derived
        cel_type = self.attribute_type(name)
        if cel_type is None:
            return None
        if level is Level.trace and name not in SUMMARY_COLUMNS and not name.startswith(LABEL_PREFIX):
            return None
        if level is Level.slice and name not in slice_keys:
            return None
        return VarSpec(name, cel_type, "attribute", attribute=name)

    def why_not(self, name: str, level: Level) -> str:
        """Explain why ``name`` is not readable at ``level`` (for load errors)."""
        if self.attribute_type(name) is not None:
            if level is Level.trace:
                return (
                    f"attribute {name!r} is per span: a trace rule reads the trace summary "
                    f"({', '.join(sorted(SUMMARY_COLUMNS))}, tracelock.label.*), trace.* and feedback.*"
                )
            return f"attribute {name!r} is not a grouping key of this slice rule (slice.by)"
        for other in Level:
            if other is not level and name in self._derived[other]:
                return f"{name!r} is only available to {other.value} rules"
        return f"unknown attribute {name!r}"

    def known_names(self, level: Level) -> list[str]:
        return sorted(self._derived[level]) + self.attribute_names()


def _specs(fields: Mapping[str, tuple[CelType, str]]) -> dict[str, VarSpec]:
    return {name: VarSpec(name, cel_type, brief) for name, (cel_type, brief) in fields.items()}
