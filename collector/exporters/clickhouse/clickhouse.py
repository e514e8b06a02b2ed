"""The ClickHouse exporter: columnar batch inserts of spans into ``otel_traces`` (chDB or server).

It only writes a batch. Retries, quarantine and exactly-once across crashes belong to the exporter
helper and the WAL: each batch arrives with a ``dedup_token`` that the insert carries, so a batch
written twice (a retry after a timeout, a replay after a crash) is stored once.
"""

from __future__ import annotations

from tracelock.collector.component import Exporter, Factory, Settings, SpanBatch
from tracelock.collector.exporters.clickhouse.config import ClickHouseExporterConfig
from tracelock.collector.exporters.clickhouse.writer import SpanWriter
from tracelock.collector.host import Host

__all__ = ["FACTORY", "ClickHouseExporter"]


class ClickHouseExporter(Exporter):
    def __init__(self, settings: Settings, config: ClickHouseExporterConfig) -> None:
        self.settings = settings
        self.config = config
        self._writer: SpanWriter | None = None

    def start(self, host: Host) -> None:
        store = host.open_store(self.config.endpoint, self.config.database)
        self._writer = SpanWriter(store)

    def consume(self, batch: SpanBatch) -> None:
        if self._writer is None:
            raise RuntimeError("clickhouse exporter used before start()")
        self._writer.write(batch.bodies, batch.rewrite, token=batch.dedup_token)

    def shutdown(self) -> None:
        self._writer = None


FACTORY = Factory(
    kind="exporter", type="clickhouse", config_model=ClickHouseExporterConfig, create=ClickHouseExporter
)
