"""Span rules on serialized OTLP requests: find the few spans a rule could match, decode only those.

Per request: one regex search for the attribute names the span rules' gates need (canonical names and
their aliases, which appear verbatim in the protobuf encoding). No hit: the request is done, whatever
its size. A hit: :mod:`tracelock.sampler.wire` gives each span's byte range, and only spans whose bytes
(or whose resource's bytes) contain a hit are decoded, converted and evaluated. Rules without a gate
(conditions that can be true on spans lacking attributes, like ``span.duration_ms > 30000``) decode
every span: that is the price of such a rule, and ``tracelock seeds check`` says so.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tracelock.sampler.evaluate import Evaluator
from tracelock.sampler.rules import CompiledRule, RuleSet
from tracelock.sampler.variables import LABEL_PREFIX, SUMMARY_COLUMNS, Level
from tracelock.sampler.wire import ResourceRange, SpanRange, scan_request

__all__ = ["SpanMatch", "SpanRuleEngine", "any_value"]

_KINDS = ("Unspecified", "Internal", "Server", "Client", "Producer", "Consumer")
_STATUS = ("Unset", "Ok", "Error")
CONTENT_KEYS = ("gen_ai.input.messages", "gen_ai.output.messages")


def any_value(value: Any) -> Any:
    """An OTLP AnyValue as a Python scalar (arrays and maps as their text form)."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        return value.double_value
    if kind is None:
        return ""
    return str(getattr(value, kind))


@dataclass(slots=True)
class SpanMatch:
    """A span rule that matched one span, with what the seed needs to record."""

    rule: CompiledRule
    trace_id: str
    span_id: str
    matched: dict[str, str]
    attributes: dict[str, Any]  # canonical name -> value (span first, then resource)
    span_range: SpanRange  # where the span's encoding sits in the request bytes
    resources: list[ResourceRange]  # the request's layout (shared by every match of one request)


@dataclass
class _Names:
    """Canonical names the engine reads, and every source name (canonical or alias) that feeds one."""

    canonical_of: dict[str, str] = field(default_factory=dict)
    rank: dict[str, int] = field(default_factory=dict)
    converters: dict[str, Any] = field(default_factory=dict)


def _source_names(canonical: set[str]) -> _Names:
    from tracelock.semconv import ALIAS_CONVERTERS, ALIAS_RANK, ALIAS_TO_CANONICAL

    names = _Names()
    for name in canonical:
        names.canonical_of[name] = name
        names.rank[name] = -1
    for alias, target in ALIAS_TO_CANONICAL.items():
        if target in canonical:
            names.canonical_of[alias] = target
            names.rank[alias] = ALIAS_RANK.get(alias, 1 << 20)
            if alias in ALIAS_CONVERTERS:
                names.converters[alias] = ALIAS_CONVERTERS[alias]
    return names


class SpanRuleEngine:
    """Evaluates the span rules of a rule set on serialized ExportTraceServiceRequests."""

    def __init__(self, rules: RuleSet, evaluator: Evaluator | None = None) -> None:
        self.rules = rules.at(Level.span)
        read = {"tracelock.origin"}
        triggers: set[str] = set()
        self._ungated = False
        for rule in self.rules:
            read |= {v.attribute for v in rule.condition.variables if v.attribute}
            if not rule.condition.gates:
                self._ungated = True
            for gate in rule.condition.gates:
                triggers |= gate.attributes
        # what evaluation reads (decoded for every candidate span) and what a seed records (matches only)
        self._eval_names = _source_names(read)
        self._eval_labels = any(name.startswith(LABEL_PREFIX) for name in read)
        self._full_names = _source_names(read | {*SUMMARY_COLUMNS, *CONTENT_KEYS})
        self._triggers = tuple(
            sorted(n.encode() for n, c in self._full_names.canonical_of.items() if c in triggers)
        )
        # per rule: the origins its scope admits and its gates, read once per span without enum lookups
        self._plans = [
            (rule, frozenset(o for o in ("live", "eval") if rule.spec.scope.admits(o)), rule.condition.gates)
            for rule in self.rules
        ]
        self.evaluator = evaluator or Evaluator()

    @property
    def empty(self) -> bool:
        return not self.rules

    def match(self, body: bytes) -> list[SpanMatch]:
        """Every (span rule, span) match in one serialized request."""
        if not self.rules:
            return []
        hits: list[int] = []
        if not self._ungated:
            for name in self._triggers:  # bytes.find is memchr-fast; a few names, a few hits
                pos = body.find(name)
                while pos >= 0:
                    hits.append(pos)
                    pos = body.find(name, pos + 1)
            if not hits:
                return []
            hits.sort()
        matches: list[SpanMatch] = []
        resources = scan_request(body)
        for resource in resources:
            if self._ungated:
                chosen = resource.spans
                resource_hit = True
            else:
                lo = bisect.bisect_left(hits, resource.start)
                hi = bisect.bisect_left(hits, resource.end)
                if lo == hi:
                    continue
                resource_hit = resource.resource is not None and any(
                    resource.resource[0] <= h < resource.resource[1] for h in hits[lo:hi]
                )
                chosen = resource.spans if resource_hit else self._spans_hit(resource.spans, hits[lo:hi])
            if not chosen:
                continue
            r_view = self._resource_attributes(body, resource.resource)
            for span_range in chosen:
                span = Span.FromString(body[span_range.start : span_range.end])
                matches += self._evaluate(span, r_view, span_range, resources)
        return matches

    @staticmethod
    def _spans_hit(spans: list[Any], hits: list[int]) -> list[Any]:
        starts = [s.start for s in spans]
        chosen = []
        last = -1
        for hit in hits:
            i = bisect.bisect_right(starts, hit) - 1
            if i >= 0 and i != last and hit < spans[i].end:
                chosen.append(spans[i])
                last = i
        return chosen

    def _resource_attributes(self, body: bytes, byte_range: tuple[int, int] | None) -> _ResourceView:
        if byte_range is None:
            return _ResourceView({}, {}, "")
        resource = Resource.FromString(body[byte_range[0] : byte_range[1]])
        service = next((any_value(kv.value) for kv in resource.attributes if kv.key == "service.name"), "")
        return _ResourceView(
            self._attributes(resource.attributes, self._eval_names, self._eval_labels)[0],
            self._attributes(resource.attributes, self._full_names, True)[0],
            str(service),
        )

    @staticmethod
    def _attributes(key_values: Any, names: _Names, labels: bool) -> tuple[dict[str, Any], bool]:
        """Canonical name -> value of ``names``; and whether a tracelock.eval.* key is set."""
        canonical_of = names.canonical_of
        out: dict[str, Any] = {}
        ranks: dict[str, int] = {}
        has_eval = False
        for kv in key_values:
            key = kv.key
            if key.startswith("tracelock."):
                if key.startswith("tracelock.eval."):
                    has_eval = True
                elif labels and key.startswith(LABEL_PREFIX):
                    out[key] = any_value(kv.value)
                    continue
            canonical = canonical_of.get(key)
            if canonical is None:
                continue
            rank = names.rank.get(key, -1)
            if canonical in ranks and ranks[canonical] <= rank:
                continue
            value = any_value(kv.value)
            converter = names.converters.get(key)
            if converter is not None:
                value = converter(value)
                if value is None:
                    continue
            out[canonical] = value
            ranks[canonical] = rank
        return out, has_eval

    def _evaluate(
        self, span: Any, resource: _ResourceView, span_range: SpanRange, resources: list[ResourceRange]
    ) -> list[SpanMatch]:
        attrs, has_eval = self._attributes(span.attributes, self._eval_names, self._eval_labels)
        merged = dict(resource.read)
        merged.update(attrs)
        origin = str(merged.get("tracelock.origin") or "")
        if not origin:
            origin = "eval" if has_eval else "live"
        present = merged.keys()
        values: dict[str, Any] | None = None
        recorded: dict[str, Any] | None = None
        out: list[SpanMatch] = []
        for rule, origins, gates in self._plans:
            if origin not in origins:
                continue
            if gates and any(present.isdisjoint(gate.attributes) for gate in gates):
                continue
            if values is None:
                values = merged
                values.update(_span_fields(span, resource.service))
            matched = self.evaluator.check(rule, values)
            if matched is None:
                continue
            if recorded is None:  # what the seed records: shared keys, labels, content (matches only)
                recorded = dict(resource.recorded)
                recorded.update(self._attributes(span.attributes, self._full_names, True)[0])
            trace_id, span_id = span.trace_id.hex(), span.span_id.hex()
            out.append(SpanMatch(rule, trace_id, span_id, matched, recorded, span_range, resources))
        return out


@dataclass(frozen=True, slots=True)
class _ResourceView:
    read: dict[str, Any]  # the resource attributes rules read
    recorded: dict[str, Any]  # ... and those seeds record
    service: str


def _span_fields(span: Any, service: str) -> dict[str, Any]:
    duration = span.end_time_unix_nano - span.start_time_unix_nano
    return {
        "span.name": span.name,
        "span.kind": _KINDS[span.kind] if 0 <= span.kind < len(_KINDS) else "Unspecified",
        "span.service_name": service,
        "span.status_code": _STATUS[span.status.code] if 0 <= span.status.code < len(_STATUS) else "Unset",
        "span.duration_ms": max(duration, 0) / 1e6,
        "span.is_root": not span.parent_span_id,
    }
