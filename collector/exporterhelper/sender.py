"""Send one batch to an exporter: retry what the store may take later, quarantine what it never will.

A permanent error (see :mod:`.errors`) names no culprit: ClickHouse says a batch of thousands of
requests is corrupt, not which one. The batch is therefore bisected: each half is written on its own,
a half that fails again is split again, and a single request that still fails permanently goes to
the dead-letter directory with its error. One bad request among n costs about 2 log2(n) writes, and
every good request of the batch is stored. Each half's insert token is derived from the batch's, so
a replay after a crash in the middle of a bisection splits the same way and stores each half once.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tracelock.collector.component import Exporter, SpanBatch
from tracelock.collector.exporterhelper.dead_letter import DeadLetters
from tracelock.collector.exporterhelper.errors import is_permanent
from tracelock.collector.exporterhelper.retry import RetryPolicy
from tracelock.collector.metrics import CollectorMetrics
from tracelock.errors import QueryError

__all__ = ["BatchSender", "Interrupted"]

log = logging.getLogger("tracelock.collector")


class Interrupted(Exception):
    """A stop came while a batch was waiting to be retried: it stays in the WAL for the next start."""


class BatchSender:
    def __init__(
        self,
        exporter: Exporter,
        dead_letters: DeadLetters,
        metrics: CollectorMetrics,
        retry: RetryPolicy,
        stop: threading.Event,
    ) -> None:
        self.exporter = exporter
        self.dead_letters = dead_letters
        self.metrics = metrics
        self.retry = retry
        self.stop = stop
        self._causes_logged: set[str] = set()

    def send(self, batch: SpanBatch) -> int:
        """Write ``batch`` (or every part of it that can be written); return the spans quarantined.

        Raises :class:`Interrupted` when ``stop`` is set while a retryable error is being retried.
        """
        attempt = 0
        while True:
            try:
                self.exporter.consume(batch)
                return 0
            except Exception as exc:
                self.metrics.write_failures.inc()
                if is_permanent(exc):
                    return self._split(batch, exc)
                attempt += 1
                log.warning("batch write failed (attempt %d, %d spans): %s", attempt, batch.span_count, exc)
                batch = replace(batch, replay=True)  # same dedup_token: stored once if it had committed
                if not self.retry.wait(attempt, self.stop):
                    raise Interrupted(str(exc)) from exc

    def _split(self, batch: SpanBatch, exc: Exception) -> int:
        if len(batch.bodies) == 1:
            return self._quarantine(batch, exc)
        half = len(batch.bodies) // 2
        quarantined = 0
        for i, part in enumerate((slice(0, half), slice(half, None))):
            bodies = batch.bodies[part]
            sub = replace(
                batch,
                bodies=bodies,
                wal_seqs=batch.wal_seqs[part],
                span_count=sum(_span_count(b) for b in bodies),
                replay=True,
                # the same split after a crash gives the same tokens: halves already stored are skipped
                dedup_token=f"{batch.dedup_token}.{i}" if batch.dedup_token else "",
            )
            quarantined += self.send(sub)
        return quarantined

    def _quarantine(self, batch: SpanBatch, exc: Exception) -> int:
        cause = f"clickhouse code {exc.code}" if isinstance(exc, QueryError) else type(exc).__name__
        spans = _span_count(batch.bodies[0])
        entry = self.dead_letters.put(
            batch.bodies[0],
            span_count=spans,
            cause=cause,
            error=str(exc),
            wal_seq=batch.wal_seqs[0] if batch.wal_seqs else 0,
        )
        self.metrics.spans_quarantined.inc(spans)
        if cause not in self._causes_logged:  # once per cause: a flood of one bad client is one line
            self._causes_logged.add(cause)
            log.error(
                "quarantined a request of %d spans (%s) in %s: %s; later ones with this cause are counted "
                "in tracelock_collector_spans_quarantined (see `tracelock collector dead-letter list`)",
                spans,
                cause,
                self.dead_letters.directory / entry.id,
                exc,
            )
        return spans


def _span_count(body: bytes) -> int:
    """Spans in one request (0 for bytes that do not parse: they hold no span anyone could read)."""
    try:
        request = ExportTraceServiceRequest.FromString(body)
    except Exception:
        return 0
    return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
