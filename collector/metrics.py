"""Prometheus metrics of one collector: one registry per collector, passed to every component in its
Settings (so several collectors, or one component restarted, can live in one process).

The pipeline's own counters are attributes here; a component that needs more gets them with
:meth:`CollectorMetrics.counter` / :meth:`gauge`, which return the instrument already registered under
that name (a processor started twice, or two instances of one type, share it and label by id).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics import MetricWrapperBase

__all__ = ["CollectorMetrics"]

_M = TypeVar("_M", bound=MetricWrapperBase)


class CollectorMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._made: dict[str, MetricWrapperBase] = {}
        self._lock = threading.Lock()
        r = self.registry
        self.spans_received = Counter(
            "tracelock_collector_spans_received",
            "Spans in export requests that parsed.",
            ["transport"],
            registry=r,
        )
        self.spans_accepted = Counter(
            "tracelock_collector_spans_accepted",
            "Spans acknowledged (durable in the WAL).",
            ["transport"],
            registry=r,
        )
        self.spans_refused = Counter(
            "tracelock_collector_spans_refused",
            "Spans answered with a retryable refusal.",
            ["reason"],
            registry=r,
        )
        self.spans_written = Counter(
            "tracelock_collector_spans_written", "Spans written to ClickHouse.", registry=r
        )
        self.spans_dropped = Counter(
            "tracelock_collector_spans_dropped", "Acknowledged spans lost (must stay 0).", registry=r
        )
        self.spans_quarantined = Counter(
            "tracelock_collector_spans_quarantined",
            "Acknowledged spans the store refused permanently, moved to the dead-letter directory.",
            registry=r,
        )
        self.bad_requests = Counter(
            "tracelock_collector_bad_requests",
            "Requests rejected as malformed (400/INVALID_ARGUMENT).",
            ["transport", "reason"],
            registry=r,
        )
        self.queue_spans = Gauge(
            "tracelock_collector_queue_spans", "Acknowledged spans not yet written.", registry=r
        )
        self.wal_pending_bytes = Gauge(
            "tracelock_collector_wal_pending_bytes", "WAL bytes not yet written to ClickHouse.", registry=r
        )
        self.write_seconds = Histogram(
            "tracelock_collector_batch_write_seconds",
            "Latency of one batch insert.",
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.write_failures = Counter(
            "tracelock_collector_write_failures", "Batch inserts that failed and were retried.", registry=r
        )
        self.wal_replayed = Counter(
            "tracelock_collector_wal_replayed_records", "WAL records replayed.", registry=r
        )
        self.feedback_received = Counter(
            "tracelock_collector_feedback_received", "Feedback records stored.", registry=r
        )
        self.feedback_unknown_trace = Counter(
            "tracelock_collector_feedback_unknown_trace",
            "Feedback records whose trace id is not (yet) in otel_traces.",
            registry=r,
        )

    def _get(self, kind: type[_M], name: str, documentation: str, labels: Sequence[str]) -> _M:
        with self._lock:
            made = self._made.get(name)
            if made is None:
                made = self._made[name] = kind(name, documentation, list(labels), registry=self.registry)
        if not isinstance(made, kind):
            raise TypeError(f"metric {name!r} is already registered as a {type(made).__name__}")
        return made

    def counter(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
        """The counter ``name`` of this collector, registered on first use."""
        return self._get(Counter, name, documentation, labels)

    def gauge(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Gauge:
        """The gauge ``name`` of this collector, registered on first use."""
        return self._get(Gauge, name, documentation, labels)

    def render(self) -> bytes:
        return generate_latest(self.registry)
