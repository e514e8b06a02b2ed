"""Every OpenTelemetry SDK internal the processors' hot paths touch, named in one place.

The public API costs more than the whole per-span budget: ``Span.set_attributes`` validates and locks
per attribute (~1.5 us each on a 2-core VM), ``baggage.get_all`` builds a MappingProxy, ``len(span.events)``
copies a tuple. tracelock's values are validated once, when the labels or the processor are built, so
the hot paths read and write the SDK's own structures instead:

- ``span._attributes`` (``BoundedAttributes``) and its ``_dict``, ``maxlen`` and ``max_value_len``;
- ``span._events`` (``BoundedList``) and its ``_dq`` deque;
- the contextvars runtime's ``_current_context.get`` and the Baggage API's ``_BAGGAGE_KEY``.

The hot paths inline these reads (a helper call would cost as much as the read) and fall back to the
public API when an attribute is missing. :func:`check_sdk_internals` says what no longer matches; a test
calls it, so an SDK release that moves any of these fails CI instead of silently taking the slow path.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import context as otel_context

__all__ = ["BAGGAGE_KEY", "attribute_dict", "check_sdk_internals", "current_context", "stamp"]

BAGGAGE_KEY: str | None
try:  # the SDK's own key: reading the context dict directly avoids get_all()'s MappingProxy per span
    from opentelemetry.baggage import _BAGGAGE_KEY as BAGGAGE_KEY
except ImportError:  # pragma: no cover - other API versions
    BAGGAGE_KEY = None

current_context: Callable[[], otel_context.Context]
try:  # the contextvars runtime's own getter: one C call instead of two Python frames per span
    current_context = otel_context._RUNTIME_CONTEXT._current_context.get  # type: ignore[attr-defined]
    _FAST_CONTEXT = True
except AttributeError:  # another runtime context (OTEL_PYTHON_CONTEXT): the public API
    current_context = otel_context.get_current
    _FAST_CONTEXT = False


def attribute_dict(span: Any) -> dict[str, Any] | None:
    """The span's live attribute dict (SDK ``BoundedAttributes._dict``), or None when unavailable."""
    bounded = getattr(span, "_attributes", None)
    d = getattr(bounded, "_dict", None)
    return d if type(d) is dict else None


def stamp(span: Any, attrs: Mapping[str, Any]) -> None:
    """Add ``attrs`` to a span being started, never overwriting an attribute the app set at start."""
    bounded: Any = getattr(span, "_attributes", None)
    d = getattr(bounded, "_dict", None)
    if (
        type(d) is dict
        and bounded.max_value_len is None
        and (bounded.maxlen is None or len(d) + len(attrs) <= bounded.maxlen)
    ):
        setdefault = d.setdefault  # one C call a key: as fast as isdisjoint() + update() when disjoint
        for key, value in attrs.items():
            setdefault(key, value)
        return
    for key, value in attrs.items():  # public path: limits, truncation, the SDK's own checks
        if span.attributes is None or key not in span.attributes:
            span.set_attribute(key, value)


def check_sdk_internals() -> list[str]:
    """What the installed SDK no longer has of the internals above (empty when all match)."""
    from opentelemetry.sdk.trace import TracerProvider

    missing: list[str] = []
    if BAGGAGE_KEY is None:
        missing.append("opentelemetry.baggage._BAGGAGE_KEY")
    if not _FAST_CONTEXT:
        missing.append("opentelemetry.context._RUNTIME_CONTEXT._current_context")
    span = TracerProvider().get_tracer("tracelock.check").start_span("check", attributes={"a": 1})
    bounded = getattr(span, "_attributes", None)
    if attribute_dict(span) != {"a": 1}:
        missing.append("Span._attributes._dict")
    for name in ("maxlen", "max_value_len"):
        if not hasattr(bounded, name):
            missing.append(f"Span._attributes.{name}")
    if type(getattr(getattr(span, "_events", None), "_dq", None)) is not deque:
        missing.append("Span._events._dq")
    span.end()
    return missing
