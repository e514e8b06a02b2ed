"""An in-memory exporter for unit tests of pipeline logic (batching, retry classes, quarantine,
backpressure, drain order) without chDB or a subprocess.

:class:`MemorySink` keeps every batch it "writes" and fails on demand: ``down`` makes every write fail
with a retryable StoreUnavailable (a store that is unreachable), ``poison`` makes a write fail
permanently when any request in the batch contains those bytes (as ClickHouse fails a whole insert
for one corrupt message), and ``gate`` (cleared) holds writes until it is set.
"""

from __future__ import annotations

import threading

from tracelock.collector.component import Exporter, SpanBatch
from tracelock.errors import QueryError, StoreUnavailable

__all__ = ["MemorySink"]


class MemorySink(Exporter):
    def __init__(self, poison: bytes | None = None) -> None:
        self.poison = poison
        self.down = False
        self.gate = threading.Event()
        self.gate.set()
        self.batches: list[SpanBatch] = []
        self.attempts = 0
        self._lock = threading.Lock()

    def consume(self, batch: SpanBatch) -> None:
        self.gate.wait()
        with self._lock:
            self.attempts += 1
            if self.down:
                raise StoreUnavailable("memory sink: store is down")
            if self.poison is not None and any(self.poison in body for body in batch.bodies):
                raise QueryError("memory sink: Protobuf messages are corrupted", code=444)
            self.batches.append(batch)

    @property
    def bodies(self) -> list[bytes]:
        """Every request written, in the order written."""
        with self._lock:
            return [body for batch in self.batches for body in batch.bodies]
