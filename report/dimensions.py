"""The shared keys and task labels a report can filter and slice on, and the column each one is in.

Names are the canonical attribute names (``gen_ai.prompt.version``, ``tracelock.customer.tier``) or a
short alias (``prompt``, ``tier``); user labels are ``tracelock.label.<name>`` (or ``label.<name>``)
and live in each table's ``Labels`` map under ``<name>``. Column names come from this fixed table only;
user label names reach SQL as bound parameters, never as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tracelock.errors import ConfigError

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
        return self.label or _SHORT.get(self.name, self.name)


DIMENSIONS: dict[str, Dimension] = {
    d.name: d
    for d in (
        Dimension("gen_ai.request.model", "key", "RequestModel", "RequestModel"),
        Dimension("gen_ai.prompt.version", "key", "PromptVersion", "PromptVersion"),
        Dimension("tracelock.retriever.version", "key", "RetrieverVersion", "RetrieverVersion"),
        Dimension("tracelock.guardrail.version", "key", "GuardrailVersion"),
        Dimension("tracelock.experiment.bucket", "key", "ExperimentBucket"),
        Dimension("tracelock.intent", "label", "Intent", "Intent"),
        Dimension("tracelock.feature", "label", "Feature", "Feature"),
        Dimension("tracelock.language", "label", "Language", "Language"),
        Dimension("tracelock.customer.tier", "label", "CustomerTier", "CustomerTier"),
        Dimension("gen_ai.output.type", "label", "OutputFormat"),
    )
}

_SHORT = {
    "gen_ai.request.model": "model",
    "gen_ai.prompt.version": "prompt",
    "tracelock.retriever.version": "retriever",
    "tracelock.guardrail.version": "guardrail",
    "tracelock.experiment.bucket": "bucket",
    "tracelock.intent": "intent",
    "tracelock.feature": "feature",
    "tracelock.language": "language",
    "tracelock.customer.tier": "customer.tier",
    "gen_ai.output.type": "output.type",
}
_ALIASES = {short: name for name, short in _SHORT.items()} | {
    "prompt.version": "gen_ai.prompt.version",
    "prompt_version": "gen_ai.prompt.version",
    "request.model": "gen_ai.request.model",
    "tier": "tracelock.customer.tier",
    "customer_tier": "tracelock.customer.tier",
    "plan_tier": "tracelock.customer.tier",
    "output_format": "gen_ai.output.type",
    "retriever.version": "tracelock.retriever.version",
    "guardrail.version": "tracelock.guardrail.version",
    "experiment.bucket": "tracelock.experiment.bucket",
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
    canonical = _ALIASES.get(text, text)
    if canonical in DIMENSIONS:
        return DIMENSIONS[canonical]
    if bare_labels and _LABEL_NAME.match(text) and "." not in text:
        return Dimension(f"tracelock.label.{text}", "label", label=text)
    known = ", ".join(sorted(_SHORT.values()))
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
