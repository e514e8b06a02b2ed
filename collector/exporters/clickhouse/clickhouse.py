"""The ClickHouse exporter: columnar batch inserts of spans into ``otel_traces`` (chDB or server)."""

from __future__ import annotations

import time

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
        self._dedup_until = 0.0

    def start(self, host: Host) -> None:
        store = host.open_store(self.config.endpoint, self.config.database)
        self._writer = SpanWriter(store)
        self._dedup_until = 0.0

    def after_unclean_stop(self) -> None:
        self._dedup_until = time.monotonic() + self.config.dedup_after_replay_s

    def consume(self, batch: SpanBatch) -> None:
        if self._writer is None:
            raise RuntimeError("clickhouse exporter used before start()")
        dedup = None
        now = time.monotonic()
        if batch.replay:  # a crash came before: clients may now retry requests it acknowledged silently
            self._dedup_until = now + self.config.dedup_after_replay_s
        if batch.replay or now < self._dedup_until:
            request = batch.request()
            dedup = {
                span.trace_id.hex()
                for rs in request.resource_spans
                for ss in rs.scope_spans
                for span in ss.spans
            }
        self._writer.write(batch.bodies, batch.rewrite, dedup_trace_ids=dedup)

    def shutdown(self) -> None:
        self._writer = None


FACTORY = Factory(
    kind="exporter", type="clickhouse", config_model=ClickHouseExporterConfig, create=ClickHouseExporter
)
