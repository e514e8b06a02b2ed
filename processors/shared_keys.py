"""Stamp the shared keys on every span: version keys from the Resource, labels/eval keys from context.

Process-constant version keys belong on the ``Resource`` (:func:`shared_keys_resource` builds one):
they cost nothing per span and the store reads a key from the span first, then from the resource.
Per-request keys come from :func:`tracelock.labels` / :func:`tracelock.processors.eval_context`
(an in-process context value) or, in a downstream service, from W3C Baggage.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from tracelock.processors._sdk import BAGGAGE_KEY, attribute_dict, current_context, stamp
from tracelock.processors.context import STAMP_KEY, build_keys, stamp_from_baggage
from tracelock.processors.problems import PROBLEMS, ProblemLog
from tracelock.semconv import KEY_BY_NAME, KEY_BY_SHORT, VERSION_KEYS, check_attribute

__all__ = [
    "VERSION_KEYWORDS",
    "SharedKeysProcessor",
    "shared_keys_resource",
    "static_attributes",
    "version_keys",
]

# keyword -> canonical name, one per process-level version key (response_model is per call: not here)
VERSION_KEYWORDS: dict[str, str] = {
    KEY_BY_NAME[name].short: name for name in VERSION_KEYS if name != "gen_ai.response.model"
}
# attribute values known valid: (name, value) pairs the sampled check passed; bounded, so hostile
# high-cardinality values cost one full check each, never unbounded memory
_VALID_CACHE_SIZE = 4096


def version_keys(values: Mapping[str, Any], *, problems: ProblemLog = PROBLEMS) -> dict[str, Any]:
    """Canonical version-key attributes from ``instrument``-style keywords (None values skipped)."""
    unknown = [k for k in values if k not in VERSION_KEYWORDS and k not in KEY_BY_NAME]
    for name in unknown:
        problems.report("unknown_key", name, "not a version key keyword", span_name="instrument")
    known = {k: v for k, v in values.items() if k not in unknown}
    return build_keys(known, problems=problems, where="instrument")


def shared_keys_resource(
    service_name: str | None = None,
    *,
    attributes: Mapping[str, Any] | None = None,
    **versions: str | None,
) -> Resource:
    """A Resource with the service name, the version keys and ``tracelock.origin = "live"``.

    ``Resource.create`` also merges ``OTEL_RESOURCE_ATTRIBUTES``/``OTEL_SERVICE_NAME`` and the SDK's
    defaults, as any OTel application expects.
    """
    attrs: dict[str, Any] = {"tracelock.origin": "live", **version_keys(versions)}
    if service_name:
        attrs["service.name"] = service_name
    attrs.update(attributes or {})
    return Resource.create(attrs)


def static_attributes(values: Mapping[str, Any], *, problems: ProblemLog = PROBLEMS) -> dict[str, Any]:
    """Attributes stamped on every span: registry keys (short or canonical names) are validated, other
    OTel attributes (``deployment.environment.name``...) pass unchanged if they have an OTel type."""
    registry = {k: v for k, v in values.items() if k in KEY_BY_NAME or k in KEY_BY_SHORT}
    out = build_keys(registry, problems=problems, where="processor")
    for name, value in values.items():
        if name in registry or value is None:
            continue
        if isinstance(value, (str, bool, int, float)):
            out[name] = value
        else:
            problems.report(
                "wrong_type", name, f"not an OTel attribute value: {value!r}", span_name="processor"
            )
    return out


class SharedKeysProcessor(SpanProcessor):
    """Stamps ``span_attributes`` (static) and the context's labels/eval keys in ``on_start``.

    ``span_attributes`` is for keys the Resource cannot carry (an application's existing provider has
    its own Resource): version keys and ``tracelock.origin = "live"``. Eval scopes override the origin.
    ``trust_baggage=False`` ignores incoming Baggage (e.g. at an edge facing untrusted clients).
    ``validate_every`` checks the finished span's ``tracelock.*`` attributes against the registry on one
    span in N (reported once per key with the span name, counted; 0 disables).

    Never blocks, never raises into the application: failures go to :data:`PROBLEMS`.
    """

    def __init__(
        self,
        span_attributes: Mapping[str, Any] | None = None,
        *,
        trust_baggage: bool = True,
        validate_every: int = 64,
        problems: ProblemLog = PROBLEMS,
    ) -> None:
        self._static = static_attributes(span_attributes or {}, problems=problems)
        self._trust_baggage = trust_baggage and BAGGAGE_KEY is not None
        self.validate_every = validate_every
        self._seen = 0
        self._problems = problems
        # one-entry caches keyed by object identity (the object is held, so its id is not reused);
        # each is one tuple so a thread never sees one request's key with another's value
        self._bag_cache: tuple[object, dict[str, Any] | None] = (None, None)
        self._merge_cache: tuple[object, dict[str, Any]] = (None, self._static)
        self._valid: set[tuple[str, Any]] = set()

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        try:
            ctx = parent_context if parent_context is not None else current_context()
            keys: Any = ctx.get(STAMP_KEY)  # a dict labels() built, or None
            if keys is None and self._trust_baggage:
                bag: Any = ctx.get(BAGGAGE_KEY)  # type: ignore[arg-type]  # not None: _trust_baggage
                if bag:
                    cached = self._bag_cache  # (baggage dict, its keys): one tuple, swapped atomically
                    if cached[0] is bag:
                        keys = cached[1]
                    else:
                        keys = stamp_from_baggage(bag)
                        self._bag_cache = (bag, keys)
            if keys is None:
                attrs = self._static
            elif not self._static:
                attrs = keys
            else:
                cached = self._merge_cache
                if cached[0] is keys:
                    attrs = cached[1]
                else:
                    attrs = {**self._static, **keys}
                    self._merge_cache = (keys, attrs)
            if attrs:  # inline fast path of _sdk.stamp (a call would cost as much as the stamping)
                try:
                    bounded: Any = span._attributes  # annotations on locals cost nothing at run time
                    d: dict[str, Any] = bounded._dict
                    fast = bounded.max_value_len is None and (
                        bounded.maxlen is None or len(d) + len(attrs) <= bounded.maxlen
                    )
                except AttributeError:
                    fast = False
                if fast:
                    setdefault = d.setdefault  # an attribute the app set at start wins
                    for key, value in attrs.items():
                        setdefault(key, value)
                else:
                    stamp(span, attrs)
        except Exception as exc:  # never into the request path
            self._problems.report("internal_error", "on_start", repr(exc))

    def _on_ending(self, span: Span) -> None:
        if not self.validate_every:
            return
        self._seen += 1
        if self._seen % self.validate_every == 0:
            self.validate(span)

    def validate(self, span: ReadableSpan) -> None:
        """Report the span's registry violations (unknown tracelock.* keys, wrong types, bad values).

        Values that passed once are remembered (up to ``_VALID_CACHE_SIZE`` pairs): the same model
        name, prompt version and labels recur on nearly every span, so a sampled check mostly costs a
        dict lookup per key instead of the registry's checks. Violations are checked every time, so
        each one is still counted.
        """
        try:
            attrs = attribute_dict(span)
            items = attrs.items() if attrs is not None else (span.attributes or {}).items()
            valid = self._valid
            for name, value in items:
                if name.startswith("tracelock.") or name in KEY_BY_NAME:
                    try:
                        if (name, value) in valid:
                            continue
                        hashable = True
                    except TypeError:  # an unhashable value (never from the SDK, which makes tuples)
                        hashable = False
                    problem = check_attribute(name, value)
                    if problem is not None:
                        self._problems.violation(problem, span_name=span.name)
                    elif hashable and len(valid) < _VALID_CACHE_SIZE:
                        valid.add((name, value))
        except Exception as exc:
            self._problems.report("internal_error", "validate", repr(exc))

    def on_end(self, span: ReadableSpan) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
