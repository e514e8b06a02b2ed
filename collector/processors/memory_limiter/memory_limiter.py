"""Refuse new exports while the collector's resident memory is over ``limit_mib - spike_limit_mib``.

Listed first among the processors, it runs on the receiving thread before anything is queued or written
to the WAL, so a refusal costs nothing and the client gets the OTLP retryable answer (RESOURCE_EXHAUSTED /
429 with Retry-After) instead of the process growing until the kernel kills it, which would take the
service's sidecar down. RSS is read from ``/proc/self/statm`` by a thread every ``check_interval_s``; the
hot path reads one boolean. WAL replays at start are never refused (they are already acknowledged).
Where ``/proc`` is missing the limiter logs once and lets everything through.
"""

from __future__ import annotations

import logging
import os
import threading

from prometheus_client import Counter, Gauge

from tracelock.collector.component import Processor, SpanBatch
from tracelock.collector.host import Host
from tracelock.collector.processors.memory_limiter.config import MemoryLimiterConfig
from tracelock.collector.security.registry import SECURITY_REGISTRY
from tracelock.errors import Overloaded

__all__ = ["MemoryLimiter", "resident_bytes"]

log = logging.getLogger("tracelock.collector")

RSS_BYTES = Gauge(
    "tracelock_collector_rss_bytes", "Resident set size of the collector.", registry=SECURITY_REGISTRY
)
SPANS_REFUSED = Counter(
    "tracelock_collector_memory_limiter_refused_spans",
    "Spans refused because RSS was over memory_limiter.limit_mib.",
    registry=SECURITY_REGISTRY,
)
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes() -> int | None:
    """This process's RSS, or None where /proc is not available."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


class MemoryLimiter(Processor):
    def __init__(self, config: MemoryLimiterConfig) -> None:
        self.config = config
        self.limit = config.refuse_above_mib << 20
        self.over = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _watch(self) -> None:
        while not self._stop.wait(self.config.check_interval_s):
            rss = resident_bytes()
            if rss is None:
                log.warning("memory_limiter: /proc/self/statm is not readable; the limit is not enforced")
                return
            RSS_BYTES.set(rss)
            if (rss > self.limit) != self.over:
                self.over = rss > self.limit
                log.warning(
                    "memory_limiter: RSS %d MiB, %s", rss >> 20, "refusing" if self.over else "accepting"
                )

    def start(self, host: Host) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name="memory-limiter", daemon=True)
        self._thread.start()

    def consume(self, batch: SpanBatch) -> SpanBatch:
        if self.over and not batch.replay:
            SPANS_REFUSED.inc(batch.span_count)
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
