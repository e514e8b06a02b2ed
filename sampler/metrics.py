"""Prometheus counters of the seed sampler, registered once per collector registry.

The collector serves its own registry (``Host.metrics.registry``); a processor restarted in the same
process (start -> shutdown -> start) must find its counters there rather than register them twice.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter

__all__ = ["SamplerMetrics", "sampler_metrics"]


class SamplerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.seeds = Counter(
            "tracelock_seed_sampler_seeds",
            "Seeds written, by rule and path.",
            ["rule", "mode"],
            registry=registry,
        )
        self.rule_errors = Counter(
            "tracelock_seed_sampler_rule_errors",
            "Condition evaluations that failed at runtime (counted, logged once per rule).",
            ["rule"],
            registry=registry,
        )
        self.rate_limited = Counter(
            "tracelock_seed_sampler_rate_limited",
            "Matches refused by max_per_hour.",
            ["rule"],
            registry=registry,
        )
        self.failures = Counter(
            "tracelock_seed_sampler_failures",
            "Sampler failures; spans flowed on unsampled.",
            registry=registry,
        )
        self._seen: dict[tuple[str, str], int] = {}

    def add_deltas(self, counter: Counter, kind: str, totals: Mapping[str, int]) -> None:
        """Feed cumulative per-rule totals (as the sampler keeps them) into ``counter``."""
        for rule, total in totals.items():
            previous = self._seen.get((kind, rule), 0)
            if total > previous:
                counter.labels(rule=rule).inc(total - previous)
            self._seen[(kind, rule)] = total


_BY_REGISTRY: weakref.WeakKeyDictionary[CollectorRegistry, SamplerMetrics] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def sampler_metrics(registry: CollectorRegistry) -> SamplerMetrics:
    with _LOCK:
        metrics = _BY_REGISTRY.get(registry)
        if metrics is None:
            metrics = _BY_REGISTRY[registry] = SamplerMetrics(registry)
        return metrics
