"""One traces pipeline: processors -> admission -> WAL (ack) -> queue -> writer threads -> exporter.

``ingest`` is what receivers call; it returns only when the spans are durable (WAL fsync'd), raises
InputError for bad data and Overloaded when the queue or WAL is full. Nothing acknowledged is dropped:
the writer sends each batch through the exporter helper (:class:`BatchSender`), which retries what the
store may take later and quarantines, with its error, what it never will. What is left at a stop
stays in the WAL for the next start, and the stop then reports that it did not drain.

The exporter's ``consumers`` writer threads take batches off one queue, so batches may be stored out
of order; the WAL moves its checkpoint only over contiguous written records, and a crash replays
everything above it, each interrupted batch under its own insert token (stored once).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace

from tracelock.collector.component import Exporter, Processor, SpanBatch
from tracelock.collector.exporterhelper import BatchSender, DeadLetters, Interrupted, RetryPolicy
from tracelock.collector.metrics import CollectorMetrics
from tracelock.collector.processors.batch.config import BatchConfig
from tracelock.collector.security.limits import REQUESTS_REFUSED
from tracelock.collector.wal import WriteAheadLog, digest
from tracelock.errors import Overloaded

__all__ = ["Pipeline"]

log = logging.getLogger("tracelock.collector")


class Pipeline:
    """``dead_letters`` defaults to ``dead-letter`` beside the WAL directory; ``stall_after`` is how
    long (s) the writer may go without storing anything while spans wait before :attr:`stalled`;
    ``resend_window`` how long after an unclean stop a request equal to a WAL record is a resend."""

    def __init__(
        self,
        processors: Sequence[Processor],
        exporter: Exporter,
        batch: BatchConfig,
        wal: WriteAheadLog,
        metrics: CollectorMetrics,
        *,
        dead_letters: DeadLetters | None = None,
        retry: RetryPolicy | None = None,
        stall_after: float = 30.0,
        resend_window: float = 300.0,
    ) -> None:
        self.processors = list(processors)
        self.exporter = exporter
        self.batch = batch
        self.wal = wal
        self.metrics = metrics
        self.dead_letters = dead_letters or DeadLetters(wal.directory.parent / "dead-letter")
        self.stall_after = stall_after
        self._interrupt = threading.Event()  # set when a drain runs out of time: retries stop waiting
        self.sender = BatchSender(
            exporter, self.dead_letters, metrics, retry or RetryPolicy(), self._interrupt
        )
        self._progress_at = time.monotonic()  # last write, or when the queue last became non-empty
        self._left_in_wal = 0  # spans a stop left unwritten (in the WAL for the next start)
        self.quarantined_spans = 0
        self._resends = wal.recent_digests  # empty unless the previous run stopped uncleanly
        self._resends_until = time.monotonic() + resend_window
        self._cond = threading.Condition()
        self._queue: deque[tuple[float, SpanBatch]] = deque()
        self._admitted = 0  # spans reserved or queued, not yet written
        self._waiting = 0  # requests waiting for room in a full queue
        self._stopping = False
        self._workers: list[threading.Thread] = []
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
        payload = batch.bodies[0] if len(batch.bodies) == 1 else b"".join(batch.bodies)
        if self._resends and time.monotonic() < self._resends_until and digest(payload) in self._resends:
            self.metrics.spans_accepted.labels(transport).inc(n)  # the crashed run has it in its WAL
            return
        with self._cond:
            self._wait_for_room(n, transport)
            self._admit(n)
        try:
            seq = self.wal.append(payload)
        except Overloaded:
            self._release(n)
            self._refuse("wal_full", n, transport)
            raise
        except BaseException:
            self._release(n)
            raise
        self._enqueue(replace(batch, bodies=(), wal_seqs=(seq,)))  # the writer reads it back: wal.read
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

    def _admit(self, n: int) -> None:
        """Reserve room for ``n`` spans. Holds ``self._cond``."""
        if self._admitted == 0:
            self._progress_at = time.monotonic()  # an idle writer has not stalled
        self._admitted += n

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

    def replay(self, seqs: Sequence[int], span_counter: Callable[[bytes], int]) -> int:
        """Queue the WAL records a previous run left (``WriteAheadLog.open``), oldest first. The records
        of a batch that was being inserted at the crash are queued together under that insert's token,
        so that ClickHouse skips them if the insert had committed.

        Records are read one at a time, to count their spans, and queued without their bytes, as this
        run's own are: a full log (1 GiB by default) is never in memory at once. They hold what the
        processors produced in the run that logged them, so processors see a replayed batch without
        bodies and add only what they add to every batch (the rewrite); they do not stamp it twice.
        """
        prepared: dict[int, SpanBatch] = {}
        for seq in seqs:
            (payload,) = self.wal.read((seq,))
            batch = SpanBatch(bodies=(), span_count=span_counter(payload), replay=True)
            for processor in self.processors:
                batch = processor.consume(batch)
            prepared[seq] = replace(batch, wal_seqs=(seq,))
            self.metrics.wal_replayed.inc()
        groups = [
            replace(SpanBatch.merge([prepared.pop(s) for s in seqs]), dedup_token=token)
            for token, seqs in self.wal.inflight
        ]
        groups += [prepared[seq] for seq in sorted(prepared)]
        for batch in groups:
            with self._cond:
                self._admit(batch.span_count)
            self._enqueue(batch)
        return sum(b.span_count for b in groups)

    # -- writing side -------------------------------------------------------------------------------
    def start(self) -> None:
        self._stopping = False
        self._interrupt.clear()
        self._workers = [
            threading.Thread(target=self._run, name=f"tracelock-writer-{i}", daemon=True)
            for i in range(max(1, self.exporter.consumers))
        ]
        for worker in self._workers:
            worker.start()

    def _take(self) -> list[SpanBatch] | None:
        """Wait for a full batch (or the timeout, or a stop) and take its parts off the queue."""
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
                head = self._queue[0][1]
                if taken and (head.rewrite != taken[0].rewrite or head.dedup_token or taken[0].dedup_token):
                    break  # a replayed insert keeps its token and exactly its records
                _, item = self._queue.popleft()
                taken.append(item)
                count += item.span_count
            return taken

    def _run(self) -> None:
        while True:
            taken = self._take()
            if taken is None:
                return
            try:
                batch = SpanBatch.merge([self._with_bodies(part) for part in taken])
            except OSError as exc:  # the log's disk lost acknowledged bytes: stop, stay unready
                unwritten = sum(part.span_count for part in taken)
                log.critical("writer stopped: %s; %d spans stay unwritten", exc, unwritten)
                return
            self._write(batch)

    def _with_bodies(self, part: SpanBatch) -> SpanBatch:
        """A queued part with its request bytes: admitted and replayed requests are queued as WAL
        records only (read back here, outside the queue's lock); retried batches keep their bytes."""
        return part if part.bodies else replace(part, bodies=self.wal.read(part.wal_seqs))

    def _write(self, batch: SpanBatch) -> None:
        if not batch.dedup_token and batch.wal_seqs:
            batch = replace(batch, dedup_token=self.wal.begin(batch.wal_seqs))
        started = time.perf_counter()
        try:
            quarantined = self.sender.send(batch)
        except Interrupted:
            log.error("stopped while retrying; %d spans stay in the WAL for the next start", batch.span_count)
            with self._cond:
                self._admitted -= batch.span_count
                self._left_in_wal += batch.span_count
                self._cond.notify_all()
            return
        self.metrics.write_seconds.observe(time.perf_counter() - started)
        self.metrics.spans_written.inc(batch.span_count - quarantined)
        self.wal.mark_written(batch.wal_seqs)  # quarantined records are durable in the dead-letter dir
        self.metrics.wal_pending_bytes.set(self.wal.pending_bytes)
        with self._cond:
            self._admitted -= batch.span_count
            self.written_spans += batch.span_count - quarantined
            self.quarantined_spans += quarantined
            self._progress_at = time.monotonic()
            self.metrics.queue_spans.set(self._admitted)
            self._cond.notify_all()

    def drain(self, timeout: float = 30.0) -> bool:
        """Stop admitting, write everything queued, stop the writer. True only when every
        acknowledged span was written or quarantined; False when some stay only in the WAL."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        if any(w.is_alive() for w in self._workers):  # out of time: interrupt retry waits, keep the rest
            self._interrupt.set()
            for worker in self._workers:
                worker.join(5.0)
        with self._cond:
            return not self._queue and self._admitted == 0 and self._left_in_wal == 0

    @property
    def stalled(self) -> bool:
        """True when spans wait and nothing was written for ``stall_after`` seconds (``/readyz``)."""
        with self._cond:
            return self._admitted > 0 and time.monotonic() - self._progress_at > self.stall_after

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
