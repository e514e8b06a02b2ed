"""The ClickHouse exporter: columnar batch inserts of spans into ``otel_traces`` (chDB or server).

It only writes a batch. Retries, quarantine and exactly-once across crashes belong to the exporter
helper and the WAL: each batch arrives with a ``dedup_token`` that the insert carries, so a batch
written twice (a retry after a timeout, a replay after a crash) is stored once.
"""

from __future__ import annotations

import queue

from tracelock.collector.component import Exporter, Factory, Settings, SpanBatch
from tracelock.collector.exporters.clickhouse.config import ClickHouseExporterConfig
from tracelock.collector.exporters.clickhouse.writer import SpanWriter
from tracelock.collector.host import Host
from tracelock.store import Store

__all__ = ["FACTORY", "ClickHouseExporter"]


class ClickHouseExporter(Exporter):
    """``num_consumers`` writers, each on its own store session (the first on the collector's shared
    store), handed out one per batch in flight."""

    def __init__(self, settings: Settings, config: ClickHouseExporterConfig) -> None:
        self.settings = settings
        self.config = config
        self.consumers = config.num_consumers
        self._idle: queue.SimpleQueue[SpanWriter] = queue.SimpleQueue()
        self._sessions: list[Store] = []
        self._started = False

    def start(self, host: Host) -> None:
        endpoint, database = self.config.endpoint, self.config.database
        self._idle = queue.SimpleQueue()
        block = self.config.parse_block_mib << 20
        self._idle.put(SpanWriter(host.open_store(endpoint, database), parse_block_bytes=block))
        for _ in range(self.consumers - 1):
            session = host.open_session(endpoint, database)
            self._sessions.append(session)
            self._idle.put(SpanWriter(session, parse_block_bytes=block))
        self._started = True

    def consume(self, batch: SpanBatch) -> None:
        if not self._started:
            raise RuntimeError("clickhouse exporter used before start()")
        writer = self._idle.get()
        try:
            writer.write(batch.bodies, batch.rewrite, token=batch.dedup_token)
        finally:
            self._idle.put(writer)

    def shutdown(self) -> None:
        self._started = False
        sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()


FACTORY = Factory(
    kind="exporter", type="clickhouse", config_model=ClickHouseExporterConfig, create=ClickHouseExporter
)
