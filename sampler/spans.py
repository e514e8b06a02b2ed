"""Span rules on serialized OTLP requests: find the few spans a rule could match, decode only those.

Per request: a ``bytes.find`` for each attribute name the span rules' gates need (canonical names and
their aliases, which appear verbatim in the protobuf encoding). No hit: the request is done, whatever
its size, and is never parsed. A hit: the request is parsed as a
:class:`~tracelock.sampler.otlp_view.RequestView` (the official protobuf runtime, with each span kept
as its encoded bytes), the same search runs on each span's bytes, and only spans containing a hit (or
all spans of a resource containing one) are read, as a :class:`~tracelock.sampler.otlp_view.SpanView`
whose attributes are a map: each attribute a rule reads is one lookup, and only those become Python
values. Rules without a gate (conditions that can be true on spans lacking attributes, like
``span.duration_ms > 30000``) read every span: that is the price of such a rule, and ``tracelock
seeds check`` says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from tracelock.sampler.evaluate import Evaluator
from tracelock.sampler.otlp_view import RequestView, SpanView
from tracelock.sampler.rules import CompiledRule, RuleSet
from tracelock.sampler.variables import LABEL_PREFIX, SUMMARY_COLUMNS, Level

__all__ = ["SpanMatch", "SpanRuleEngine", "Wanted", "any_value"]

_EVAL_PREFIX = "tracelock.eval."
_EVAL_BYTES = _EVAL_PREFIX.encode()
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


@dataclass(frozen=True, slots=True)
class Wanted:
    """A source attribute name to read: its canonical name, precedence (lower wins) and converter."""

    canonical: str
    rank: int
    convert: Callable[[Any], Any] | None = None


@dataclass(slots=True)
class SpanMatch:
    """A span rule that matched one span, with what the seed needs to record."""

    rule: CompiledRule
    trace_id: str
    span_id: str
    matched: dict[str, str]
    resource_attributes: dict[str, Any]  # the resource's recorded attributes (canonical names)
    encoded: bytes  # the span's encoding (the Span message), decoded again only for seeds and stamps
    where: tuple[int, int, int]  # (resource, scope, span) index in the request
    request: Any  # the parsed RequestView (shared by every match of one request)


def _source_names(canonical: set[str]) -> dict[str, Wanted]:
    """Every source name (canonical or alias) that feeds one of ``canonical``."""
    from tracelock.semconv import ALIAS_CONVERTERS, ALIAS_RANK, ALIAS_TO_CANONICAL

    names = {name: Wanted(name, -1) for name in canonical}
    for alias, target in ALIAS_TO_CANONICAL.items():
        if target in canonical:
            names[alias] = Wanted(target, ALIAS_RANK.get(alias, 1 << 20), ALIAS_CONVERTERS.get(alias))
    return names


def read_attributes(
    attributes: Any, wanted: Mapping[str, Wanted], labels: bool
) -> tuple[dict[str, Any], bool]:
    """The ``wanted`` attributes of a repeated KeyValue (canonical names), and whether a key is
    ``tracelock.eval.*``. ``labels``: also every ``tracelock.label.*``.

    Precedence as the normaliser's: the canonical name beats its aliases, the first of equal rank wins.
    """
    out: dict[str, Any] = {}
    ranks: dict[str, int] = {}
    has_eval = False
    for kv in attributes:
        key = kv.key
        if key.startswith(_EVAL_PREFIX):
            has_eval = True
        spec = wanted.get(key)
        if spec is None:
            if labels and key.startswith(LABEL_PREFIX):
                out[key] = any_value(kv.value)
            continue
        previous = ranks.get(spec.canonical)
        if previous is not None and previous <= spec.rank:
            continue
        value = any_value(kv.value)
        if spec.convert is not None:
            value = spec.convert(value)
            if value is None:
                continue
        out[spec.canonical] = value
        ranks[spec.canonical] = spec.rank
    return out, has_eval


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
        # (name, its bytes, what it feeds), the canonical name first, then aliases by precedence
        self._eval_sources = sorted(
            ((name, name.encode(), wanted) for name, wanted in self._eval_names.items()),
            key=lambda source: source[2].rank,
        )
        self._eval_labels = any(name.startswith(LABEL_PREFIX) for name in read)
        self._label_bytes = LABEL_PREFIX.encode() if self._eval_labels else b""
        self._reads_span_fields = any(
            v.name.startswith("span.") for r in self.rules for v in r.condition.variables
        )
        self._full_names = _source_names(read | {*SUMMARY_COLUMNS, *CONTENT_KEYS})
        self._resource_names = {**self._full_names, "service.name": Wanted("service.name", -1)}
        self._triggers = tuple(
            sorted(n.encode() for n, w in self._full_names.items() if w.canonical in triggers)
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

    def _hit(self, data: bytes) -> bool:
        for name in self._triggers:  # noqa: SIM110 - memchr-fast search, no generator on the hot path
            if name in data:
                return True
        return False

    def match(self, body: bytes) -> list[SpanMatch]:
        """Every (span rule, span) match in one serialized request."""
        if not self.rules or not (self._ungated or self._hit(body)):
            return []
        request = RequestView.FromString(body)
        matches: list[SpanMatch] = []
        for r_index, resource_spans in enumerate(request.resource_spans):
            every_span = self._ungated or self._hit(resource_spans.resource)
            resource: _ResourceView | None = None
            for s_index, scope_spans in enumerate(resource_spans.scope_spans):
                for index, raw in enumerate(scope_spans.spans):
                    if not every_span and not self._hit(raw):
                        continue
                    if resource is None:
                        resource = self._resource(resource_spans.resource)
                    where = (r_index, s_index, index)
                    matches += self._evaluate(raw, resource, where, request)
        return matches

    def recorded_attributes(self, match: SpanMatch) -> dict[str, Any]:
        """What a seed of ``match`` records: shared keys, labels and content, span over resource.

        Read only for matches that become seeds (after sampling and rate limits).
        """
        recorded = dict(match.resource_attributes)
        attributes = Span.FromString(match.encoded).attributes
        recorded.update(read_attributes(attributes, self._full_names, True)[0])
        return recorded

    def _resource(self, encoded: bytes) -> _ResourceView:
        if not encoded:
            return _ResourceView({}, {}, "")
        attributes = Resource.FromString(encoded).attributes
        recorded = read_attributes(attributes, self._resource_names, True)[0]
        service = str(recorded.pop("service.name", ""))
        read = {k: v for k, v in recorded.items() if k in self._eval_names}
        if self._eval_labels:
            read.update({k: v for k, v in recorded.items() if k.startswith(LABEL_PREFIX)})
        return _ResourceView(read, recorded, service)

    def _lookup(self, raw: bytes, attributes: Any) -> dict[str, Any] | None:
        """The attributes rules read (canonical names), one map lookup each; None when unsure.

        Unsure: a name read occurs more than once in the span's bytes (maybe a duplicated key, which
        the map folds to its last value where the KeyValue list keeps the first), or the rules read
        labels and the span has one (every key would have to be looked at).
        """
        if self._label_bytes and self._label_bytes in raw:
            return None
        out: dict[str, Any] = {}
        for name, encoded_name, wanted in self._eval_sources:
            if wanted.canonical in out:
                continue  # a better-ranked source name already gave it
            count = raw.count(encoded_name)
            if not count:
                continue
            if count > 1:
                return None  # maybe a duplicated key, which the map would fold
            encoded = attributes.get(name)
            if encoded is None:
                continue  # the name is in a value, an event or a longer key
            value = any_value(AnyValue.FromString(encoded))
            if wanted.convert is not None:
                value = wanted.convert(value)
                if value is None:
                    continue
            out[wanted.canonical] = value
        return out

    def _evaluate(
        self, raw: bytes, resource: _ResourceView, where: tuple[int, int, int], request: Any
    ) -> list[SpanMatch]:
        span = SpanView.FromString(raw)
        has_eval: bool | None = None  # computed only when the span's origin depends on it
        attributes = self._lookup(raw, span.attributes)
        if attributes is None:  # the KeyValue list in order: same result, slower
            attributes, has_eval = read_attributes(
                Span.FromString(raw).attributes, self._eval_names, self._eval_labels
            )
        merged = dict(resource.read)
        merged.update(attributes)
        origin = str(merged.get("tracelock.origin") or "")
        if not origin:
            if has_eval is None:
                has_eval = _EVAL_BYTES in raw and any(k.startswith(_EVAL_PREFIX) for k in span.attributes)
            origin = "eval" if has_eval else "live"
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
                if self._reads_span_fields:
                    values.update(_span_fields(span, resource.service))
            matched = self.evaluator.check(rule, values)
            if matched is None:
                continue
            trace_id, span_id = span.trace_id.hex(), span.span_id.hex()
            out.append(SpanMatch(rule, trace_id, span_id, matched, resource.recorded, raw, where, request))
        return out


@dataclass(frozen=True, slots=True)
class _ResourceView:
    read: dict[str, Any]  # the resource attributes rules read
    recorded: dict[str, Any]  # ... and those seeds record
    service: str


def _span_fields(span: Any, service: str) -> dict[str, Any]:
    """The ``span.*`` fields of a :class:`SpanView`."""
    kind = span.kind
    status = Status.FromString(span.status).code if span.status else 0
    return {
        "span.name": span.name.decode("utf-8", "replace"),
        "span.kind": _KINDS[kind] if 0 <= kind < len(_KINDS) else "Unspecified",
        "span.service_name": service,
        "span.status_code": _STATUS[status] if 0 <= status < len(_STATUS) else "Unset",
        "span.duration_ms": max(span.end_time_unix_nano - span.start_time_unix_nano, 0) / 1e6,
        "span.is_root": not span.parent_span_id,
    }
