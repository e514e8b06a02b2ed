"""Keep the collector's resident memory under ``limit_mib - spike_limit_mib`` by refusing new exports,
retryably, before they are read or decoded.

RSS alone cannot do it: it says what happened, after the allocation; by the time the next sample shows
16 requests of 11 MiB being read, or the batch insert of what they queued, the process is at 2 GiB. So
a request is admitted only when what is resident now, plus what is about to be, fits:

- **resident**: the RSS read every ``check_interval_s`` by a thread (from ``/proc/self/statm``);
- **in flight**: receivers reserve each request's bytes through ``host.memory`` before reading and
  decoding it (the body as received, then decoded x DECODED_COST), released when it is answered;
- **to write**: spans acknowledged and not yet written, at the bytes per span seen lately, x
  (QUEUED_COST - 1): their bytes are resident already, the batch insert into chDB builds the rest.

Refused: RESOURCE_EXHAUSTED / 429 with Retry-After. Never while idle: with nothing in flight or queued
a request is always admitted, and after a burst the allocator is asked to hand freed memory back (glibc
``malloc_trim``), so the collector cannot be left refusing everything with nothing to do. The limiter
also caps glibc's malloc arenas (``M_ARENA_MAX``), which otherwise keep a fragmented heap per thread.
Listed first among the processors, it also refuses batches while RSS is over (never a WAL replay).
"""

from __future__ import annotations

import contextlib
import ctypes
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


def _glibc(call: str, *args: int) -> None:
    """Call a glibc malloc tuning function (no-op where there is no glibc)."""
    with contextlib.suppress(OSError, AttributeError):
        getattr(ctypes.CDLL("libc.so.6"), call)(*args)


_M_ARENA_MAX = -8  # mallopt parameter (malloc.h)


#: Resident bytes a queued (acknowledged, unwritten) span costs per byte of its request until written:
#: the request itself plus what the batch insert into chDB builds from it (bench/overload.py
#: --large-request-mib: one sender of 11 MiB requests, limiter off, grew RSS by ~1.2 GiB with ~270 MB
#: of spans queued).
QUEUED_COST = 8


class MemoryLimiter(Processor):
    def __init__(self, settings: Settings, config: MemoryLimiterConfig) -> None:
        self.config = config
        self.log = settings.logger
        self.rss_bytes = settings.metrics.gauge(
            "tracelock_collector_rss_bytes", "Resident set size of the collector."
        )
        self.in_flight_bytes = settings.metrics.gauge(
            "tracelock_collector_memory_in_flight_bytes", "Request bytes reserved by receivers."
        )
        self.spans_refused = settings.metrics.counter(
            "tracelock_collector_memory_limiter_refused_spans",
            "Spans refused because RSS was over memory_limiter.limit_mib.",
        )
        self.requests_refused = settings.metrics.counter(
            "tracelock_collector_memory_limiter_refused_requests",
            "Requests refused before decoding: their bytes would not fit under memory_limiter.limit_mib.",
        )
        self.limit = config.refuse_above_mib << 20
        self.over = False
        self.resident = resident_bytes() or 0
        self._in_flight = 0
        self._bytes_per_span = 0.0  # seen lately (moving average)
        self._lock = threading.Lock()
        self._host: Host | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _queued_spans(self) -> int:
        return self._host.queued_spans() if self._host is not None else 0  # the graph sets it after start

    def _queued_bytes(self) -> int:
        return int(self._queued_spans() * self._bytes_per_span * QUEUED_COST)

    def _idle(self) -> bool:
        return self._in_flight == 0 and self._queued_spans() == 0

    def _watch(self) -> None:
        was_idle = True
        while not self._stop.wait(self.config.check_interval_s):
            rss = resident_bytes()
            if rss is None:
                self.log.warning(
                    "memory_limiter: /proc/self/statm is not readable; the limit is not enforced"
                )
                return
            idle = self._idle()
            if idle and not was_idle:
                _glibc("malloc_trim", 0)  # a burst just ended: give back what the allocator keeps
                rss = resident_bytes() or rss
            self.resident = rss
            was_idle = idle
            self.rss_bytes.set(rss)
            over = rss > self.limit and not idle
            if over != self.over:
                self.over = over
                self.log.warning(
                    "memory_limiter: RSS %d MiB, %s", rss >> 20, "refusing" if over else "accepting"
                )

    def _refusal(self, why: str) -> Overloaded:
        return Overloaded(
            f"collector memory near its limit of {self.config.limit_mib} MiB "
            f"(refusing above {self.config.refuse_above_mib} MiB: {why}); retry later",
            retry_after=self.config.retry_after_s,
        )

    def reserve(self, nbytes: int) -> None:
        """Count a request's ``nbytes`` in flight (MemoryBudget), or refuse it before it is decoded."""
        with self._lock:
            if not self._idle():
                if self.over:
                    self.requests_refused.inc()
                    raise self._refusal("resident memory is over")
                to_write = self._queued_bytes() * (QUEUED_COST - 1) // QUEUED_COST
                total = self.resident + self._in_flight + to_write + nbytes
                if total > self.limit:
                    self.requests_refused.inc()
                    raise self._refusal(f"{total >> 20} MiB with this request")
            self._in_flight += nbytes
            self.in_flight_bytes.set(self._in_flight)

    def release(self, nbytes: int) -> None:
        with self._lock:
            self._in_flight -= nbytes
            self.in_flight_bytes.set(self._in_flight)

    def start(self, host: Host) -> None:
        self._host = host
        host.memory.add(self)
        _glibc("mallopt", _M_ARENA_MAX, 2)
        self.resident = resident_bytes() or 0
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name="memory-limiter", daemon=True)
        self._thread.start()

    def consume(self, batch: SpanBatch) -> SpanBatch:
        if batch.span_count and not batch.replay:
            size = sum(len(body) for body in batch.bodies) / batch.span_count
            seen = self._bytes_per_span
            self._bytes_per_span = size if not seen else 0.5 * seen + 0.5 * size
        if self.over and not batch.replay:
            self.spans_refused.inc(batch.span_count)
            raise self._refusal("resident memory is over")
        return batch

    def shutdown(self) -> None:
        if self._host is not None:
            self._host.memory.remove(self)
            self._host = None
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None


FACTORY = Factory(
    kind="processor", type="memory_limiter", config_model=MemoryLimiterConfig, create=MemoryLimiter
)
