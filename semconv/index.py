"""The registry compiled into plain dicts, built once at import, for per-attribute lookups.

The collector normalises every span it receives: it should test membership in :data:`SOURCE_NAMES`
(a frozenset) and only then look at :data:`ALIAS_TO_CANONICAL` / :data:`ALIAS_CONVERTERS` /
:data:`EXPANDER_FUNCS`. No function call or object allocation happens for attributes that are not
aliases.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tracelock.semconv.aliases import ALIASES, EXPANDERS, LABEL_SOURCES, VALUE_NORMALIZERS
from tracelock.semconv.model import Category, Key
from tracelock.semconv.registry import KEYS, LABEL_PREFIX

__all__ = [
    "ALIAS_CONVERTERS",
    "ALIAS_RANK",
    "ALIAS_TO_CANONICAL",
    "CANONICAL_NAMES",
    "EVAL_KEYS",
    "EXPANDER_FUNCS",
    "KEY_BY_NAME",
    "KEY_BY_SHORT",
    "LABEL_PREFIXES",
    "OUTCOME_SIGNALS",
    "READ_FALLBACKS",
    "SOURCE_NAMES",
    "TASK_LABELS",
    "VERSION_KEYS",
    "canonical_name",
    "label_key",
    "lookup",
    "names_in",
]

KEY_BY_NAME: dict[str, Key] = {k.name: k for k in KEYS if not k.prefix}
KEY_BY_SHORT: dict[str, Key] = {k.short: k for k in KEYS if not k.prefix}
CANONICAL_NAMES: frozenset[str] = frozenset(KEY_BY_NAME)
_LABEL_KEY = next(k for k in KEYS if k.prefix and k.name == LABEL_PREFIX)

#: aliases copied to their canonical key at ingest (content fallbacks, ``copy=False``, are not)
ALIAS_TO_CANONICAL: dict[str, str] = {a.name: a.canonical for a in ALIASES if a.copy}
#: canonical key -> every attribute a reader may fall back to, in precedence order (content included)
READ_FALLBACKS: dict[str, tuple[str, ...]] = {}
for _alias in ALIASES:
    READ_FALLBACKS[_alias.canonical] = (*READ_FALLBACKS.get(_alias.canonical, ()), _alias.name)
LABEL_PREFIXES: tuple[str, ...] = tuple(s.prefix for s in LABEL_SOURCES)
ALIAS_CONVERTERS: dict[str, Callable[[Any], Any]] = {a.name: a.convert for a in ALIASES if a.convert}
EXPANDER_FUNCS: dict[str, Callable[[Any], Any]] = {e.name: e.expand for e in EXPANDERS}
# precedence when several sources give one key: lower wins; the canonical name itself is -1
ALIAS_RANK: dict[str, int] = {a.name: i for i, a in enumerate(ALIASES)}
ALIAS_RANK.update({e.name: len(ALIASES) + i for i, e in enumerate(EXPANDERS)})
SOURCE_NAMES: frozenset[str] = frozenset(ALIAS_TO_CANONICAL) | frozenset(EXPANDER_FUNCS)
NORMALIZED_VALUE_NAMES: frozenset[str] = frozenset(VALUE_NORMALIZERS)


def names_in(category: Category) -> tuple[str, ...]:
    """Canonical names of one category, in registry order (prefix families excluded)."""
    return tuple(k.name for k in KEYS if k.category is category and not k.prefix)


VERSION_KEYS = names_in(Category.VERSION_KEY)
TASK_LABELS = names_in(Category.TASK_LABEL)
OUTCOME_SIGNALS = names_in(Category.OUTCOME_SIGNAL)
EVAL_KEYS = names_in(Category.EVAL_KEY)

for _a in ALIASES:  # the table must only point at registry keys; fail at import, not at runtime
    if _a.canonical not in KEY_BY_NAME:
        raise AssertionError(f"alias {_a.name} points at unknown key {_a.canonical}")
for _e in EXPANDERS:
    for _t in _e.targets:
        if _t not in KEY_BY_NAME:
            raise AssertionError(f"expander {_e.name} targets unknown key {_t}")


def lookup(name: str) -> Key | None:
    """The registry entry for a canonical attribute name (``tracelock.label.<x>`` included), or None."""
    key = KEY_BY_NAME.get(name)
    if key is None and name.startswith(LABEL_PREFIX) and len(name) > len(LABEL_PREFIX):
        return _LABEL_KEY
    return key


def canonical_name(name: str) -> str | None:
    """Canonical name for a short name (``intent``), a canonical name, or an alias; None when unknown.

    Unknown short names are not turned into user labels here: ``tracelock.labels`` decides that.
    """
    if name in KEY_BY_NAME or (name.startswith(LABEL_PREFIX) and len(name) > len(LABEL_PREFIX)):
        return name
    key = KEY_BY_SHORT.get(name)
    if key is not None:
        return key.name
    return ALIAS_TO_CANONICAL.get(name)


def label_key(name: str) -> str:
    """The attribute a label or key given by short or canonical name is stamped under: ``intent`` ->
    ``tracelock.intent``, ``prompt_version`` -> ``gen_ai.prompt.version``, a canonical name stays, and any
    other word is a user label ``tracelock.label.<word>`` (as in ``tracelock.labels(team=...)`` and the
    ``labels`` object of eval JSONL)."""
    if name in KEY_BY_NAME or name.startswith(LABEL_PREFIX):
        return name
    key = KEY_BY_SHORT.get(name)
    return key.name if key is not None else LABEL_PREFIX + name
