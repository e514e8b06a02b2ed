"""Writing pre-validated attributes onto an SDK span without the per-attribute public-API cost.

``Span.set_attributes`` validates and locks per attribute (~1.5 us each on a 2-core VM); the values
tracelock stamps are validated once, when the labels or the processor are built, so re-checking them on
every span is wasted work. :func:`stamp` writes straight into the span's ``BoundedAttributes`` dict when
that is safe (limit not reached, no value-length limit to apply) and falls back to the public API
otherwise, or when the SDK's internals differ from what this module knows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["attribute_dict", "stamp"]


def attribute_dict(span: Any) -> dict[str, Any] | None:
    """The span's live attribute dict (SDK ``BoundedAttributes._dict``), or None when unavailable."""
    bounded = getattr(span, "_attributes", None)
    d = getattr(bounded, "_dict", None)
    return d if type(d) is dict else None


def stamp(span: Any, attrs: Mapping[str, Any]) -> None:
    """Add ``attrs`` to a span being started, never overwriting an attribute the app set at start."""
    bounded = getattr(span, "_attributes", None)
    d = getattr(bounded, "_dict", None)
    if (
        type(d) is dict
        and bounded.max_value_len is None
        and (bounded.maxlen is None or len(d) + len(attrs) <= bounded.maxlen)
    ):
        if d.keys().isdisjoint(attrs):
            d.update(attrs)
        else:
            for key, value in attrs.items():
                d.setdefault(key, value)
        return
    for key, value in attrs.items():  # public path: limits, truncation, the SDK's own checks
        if span.attributes is None or key not in span.attributes:
            span.set_attribute(key, value)
