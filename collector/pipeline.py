"""One traces pipeline: processors -> admission -> WAL (ack) -> queue -> writer thread -> exporter.

``ingest`` is what receivers call; it returns only when the spans are durable (WAL fsync'd), raises
InputError for bad data and Overloaded when the queue or WAL is full. Nothing acknowledged is dropped:
a failed write is retried (deduplicated) until it succeeds or the process stops, and whatever is left
at a stop stays in the WAL for the next start.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace

from tracelock.collector.component import Exporter, Processor, SpanBatch
from tracelock.collector.metrics import CollectorMetrics
from tracelock.collector.processors.batch.config import BatchConfig
from tracelock.collector.security.limits import REQUESTS_REFUSED
from tracelock.collector.wal import WriteAheadLog
from tracelock.errors import Overloaded

__all__ = ["Pipeline"]

log = logging.getLogger("tracelock.collector")


class Pipeline:
    def __init__(
        self,
        processors: Sequence[Processor],
        exporter: Exporter,
        batch: BatchConfig,
        wal: WriteAheadLog,
        metrics: CollectorMetrics,
    ) -> None:
        self.processors = list(processors)
        self.exporter = exporter
        self.batch = batch
        self.wal = wal
        self.metrics = metrics
        self._cond = threading.Condition()
        self._queue: deque[tuple[float, SpanBatch]] = deque()
        self._admitted = 0  # spans reserved or queued, not yet written
        self._waiting = 0  # requests waiting for room in a full queue
        self._stopping = False
        self._worker: threading.Thread | None = None
        self.written_spans = 0

    # -- receiving side -----------------------------------------------------------------------------
    def ingest(self, body: bytes, span_count: int, transport: str = "inproc") -> None:
        """Process, admit and make durable one request's spans (already validated by the receiver)."""
        self.metrics.spans_received.labels(transport).inc(span_count)
        batch = SpanBatch(bodies=(body,), span_count=span_count)
        for processor in self.processors:
            batch = processor.consume(batch)
        self.put(batch, transport)

    def put(self, batch: SpanBatch, transport: str = "inproc") -> None:
        """Admit and make durable a batch the pipeline's processors already produced (the graph's call:
        it runs each pipeline's processors once and hands the result to every exporter's queue)."""
        if batch.span_count == 0:
            return
        n = batch.span_count
        with self._cond:
            self._wait_for_room(n, transport)
            self._admitted += n
        try:
            payload = batch.bodies[0] if len(batch.bodies) == 1 else b"".join(batch.bodies)
            seq = self.wal.append(payload)
        except Overloaded:
            self._release(n)
            self._refuse("wal_full", n, transport)
            raise
        except BaseException:
            self._release(n)
            raise
        self._enqueue(replace(batch, bodies=(payload,), wal_seqs=(seq,)))
        self.metrics.spans_accepted.labels(transport).inc(n)

    def wait_for_room(self, transport: str, deadline: float | None = None) -> None:
        """Receivers call this before decoding a request: a queue that stays full refuses it unread.

        ``deadline`` (seconds left for the client, when it sent one) shortens the wait.
        """
        with self._cond:
            self._wait_for_room(0, transport, deadline)

    def _wait_for_room(self, spans: int, transport: str, deadline: float | None = None) -> None:
        """Wait until ``spans`` more spans fit (0: a request not decoded yet, which needs room for one),
        else raise Overloaded. Holds ``self._cond``.

        At most ``batch.queue_waiters`` requests wait (``batch.queue_wait`` at most each); the others
        are refused at once, so that under sustained overload the receivers' threads keep answering
        instead of all sleeping while new requests pile up behind them. A request always fits into an
        empty queue, however large.
        """
        limit, needed = self.batch.max_queue_spans, max(spans, 1)

        def room() -> bool:
            return self._stopping or self._admitted == 0 or self._admitted + needed <= limit

        if not room() and self._waiting < self.batch.queue_waiters:
            wait = self.batch.queue_wait if deadline is None else min(self.batch.queue_wait, deadline - 0.1)
            self._waiting += 1
            try:
                self._cond.wait_for(room, max(wait, 0.0))
            finally:
                self._waiting -= 1
        if self._stopping:
            self._refuse("shutting_down", spans, transport)
            raise Overloaded("collector is shutting down; retry against the next instance", retry_after=5.0)
        if not room():
            self._refuse("queue_full", spans, transport)
            raise Overloaded(f"queue full ({self._admitted} spans waiting, limit {limit})", retry_after=1.0)

    def _refuse(self, reason: str, spans: int, transport: str) -> None:
        REQUESTS_REFUSED.labels(transport, reason).inc()
        if spans:
            self.metrics.spans_refused.labels(reason).inc(spans)

    def _release(self, n: int) -> None:
        with self._cond:
            self._admitted -= n
            self._cond.notify_all()

    def _enqueue(self, batch: SpanBatch) -> None:
        with self._cond:
            self._queue.append((time.monotonic(), batch))
            self.metrics.queue_spans.set(self._admitted)
            self._cond.notify_all()

    def replay(self, records: Sequence[tuple[int, bytes]], span_counter: Callable[[bytes], int]) -> int:
        """Queue WAL records left from a previous run (writes skip spans already stored)."""
        spans = 0
        for seq, payload in records:
            batch = SpanBatch(bodies=(payload,), span_count=span_counter(payload), replay=True)
            for processor in self.processors:
                batch = processor.consume(batch)
            with self._cond:
                self._admitted += batch.span_count
            self._enqueue(replace(batch, wal_seqs=(seq,), replay=True))
            spans += batch.span_count
            self.metrics.wal_replayed.inc()
        return spans

    # -- writing side -------------------------------------------------------------------------------
    def start(self) -> None:
        self._stopping = False
        self._worker = threading.Thread(target=self._run, name="tracelock-writer", daemon=True)
        self._worker.start()

    def _take(self) -> SpanBatch | None:
        """Wait for a full batch (or the timeout, or a stop) and take it off the queue."""
        with self._cond:
            while True:
                queued = sum(b.span_count for _, b in self._queue)
                if self._queue and (
                    queued >= self.batch.send_batch_size
                    or self._stopping
                    or time.monotonic() - self._queue[0][0] >= self.batch.timeout
                ):
                    break
                if self._stopping and not self._queue:
                    return None
                wait = (
                    self.batch.timeout
                    if not self._queue
                    else self.batch.timeout - (time.monotonic() - self._queue[0][0])
                )
                self._cond.wait(max(wait, 0.005))
            taken: list[SpanBatch] = []
            count = 0
            while self._queue and (
                not taken or count + self._queue[0][1].span_count <= self.batch.send_batch_size
            ):
                if taken and self._queue[0][1].rewrite != taken[0].rewrite:
                    break
                _, item = self._queue.popleft()
                taken.append(item)
                count += item.span_count
            return SpanBatch.merge(taken)

    def _run(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            self._write(batch)

    def _write(self, batch: SpanBatch) -> None:
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                self.exporter.consume(batch)
                break
            except Exception as exc:  # retried: the batch is in the WAL, the next attempt deduplicates
                attempt += 1
                self.metrics.write_failures.inc()
                log.warning("batch write failed (attempt %d, %d spans): %s", attempt, batch.span_count, exc)
                batch = replace(batch, replay=True)
                with self._cond:
                    if self._stopping and attempt >= 3:
                        log.error(
                            "giving up at shutdown; %d spans stay in the WAL for the next start",
                            batch.span_count,
                        )
                        self._admitted -= batch.span_count
                        return
                time.sleep(min(0.1 * 2**attempt, 5.0))
        self.metrics.write_seconds.observe(time.perf_counter() - started)
        self.metrics.spans_written.inc(batch.span_count)
        self.wal.mark_written(batch.wal_seqs)
        self.metrics.wal_pending_bytes.set(self.wal.pending_bytes)
        with self._cond:
            self._admitted -= batch.span_count
            self.written_spans += batch.span_count
            self.metrics.queue_spans.set(self._admitted)
            self._cond.notify_all()

    def drain(self, timeout: float = 30.0) -> bool:
        """Stop admitting, write everything queued, stop the writer. True when all was written."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._worker is not None:
            self._worker.join(timeout)
        with self._cond:
            return not self._queue and self._admitted == 0

    @property
    def queued_spans(self) -> int:
        with self._cond:
            return self._admitted

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until everything admitted so far is written (tests, benchmarks)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._admitted > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True
