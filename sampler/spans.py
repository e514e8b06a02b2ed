"""Span rules on serialized OTLP requests: find the few spans a rule could match, decode only those.

Per request: a ``bytes.find`` for each attribute name the span rules' gates need (canonical names and
their aliases, which appear verbatim in the protobuf encoding). No hit: the request is done, whatever
its size. A hit: :mod:`tracelock.sampler.wire` gives each span's byte range, and only spans whose bytes
(or whose resource's bytes) contain a hit are read (:mod:`tracelock.sampler.rawspan`: only the
attributes rules read become Python values), converted and evaluated. Rules without a gate
(conditions that can be true on spans lacking attributes, like ``span.duration_ms > 30000``) decode
every span: that is the price of such a rule, and ``tracelock seeds check`` says so.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

from tracelock.sampler.evaluate import Evaluator
from tracelock.sampler.rawspan import (
    UNKNOWN,
    RawSpan,
    Wanted,
    attribute_at,
    read_ids,
    read_resource,
    read_span,
)
from tracelock.sampler.rules import CompiledRule, RuleSet
from tracelock.sampler.variables import LABEL_PREFIX, SUMMARY_COLUMNS, Level
from tracelock.sampler.wire import ResourceRange, SpanRange, scan_request

__all__ = ["SpanMatch", "SpanRuleEngine", "any_value"]

_EVAL_KEY = b"tracelock.eval."
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
    resource_attributes: dict[str, Any]  # the resource's recorded attributes (canonical names)
    span_range: SpanRange  # where the span's encoding sits in the request bytes
    resources: list[ResourceRange]  # the request's layout (shared by every match of one request)


def _source_names(canonical: set[str]) -> dict[bytes, Wanted]:
    """Every source name (canonical or alias, as bytes) that feeds one of ``canonical``."""
    from tracelock.semconv import ALIAS_CONVERTERS, ALIAS_RANK, ALIAS_TO_CANONICAL

    names = {name.encode(): Wanted(name, -1) for name in canonical}
    for alias, target in ALIAS_TO_CANONICAL.items():
        if target in canonical:
            names[alias.encode()] = Wanted(
                target, ALIAS_RANK.get(alias, 1 << 20), ALIAS_CONVERTERS.get(alias)
            )
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
        reads_span_fields = any(v.name.startswith("span.") for r in self.rules for v in r.condition.variables)
        self._needs_walk = reads_span_fields or self._eval_labels or self._ungated
        self._full_names = _source_names(read | {*SUMMARY_COLUMNS, *CONTENT_KEYS})
        self._resource_names = {**self._full_names, b"service.name": Wanted("service.name", -1)}
        self._triggers = tuple(sorted(n for n, w in self._full_names.items() if w.canonical in triggers))
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
        hits: list[tuple[int, bytes]] = []
        if not self._ungated:
            for name in self._triggers:  # bytes.find is memchr-fast; a few names, a few hits
                pos = body.find(name)
                while pos >= 0:
                    hits.append((pos, name))
                    pos = body.find(name, pos + 1)
            if not hits:
                return []
            hits.sort()
        positions = [h[0] for h in hits]
        matches: list[SpanMatch] = []
        resources = scan_request(body)
        for resource in resources:
            if self._ungated:
                chosen = resource.spans
            else:
                lo = bisect.bisect_left(positions, resource.start)
                hi = bisect.bisect_left(positions, resource.end)
                if lo == hi:
                    continue
                resource_hit = resource.resource is not None and any(
                    resource.resource[0] <= h < resource.resource[1] for h in positions[lo:hi]
                )
                if resource_hit:
                    chosen = resource.spans
                else:
                    chosen = [
                        span
                        for span, span_hits in self._spans_hit(resource.spans, hits[lo:hi])
                        if self._may_match(body, span, span_hits)
                    ]
            if not chosen:
                continue
            r_view = self._resource_attributes(body, resource.resource)
            for span_range in chosen:
                matches += self._evaluate(body, r_view, span_range, resources)
        return matches

    @staticmethod
    def _spans_hit(
        spans: list[SpanRange], hits: list[tuple[int, bytes]]
    ) -> list[tuple[SpanRange, list[tuple[int, bytes]]]]:
        """The spans containing hits, each with its hits."""
        starts = [s.start for s in spans]
        chosen: list[tuple[SpanRange, list[tuple[int, bytes]]]] = []
        for hit in hits:
            i = bisect.bisect_right(starts, hit[0]) - 1
            if i < 0 or hit[0] >= spans[i].end:
                continue
            if chosen and chosen[-1][0] is spans[i]:
                chosen[-1][1].append(hit)
            else:
                chosen.append((spans[i], [hit]))
        return chosen

    def _may_match(self, body: bytes, span: SpanRange, hits: list[tuple[int, bytes]]) -> bool:
        """False when every span rule's gates are false on the gate values read at the hits.

        Reading one attribute where the search found it costs far less than decoding the span; any
        doubt (a name seen twice, in an event, inside a value, an alias next to its canonical name)
        answers True and the span is decoded.
        """
        values: dict[str, Any] = {}
        for pos, name in hits:
            value = attribute_at(body, pos, name, span.end)
            wanted = self._full_names[name]
            if value is UNKNOWN or wanted.canonical in values:
                return True
            if wanted.convert is not None:
                value = wanted.convert(value)
                if value is None:
                    return True
            values[wanted.canonical] = value
        for _rule, _origins, gates in self._plans:
            if not gates or all(gate.may_hold(values) for gate in gates):
                return True
        return False

    def recorded_attributes(self, body: bytes, match: SpanMatch) -> dict[str, Any]:
        """What a seed of ``match`` records: shared keys, labels and content, span over resource.

        Read only for matches that become seeds (after sampling and rate limits).
        """
        recorded = dict(match.resource_attributes)
        where = match.span_range
        recorded.update(read_span(body, where.start, where.end, self._full_names, True).attributes)
        return recorded

    def _resource_attributes(self, body: bytes, byte_range: tuple[int, int] | None) -> _ResourceView:
        if byte_range is None:
            return _ResourceView({}, {}, "")
        recorded = read_resource(body, byte_range[0], byte_range[1], self._resource_names, True)
        service = str(recorded.pop("service.name", ""))
        read = {k: v for k, v in recorded.items() if k.encode() in self._eval_names}
        if self._eval_labels:
            read.update({k: v for k, v in recorded.items() if k.startswith(LABEL_PREFIX)})
        return _ResourceView(read, recorded, service)

    def _found_attributes(self, body: bytes, where: SpanRange) -> dict[str, Any] | None:
        """The attributes rules read, found with ``bytes.find`` inside the span; None when unsure.

        Enough when no rule reads span fields or labels and the span has no ``tracelock.eval.*`` key
        (whose presence makes it eval traffic): each wanted name must occur at most once in the span's
        bytes, as a span attribute key. Otherwise the caller walks the span (:func:`read_span`).
        """
        if self._needs_walk or body.find(_EVAL_KEY, where.start, where.end) >= 0:
            return None
        found: dict[str, Any] = {}
        for name, wanted in self._eval_names.items():
            pos = body.find(name, where.start, where.end)
            if pos < 0:
                continue
            if wanted.canonical in found or body.find(name, pos + 1, where.end) >= 0:
                return None
            value = attribute_at(body, pos, name, where.end)
            if value is UNKNOWN:
                return None
            if wanted.convert is not None:
                value = wanted.convert(value)
                if value is None:
                    return None
            found[wanted.canonical] = value
        return found

    def _evaluate(
        self, body: bytes, resource: _ResourceView, where: SpanRange, resources: list[ResourceRange]
    ) -> list[SpanMatch]:
        span: RawSpan | None = None
        attributes = self._found_attributes(body, where)
        if attributes is None:
            span = read_span(body, where.start, where.end, self._eval_names, self._eval_labels)
            attributes = span.attributes
        merged = dict(resource.read)
        merged.update(attributes)
        origin = str(merged.get("tracelock.origin") or "")
        if not origin:
            origin = "eval" if span is not None and span.has_eval_key else "live"
        present = set(merged)
        values: dict[str, Any] | None = None
        out: list[SpanMatch] = []
        for rule, origins, gates in self._plans:
            if origin not in origins:
                continue
            if gates and any(present.isdisjoint(gate.attributes) for gate in gates):
                continue
            if values is None:
                values = merged
                if span is not None:
                    values.update(_span_fields(span, resource.service))
            matched = self.evaluator.check(rule, values)
            if matched is None:
                continue
            ids = (
                (span.trace_id, span.span_id) if span is not None else read_ids(body, where.start, where.end)
            )
            trace_id, span_id = ids[0].hex(), ids[1].hex()
            out.append(SpanMatch(rule, trace_id, span_id, matched, resource.recorded, where, resources))
        return out


@dataclass(frozen=True, slots=True)
class _ResourceView:
    read: dict[str, Any]  # the resource attributes rules read
    recorded: dict[str, Any]  # ... and those seeds record
    service: str


def _span_fields(span: RawSpan, service: str) -> dict[str, Any]:
    return {
        "span.name": span.name,
        "span.kind": _KINDS[span.kind] if 0 <= span.kind < len(_KINDS) else "Unspecified",
        "span.service_name": service,
        "span.status_code": _STATUS[span.status_code] if 0 <= span.status_code < len(_STATUS) else "Unset",
        "span.duration_ms": max(span.end_ns - span.start_ns, 0) / 1e6,
        "span.is_root": not span.has_parent,
    }
