"""The shared-keys registry: every attribute tracelock joins on, its aliases, and normalisation.

Use the canonical names from here (never string literals scattered in code)::

    from tracelock.semconv import normalize_attributes, KEY_BY_NAME, VERSION_KEYS
    attrs, conflicts = normalize_attributes({"llm.model_name": "gpt-4o", "llm.token_count.prompt": 12})

Collector hot path: ``if name in SOURCE_NAMES`` first; then ``ALIAS_TO_CANONICAL[name]`` with
``ALIAS_CONVERTERS.get(name)``, or ``EXPANDER_FUNCS[name](value) -> {canonical: value}``. Or simply
call :func:`normalize_attributes`, whose no-alias path is one ``frozenset.isdisjoint``.
"""

from __future__ import annotations

from tracelock.semconv.aliases import ALIASES, EXPANDERS, VALUE_NORMALIZERS
from tracelock.semconv.index import (
    ALIAS_CONVERTERS,
    ALIAS_RANK,
    ALIAS_TO_CANONICAL,
    CANONICAL_NAMES,
    EVAL_KEYS,
    EXPANDER_FUNCS,
    KEY_BY_NAME,
    KEY_BY_SHORT,
    OUTCOME_SIGNALS,
    SOURCE_NAMES,
    TASK_LABELS,
    VERSION_KEYS,
    canonical_name,
    label_key,
    lookup,
    names_in,
)
from tracelock.semconv.model import (
    Alias,
    Category,
    Conflict,
    Expander,
    Key,
    Side,
    ValueType,
    Violation,
    ViolationKind,
)
from tracelock.semconv.normalize import check_attribute, normalize_attributes, same_value, validate_attributes
from tracelock.semconv.registry import KEYS, LABEL_PREFIX, SEMCONV_PIN

__all__ = [
    "ALIASES",
    "ALIAS_CONVERTERS",
    "ALIAS_RANK",
    "ALIAS_TO_CANONICAL",
    "CANONICAL_NAMES",
    "EVAL_KEYS",
    "EXPANDERS",
    "EXPANDER_FUNCS",
    "KEYS",
    "KEY_BY_NAME",
    "KEY_BY_SHORT",
    "LABEL_PREFIX",
    "OUTCOME_SIGNALS",
    "SEMCONV_PIN",
    "SOURCE_NAMES",
    "TASK_LABELS",
    "VALUE_NORMALIZERS",
    "VERSION_KEYS",
    "Alias",
    "Category",
    "Conflict",
    "Expander",
    "Key",
    "Side",
    "ValueType",
    "Violation",
    "ViolationKind",
    "canonical_name",
    "check_attribute",
    "label_key",
    "lookup",
    "names_in",
    "normalize_attributes",
    "same_value",
    "validate_attributes",
]
