"""Refuse new exports while the collector's resident memory is over ``limit_mib - spike_limit_mib``.

Listed first among the processors, it runs on the receiving thread before anything is queued or written
to the WAL, so a refusal costs nothing and the client gets the OTLP retryable answer (RESOURCE_EXHAUSTED /
429 with Retry-After) instead of the process growing until the kernel kills it, which would take the
service's sidecar down. RSS is read from ``/proc/self/statm`` by a thread every ``check_interval_s``; the
hot path reads one boolean. WAL replays at start are never refused (they are already acknowledged).
Where ``/proc`` is missing the limiter logs once and lets everything through.
"""

from __future__ import annotations

import os
import threading

from tracelock.collector.component import Factory, Processor, Settings, SpanBatch
from tracelock.collector.host import Host
from tracelock.collector.processors.memory_limiter.config import MemoryLimiterConfig
from tracelock.errors import Overloaded

__all__ = ["FACTORY", "MemoryLimiter", "resident_bytes"]

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes() -> int | None:
    """This process's RSS, or None where /proc is not available."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


class MemoryLimiter(Processor):
    def __init__(self, settings: Settings, config: MemoryLimiterConfig) -> None:
        self.config = config
        self.log = settings.logger
        self.rss_bytes = settings.metrics.gauge(
            "tracelock_collector_rss_bytes", "Resident set size of the collector."
        )
        self.spans_refused = settings.metrics.counter(
            "tracelock_collector_memory_limiter_refused_spans",
            "Spans refused because RSS was over memory_limiter.limit_mib.",
        )
        self.limit = config.refuse_above_mib << 20
        self.over = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _watch(self) -> None:
        while not self._stop.wait(self.config.check_interval_s):
            rss = resident_bytes()
            if rss is None:
                self.log.warning(
                    "memory_limiter: /proc/self/statm is not readable; the limit is not enforced"
                )
                return
            self.rss_bytes.set(rss)
            if (rss > self.limit) != self.over:
                self.over = rss > self.limit
                self.log.warning(
                    "memory_limiter: RSS %d MiB, %s", rss >> 20, "refusing" if self.over else "accepting"
                )

    def start(self, host: Host) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name="memory-limiter", daemon=True)
        self._thread.start()

    def consume(self, batch: SpanBatch) -> SpanBatch:
        if self.over and not batch.replay:
            self.spans_refused.inc(batch.span_count)
            raise Overloaded(
                f"collector memory near its limit of {self.config.limit_mib} MiB "
                f"(refusing above {self.config.refuse_above_mib} MiB); retry later",
                retry_after=self.config.retry_after_s,
            )
        return batch

    def shutdown(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None


FACTORY = Factory(
    kind="processor", type="memory_limiter", config_model=MemoryLimiterConfig, create=MemoryLimiter
)
