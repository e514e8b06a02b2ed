"""The few normalisations ClickHouse cannot do from a copy table, done in Python for the requests
that need them: JSON expanders (Langfuse ``usage_details``/``cost_details``, OpenInference ``metadata``
and ``llm.invocation_parameters``), value converters (``gen_ai.system`` -> ``gen_ai.provider.name``
values, Langfuse's JSON-quoted metadata) and foreign metadata prefixes that become labels. The source
attributes stay; canonical keys are added beside them.

Which requests need it is decided on the raw bytes (a substring search for the source names, C speed),
so ordinary traffic never builds Python objects per attribute. Matching spans go through
:func:`tracelock.semconv.normalize_attributes` exactly as the SDK-side processors do.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from tracelock.sampler.otlp_build import to_any_value

__all__ = ["expand_request", "python_sources"]

_TEXT_CONVERTERS = {"to_text", "to_int", "to_float"}  # same text as ClickHouse's toString: no Python needed


@cache
def python_sources() -> frozenset[str]:
    """Attribute names whose presence sends a request through the Python normaliser."""
    from tracelock.semconv.index import ALIAS_CONVERTERS, EXPANDER_FUNCS

    names = set(EXPANDER_FUNCS)
    names |= {name for name, fn in ALIAS_CONVERTERS.items() if fn.__name__ not in _TEXT_CONVERTERS}
    return frozenset(names)


@cache
def _wire_keys() -> tuple[bytes, ...]:
    """Each source name as it appears on the wire as a KeyValue key (a KeyValue with only the key set,
    serialized by the protobuf runtime: the bytes that precede any value), and each label prefix
    (``langfuse.trace.metadata.`` ...) as bare bytes (its keys' lengths vary, so no wire form).

    Searching for that (not the bare name) keeps prompt text that mentions "metadata" on the fast path.
    """
    from tracelock.semconv.index import LABEL_PREFIXES

    exact = tuple(KeyValue(key=name).SerializeToString() for name in sorted(python_sources()))
    return exact + tuple(prefix.encode() for prefix in LABEL_PREFIXES)


@cache
def _needles() -> tuple[bytes, ...]:
    """The fewest bare names whose absence rules out every wire key: a name or label prefix that
    contains another (``langfuse.trace.metadata.intent`` contains ``metadata``) needs no search of its
    own. Each search is a pass over the whole request (~70 µs for 375 KB), so 20 keys cost 3 µs a span
    where these 8 cost ~1; a needle found (``metadata`` in prompt text) only costs the exact search."""
    from tracelock.semconv.index import LABEL_PREFIXES

    names = {*python_sources(), *LABEL_PREFIXES}
    return tuple(sorted(n.encode() for n in names if not any(o != n and o in n for o in names)))


def might_need_expanding(body: bytes) -> bool:
    """Whether ``body`` may carry a source name the Python normaliser handles (never a false "no")."""
    return any(n in body for n in _needles()) and any(key in body for key in _wire_keys())


def _plain(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    return (
        getattr(value, kind) if kind in ("string_value", "bool_value", "int_value", "double_value") else None
    )


def _normalize_kvs(attributes: Any, sources: frozenset[str]) -> bool:
    from tracelock.semconv.index import LABEL_PREFIXES

    if not any(kv.key in sources or kv.key.startswith(LABEL_PREFIXES) for kv in attributes):
        return False
    from tracelock.semconv import normalize_attributes

    kept = [kv for kv in attributes if _plain(kv.value) is None]  # arrays/maps/bytes pass through as they are
    plain = {kv.key: _plain(kv.value) for kv in attributes if _plain(kv.value) is not None}
    normalized, _conflicts = normalize_attributes(plain)
    del attributes[:]
    for kv in kept:
        attributes.add(key=kv.key).value.CopyFrom(kv.value)
    for key, value in normalized.items():
        attributes.add(key=key).value.CopyFrom(to_any_value(value))
    return True


def expand_request(body: bytes) -> bytes:
    """``body`` with expanders and value converters applied, or ``body`` itself when none applies."""
    if not might_need_expanding(body):
        return body
    sources = python_sources()
    request = ExportTraceServiceRequest.FromString(body)
    changed = False
    for rs in request.resource_spans:
        changed |= _normalize_kvs(rs.resource.attributes, sources)
        for ss in rs.scope_spans:
            for span in ss.spans:
                changed |= _normalize_kvs(span.attributes, sources)
    return request.SerializeToString() if changed else body
