"""Prometheus counters of the seed sampler, on the collector's one metrics registry.

``metrics`` is anything with ``counter(name, doc, labels)`` returning the counter already registered
under that name (:class:`tracelock.collector.metrics.CollectorMetrics`), so a processor restarted in
the same process (start -> shutdown -> start) finds its counters rather than registering them twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from prometheus_client import Counter

__all__ = ["MetricsRegistry", "SamplerMetrics"]


class MetricsRegistry(Protocol):
    def counter(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Counter: ...


class SamplerMetrics:
    def __init__(self, metrics: MetricsRegistry) -> None:
        self.seeds = metrics.counter(
            "tracelock_seed_sampler_seeds",
            "Seeds written, by rule and path.",
            ["rule", "mode"],
        )
        self.rule_errors = metrics.counter(
            "tracelock_seed_sampler_rule_errors",
            "Condition evaluations that failed at runtime (counted, logged once per rule).",
            ["rule"],
        )
        self.rate_limited = metrics.counter(
            "tracelock_seed_sampler_rate_limited",
            "Matches refused by max_per_hour.",
            ["rule"],
        )
        self.failures = metrics.counter(
            "tracelock_seed_sampler_failures", "Sampler failures; spans flowed on unsampled."
        )
        self._seen: dict[tuple[str, str], int] = {}

    def add_deltas(self, counter: Counter, kind: str, totals: Mapping[str, int]) -> None:
        """Feed cumulative per-rule totals (as the sampler keeps them) into ``counter``."""
        for rule, total in totals.items():
            previous = self._seen.get((kind, rule), 0)
            if total > previous:
                counter.labels(rule=rule).inc(total - previous)
            self._seen[(kind, rule)] = total
