"""Turn an attribute mapping from any instrumentation into tracelock's canonical names, and check it.

:func:`normalize_attributes` adds canonical keys for aliases, converts values and expands JSON
attributes; when two sources disagree about one key it keeps one value (canonical name first, then alias
precedence) and reports a :class:`~tracelock.semconv.model.Conflict` instead of choosing silently.
:func:`validate_attributes` reports unknown ``tracelock.*`` keys, wrong types and values outside an
allowed set as :class:`~tracelock.semconv.model.Violation` objects. Neither raises for bad values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tracelock.semconv.aliases import LABEL_SOURCES, LABELS_DROPPED, VALUE_NORMALIZERS, bounded_labels
from tracelock.semconv.index import (
    ALIAS_CONVERTERS,
    ALIAS_RANK,
    ALIAS_TO_CANONICAL,
    EXPANDER_FUNCS,
    LABEL_PREFIXES,
    NORMALIZED_VALUE_NAMES,
    SOURCE_NAMES,
    lookup,
)
from tracelock.semconv.model import Conflict, Violation, ViolationKind
from tracelock.semconv.registry import LABEL_PREFIX

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
    attributes: Mapping[str, Any], *, keep_aliases: bool = True
) -> tuple[dict[str, Any], list[Conflict]]:
    """Return ``(canonical mapping, conflicts)`` for one span's (or resource's) attributes.

    Canonical keys are added next to the attributes they come from: nothing is lost by default
    (``keep_aliases=False`` drops the source attributes, for callers that want only canonical names).
    Free-form metadata (Langfuse ``*.metadata.<k>``, traceloop association properties, OpenInference
    ``metadata`` members) becomes ``tracelock.label.<k>`` labels, bounded by :func:`bounded_labels`. A
    span carrying eval keys but no origin is marked ``tracelock.origin = "eval"``.
    """
    if (
        SOURCE_NAMES.isdisjoint(attributes)
        and NORMALIZED_VALUE_NAMES.isdisjoint(attributes)
        and not any(name.startswith(LABEL_PREFIXES) for name in attributes)
        and not (_RUN_ID in attributes and _ORIGIN not in attributes)
    ):
        return dict(attributes), []
    out: dict[str, Any] = {}
    found: dict[str, list[tuple[int, str, Any]]] = {}
    foreign: dict[str, Any] = {}
    for name, value in attributes.items():
        canonical = ALIAS_TO_CANONICAL.get(name)
        expand = EXPANDER_FUNCS.get(name) if canonical is None else None
        if canonical is not None:
            convert = ALIAS_CONVERTERS.get(name)
            found.setdefault(canonical, []).append(
                (ALIAS_RANK[name], name, convert(value) if convert else value)
            )
        elif expand is not None:
            for target, target_value in expand(value).items():
                if target.startswith(LABEL_PREFIX):
                    foreign.setdefault(target[len(LABEL_PREFIX) :], target_value)
                else:
                    found.setdefault(target, []).append((ALIAS_RANK[name], name, target_value))
        elif name.startswith(LABEL_PREFIXES):
            source = next(s for s in LABEL_SOURCES if name.startswith(s.prefix))
            foreign[name[len(source.prefix) :]] = source.convert(value) if source.convert else value
        else:
            out[name] = value
            continue
        if keep_aliases:
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
    if foreign and LABELS_DROPPED not in attributes:  # (present: normalised before, already bounded)
        out.update(bounded_labels({k: v for k, v in foreign.items() if LABEL_PREFIX + k not in out}))
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
