"""Build the pipeline from a validated config; start downstream-first, stop upstream-first."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from tracelock.collector.component import Component, Exporter, Processor, Receiver
from tracelock.collector.config import CollectorConfig, ComponentSpec
from tracelock.collector.host import Host
from tracelock.collector.pipeline import Pipeline
from tracelock.collector.processors.batch.batch import BatchProcessor
from tracelock.collector.processors.batch.config import BatchConfig
from tracelock.collector.receivers.otlp.decode import count_and_check_spans, decode_protobuf
from tracelock.collector.registry import get_factory
from tracelock.collector.wal import WriteAheadLog

__all__ = ["Graph"]

log = logging.getLogger("tracelock.collector")


def _create(spec: ComponentSpec) -> Component:
    factory = get_factory(spec.kind, spec.type)  # type: ignore[arg-type]
    assert factory is not None  # checked by parse_config
    return factory.create(spec.config)


def _count_spans(payload: bytes) -> int:
    return count_and_check_spans(decode_protobuf(payload))


@dataclass
class Graph:
    config: CollectorConfig
    host: Host
    receivers: list[Receiver] = field(default_factory=list)
    processors: list[Processor] = field(default_factory=list)
    exporter: Exporter | None = None
    pipeline: Pipeline | None = None
    wal: WriteAheadLog | None = None
    replayed_spans: int = 0

    def start(self) -> None:
        (name, spec), *_ = self.config.service.pipelines.items()
        try:
            self.exporter = _create(self.config.exporters[spec.exporters[0]])  # type: ignore[assignment]
            self.exporter.start(self.host)  # type: ignore[union-attr]
            batch = BatchConfig()
            for proc_id in spec.processors:
                processor = _create(self.config.processors[proc_id])
                processor.start(self.host)
                if isinstance(processor, BatchProcessor):
                    batch = processor.config
                self.processors.append(processor)  # type: ignore[arg-type]
            wal_cfg = self.config.service.wal
            self.wal = WriteAheadLog(
                wal_cfg.directory or self.host.state_dir / "wal",
                max_bytes=wal_cfg.max_mib << 20,
                segment_bytes=wal_cfg.segment_mib << 20,
                fsync=wal_cfg.fsync,
            )
            pending = self.wal.open()
            if not self.wal.previous_stop_was_clean:
                self.exporter.after_unclean_stop()  # type: ignore[union-attr]
            self.pipeline = Pipeline(self.processors, self.exporter, batch, self.wal, self.host.metrics)  # type: ignore[arg-type]
            self.host.pipeline = self.pipeline
            self.pipeline.start()
            if pending:
                self.replayed_spans = self.pipeline.replay(pending, _count_spans)
                log.warning(
                    "replaying %d WAL records (%d spans) from the previous run",
                    len(pending),
                    self.replayed_spans,
                )
            for rec_id in spec.receivers:
                receiver = _create(self.config.receivers[rec_id])
                receiver.start(self.host)
                self.receivers.append(receiver)  # type: ignore[arg-type]
        except BaseException:
            self.shutdown(drain_timeout=5.0)
            raise
        log.info("pipeline %s started", name)

    def shutdown(self, drain_timeout: float = 30.0) -> bool:
        """Stop receivers, write everything acknowledged, stop the rest. True when nothing is left."""
        for receiver in reversed(self.receivers):
            receiver.shutdown()
        self.receivers.clear()
        drained = True
        if self.pipeline is not None:
            drained = self.pipeline.drain(drain_timeout)
        for processor in reversed(self.processors):
            processor.shutdown()
        self.processors.clear()
        if self.exporter is not None:
            self.exporter.shutdown()
            self.exporter = None
        if self.wal is not None:
            self.wal.close(clean=drained)
            self.wal = None
        return drained
