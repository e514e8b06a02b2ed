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
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tracelock.sampler.evaluate import Evaluator
from tracelock.sampler.rules import CompiledRule, RuleSet
from tracelock.sampler.variables import LABEL_PREFIX, SUMMARY_COLUMNS, Level
from tracelock.sampler.wire import scan_request

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
    position: tuple[int, int, int]  # resource, scope, span index in the request


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
        wanted = {"tracelock.origin", *SUMMARY_COLUMNS, *CONTENT_KEYS}
        triggers: set[str] = set()
        self._ungated = False
        for rule in self.rules:
            wanted |= {v.attribute for v in rule.condition.variables if v.attribute}
            if not rule.condition.gates:
                self._ungated = True
            for gate in rule.condition.gates:
                triggers |= gate.attributes
        self._names = _source_names(wanted)
        trigger_sources = sorted(n for n, c in self._names.canonical_of.items() if c in triggers)
        self._trigger = (
            re.compile(b"|".join(re.escape(n.encode()) for n in trigger_sources)) if trigger_sources else None
        )
        self.evaluator = evaluator or Evaluator()

    @property
    def empty(self) -> bool:
        return not self.rules

    def match(self, body: bytes) -> list[SpanMatch]:
        """Every (span rule, span) match in one serialized request."""
        if not self.rules:
            return []
        if not self._ungated:
            if self._trigger is None:
                return []
            hits = [m.start() for m in self._trigger.finditer(body)]
            if not hits:
                return []
        else:
            hits = []
        matches: list[SpanMatch] = []
        for resource in scan_request(body):
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
            r_attrs = self._resource_attributes(body, resource.resource)
            for span_range in chosen:
                span = Span.FromString(body[span_range.start : span_range.end])
                pos = (span_range.resource_index, span_range.scope_index, span_range.span_index)
                matches += self._evaluate(span, r_attrs, pos)
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

    def _resource_attributes(self, body: bytes, byte_range: tuple[int, int] | None) -> dict[str, Any]:
        if byte_range is None:
            return {}
        resource = Resource.FromString(body[byte_range[0] : byte_range[1]])
        out = self._attributes(resource.attributes)[0]
        service = next((any_value(kv.value) for kv in resource.attributes if kv.key == "service.name"), "")
        out["service.name"] = service
        return out

    def _attributes(self, key_values: Any) -> tuple[dict[str, Any], bool]:
        """Canonical name -> value of names the engine reads; and whether a tracelock.eval.* key is set."""
        canonical_of = self._names.canonical_of
        out: dict[str, Any] = {}
        ranks: dict[str, int] = {}
        has_eval = False
        for kv in key_values:
            key = kv.key
            if key.startswith("tracelock."):
                if key.startswith("tracelock.eval."):
                    has_eval = True
                elif key.startswith(LABEL_PREFIX):
                    out[key] = any_value(kv.value)
                    continue
            canonical = canonical_of.get(key)
            if canonical is None:
                continue
            rank = self._names.rank.get(key, -1)
            if canonical in ranks and ranks[canonical] <= rank:
                continue
            value = any_value(kv.value)
            converter = self._names.converters.get(key)
            if converter is not None:
                value = converter(value)
                if value is None:
                    continue
            out[canonical] = value
            ranks[canonical] = rank
        return out, has_eval

    def _evaluate(self, span: Any, r_attrs: Mapping[str, Any], pos: tuple[int, int, int]) -> list[SpanMatch]:
        attrs, has_eval = self._attributes(span.attributes)
        merged = {k: v for k, v in r_attrs.items() if k != "service.name"}
        merged.update(attrs)
        origin = str(attrs.get("tracelock.origin") or r_attrs.get("tracelock.origin") or "")
        if not origin:
            origin = "eval" if has_eval else "live"
        present = merged.keys()
        values: dict[str, Any] | None = None
        out: list[SpanMatch] = []
        for rule in self.rules:
            if not rule.spec.scope.admits(origin):
                continue
            if any(present.isdisjoint(gate.attributes) for gate in rule.condition.gates):
                continue
            if values is None:
                values = dict(merged)
                values.update(_span_fields(span, r_attrs))
            matched = self.evaluator.check(rule, values)
            if matched is not None:
                out.append(SpanMatch(rule, span.trace_id.hex(), span.span_id.hex(), matched, merged, pos))
        return out


def _span_fields(span: Any, r_attrs: Mapping[str, Any]) -> dict[str, Any]:
    duration = span.end_time_unix_nano - span.start_time_unix_nano
    return {
        "span.name": span.name,
        "span.kind": _KINDS[span.kind] if 0 <= span.kind < len(_KINDS) else "Unspecified",
        "span.service_name": r_attrs.get("service.name", ""),
        "span.status_code": _STATUS[span.status.code] if 0 <= span.status.code < len(_STATUS) else "Unset",
        "span.duration_ms": max(duration, 0) / 1e6,
        "span.is_root": not span.parent_span_id,
    }
