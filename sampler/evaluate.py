"""One place that runs a rule's condition on values and reports what it read.

Shared by the collector path and the batch path, so a runtime failure is handled the same way on both:
counted per rule and logged once per rule, never raised into the pipeline.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from tracelock.sampler.rules import CompiledRule
from tracelock.sampler.seeds import as_text

__all__ = ["Evaluator"]

log = logging.getLogger("tracelock.sampler")


class Evaluator:
    """Runs conditions; ``errors`` counts runtime failures per rule, ``evaluated`` the evaluations."""

    def __init__(self) -> None:
        self.errors: dict[str, int] = {}
        self.evaluated = 0

    def check(self, rule: CompiledRule, values: Mapping[str, Any]) -> dict[str, str] | None:
        """The values the condition read (as text) when it is true; None when false or failing."""
        self.evaluated += 1
        condition = rule.condition
        try:
            activation = condition.activation(values)
            if not condition.evaluate(activation):
                return None
        except Exception as exc:  # a bad value on one span/trace never stops the pipeline
            self._failed(rule, exc)
            return None
        return {v.name: as_text(activation[v.identifier]) for v in condition.variables}

    def _failed(self, rule: CompiledRule, exc: Exception) -> None:
        count = self.errors.get(rule.name, 0) + 1
        self.errors[rule.name] = count
        if count == 1:
            log.warning("seed rule %r failed at runtime (counted; logged once per rule): %s", rule.name, exc)
