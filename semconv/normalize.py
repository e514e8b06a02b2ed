"""Turn an attribute mapping from any instrumentation into tracelock's canonical names, and check it.

:func:`normalize_attributes` renames aliases, converts their values and expands JSON attributes; when
two sources disagree about one key it keeps one value (canonical name first, then alias precedence) and
reports a :class:`~tracelock.semconv.model.Conflict` instead of choosing silently.
:func:`validate_attributes` reports unknown ``tracelock.*`` keys, wrong types and values outside an
allowed set as :class:`~tracelock.semconv.model.Violation` objects. Neither raises for bad values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tracelock.semconv.aliases import VALUE_NORMALIZERS
from tracelock.semconv.index import (
    ALIAS_CONVERTERS,
    ALIAS_RANK,
    ALIAS_TO_CANONICAL,
    EXPANDER_FUNCS,
    NORMALIZED_VALUE_NAMES,
    SOURCE_NAMES,
    lookup,
)
from tracelock.semconv.model import Conflict, Violation, ViolationKind

__all__ = ["check_attribute", "normalize_attributes", "same_value", "validate_attributes"]

_RUN_ID, _ORIGIN = "tracelock.eval.run_id", "tracelock.origin"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def same_value(a: Any, b: Any) -> bool:
    """Equal, or equal once stored as text (ClickHouse's attribute Map holds strings: 12 == "12")."""
    return a == b or _text(a) == _text(b)


def normalize_attributes(
    attributes: Mapping[str, Any], *, keep_aliases: bool = False
) -> tuple[dict[str, Any], list[Conflict]]:
    """Return ``(canonical mapping, conflicts)`` for one span's (or resource's) attributes.

    Attributes that are neither aliases nor expanders pass through unchanged. Alias attributes are
    dropped from the result unless ``keep_aliases``. A span carrying eval keys but no origin is marked
    ``tracelock.origin = "eval"`` (Langfuse experiment spans, hand-written eval spans).
    """
    if (
        SOURCE_NAMES.isdisjoint(attributes)
        and NORMALIZED_VALUE_NAMES.isdisjoint(attributes)
        and not (_RUN_ID in attributes and _ORIGIN not in attributes)
    ):
        return dict(attributes), []
    out: dict[str, Any] = {}
    found: dict[str, list[tuple[int, str, Any]]] = {}
    for name, value in attributes.items():
        canonical = ALIAS_TO_CANONICAL.get(name)
        if canonical is not None:
            convert = ALIAS_CONVERTERS.get(name)
            found.setdefault(canonical, []).append(
                (ALIAS_RANK[name], name, convert(value) if convert else value)
            )
            if keep_aliases:
                out[name] = value
            continue
        expand = EXPANDER_FUNCS.get(name)
        if expand is not None:
            for target, target_value in expand(value).items():
                found.setdefault(target, []).append((ALIAS_RANK[name], name, target_value))
            if keep_aliases:
                out[name] = value
            continue
        out[name] = value
    conflicts: list[Conflict] = []
    for canonical, candidates in found.items():
        if canonical in out:
            candidates.append((-1, canonical, out[canonical]))
        candidates.sort(key=lambda c: c[0])
        normalizer = VALUE_NORMALIZERS.get(canonical)
        if normalizer is not None:
            candidates = [(rank, name, normalizer(value)) for rank, name, value in candidates]
        kept = candidates[0][2]
        if any(not same_value(kept, value) for _, _, value in candidates[1:]):
            conflicts.append(Conflict(canonical, tuple((name, value) for _, name, value in candidates), kept))
        out[canonical] = kept
    for name in NORMALIZED_VALUE_NAMES.intersection(out).difference(found):
        out[name] = VALUE_NORMALIZERS[name](out[name])
    if _RUN_ID in out and _ORIGIN not in out:
        out[_ORIGIN] = "eval"
    return out, conflicts


def check_attribute(name: str, value: Any) -> Violation | None:
    """What is wrong with one attribute by the registry, or None (non-tracelock keys are never wrong)."""
    key = lookup(name)
    if key is not None:
        return key.check(value, name)
    if name.startswith("tracelock."):
        return Violation(name, value, ViolationKind.UNKNOWN_KEY, "not a key in the tracelock registry")
    return None


def validate_attributes(attributes: Mapping[str, Any]) -> list[Violation]:
    """Every registry violation in a mapping of canonical attributes."""
    found = []
    for name, value in attributes.items():
        problem = check_attribute(name, value)
        if problem is not None:
            found.append(problem)
    return found
