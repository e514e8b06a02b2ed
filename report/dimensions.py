"""The shared keys and task labels a report can filter and slice on, and the column each one is in.

Names are the canonical attribute names (``gen_ai.prompt.version``, ``tracelock.customer.tier``) or the
registry's short names (``prompt_version``, ``customer_tier``: the keywords of ``instrument(...)`` and
``labels(...)``; older spellings such as ``prompt`` or ``customer.tier`` are registry synonyms). User
labels are ``tracelock.label.<name>`` (or ``label.<name>``) and live in each table's ``Labels`` map under
``<name>``. Column names come from the registry only; user label names reach SQL as bound parameters,
never as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tracelock.errors import ConfigError
from tracelock.semconv import KEY_BY_NAME, Category
from tracelock.semconv.columns import column_of

__all__ = ["DIMENSIONS", "Dimension", "parse_assignments", "resolve_dimension"]


@dataclass(frozen=True)
class Dimension:
    """One key or label: its canonical name and where it is stored.

    ``column`` is the column in otel_traces/trace_summaries/eval_records; ``lock_column`` the column in
    ``locks`` (None when locks do not record it: locks are then counted without that dimension);
    ``label`` is the user label name (stored in ``Labels``) when this is a user label.
    """

    name: str
    kind: str  # "key" | "label"
    column: str | None = None
    lock_column: str | None = None
    label: str | None = None

    @property
    def short(self) -> str:
        """The registry's short name (the one vocabulary of the SDK, eval import and reports)."""
        return self.label or KEY_BY_NAME[self.name].short


#: The keys reports slice and filter on (canonical names); their columns and short names come from the
#: registry. Locks record the first seven in columns of the same names.
_DIMENSION_KEYS = (
    "gen_ai.request.model",
    "gen_ai.prompt.version",
    "tracelock.retriever.version",
    "tracelock.intent",
    "tracelock.feature",
    "tracelock.language",
    "tracelock.customer.tier",
    "tracelock.guardrail.version",
    "tracelock.experiment.bucket",
    "gen_ai.output.type",
)
_LOCKED = frozenset(_DIMENSION_KEYS[:7])


def _dimension(name: str) -> Dimension:
    key = KEY_BY_NAME[name]
    column = column_of(name)
    kind = "label" if key.category is Category.TASK_LABEL else "key"
    return Dimension(name, kind, column, column if name in _LOCKED else None)


DIMENSIONS: dict[str, Dimension] = {name: _dimension(name) for name in _DIMENSION_KEYS}
_BY_SPELLING = {
    spelling: name
    for name in _DIMENSION_KEYS
    for spelling in (KEY_BY_NAME[name].short, *KEY_BY_NAME[name].synonyms)
}
_LABEL_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")


def resolve_dimension(name: str, *, option: str = "--by", bare_labels: bool = False) -> Dimension:
    """The Dimension for a canonical name, short alias or user label; ConfigError naming it otherwise.

    With ``bare_labels`` any other plain word is a user label (as in ``tracelock.labels(region="eu")``
    and a case's labels); without it, a typo in ``--by`` is an error rather than an empty slice.
    """
    text = name.strip()
    for prefix in ("tracelock.label.", "label."):
        if text.startswith(prefix):
            label = text[len(prefix) :]
            if not _LABEL_NAME.match(label):
                raise ConfigError(f"invalid label name {label!r}", field=option)
            return Dimension(f"tracelock.label.{label}", "label", label=label)
    canonical = _BY_SPELLING.get(text, text)
    if canonical in DIMENSIONS:
        return DIMENSIONS[canonical]
    if bare_labels and _LABEL_NAME.match(text) and "." not in text:
        return Dimension(f"tracelock.label.{text}", "label", label=text)
    known = ", ".join(sorted(KEY_BY_NAME[n].short for n in _DIMENSION_KEYS))
    raise ConfigError(
        f"unknown key or label {name!r}; use one of {known}, a canonical name such as "
        "gen_ai.prompt.version, or a user label as label.<name>",
        field=option,
    )


def parse_assignments(items: list[str] | tuple[str, ...], *, option: str) -> dict[Dimension, str]:
    """``["prompt=refund-v3", "model=gpt-4o"]`` -> {Dimension: value}; comma-separated items allowed."""
    out: dict[Dimension, str] = {}
    for item in items:
        for part in (p for p in item.split(",") if p.strip()):
            if "=" not in part:
                raise ConfigError(f"expected KEY=VALUE, got {part!r}", field=option)
            key, value = part.split("=", 1)
            dimension = resolve_dimension(key, option=option)
            if not value.strip():
                raise ConfigError(f"empty value for {dimension.name}", field=option)
            out[dimension] = value.strip()
    if not out:
        raise ConfigError("needs at least one KEY=VALUE", field=option)
    return out
