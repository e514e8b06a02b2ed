"""Build the pipelines from a validated config; start downstream-first, stop upstream-first.

The shape is the OpenTelemetry Collector's::

    receiver ──> every pipeline listing it ──> its processors, in order, once per request
                                          └──> each of its exporters, behind that exporter's own
                                               sending queue (WAL, batching, retry: ``Pipeline``)

A request is acknowledged when every exporter queue of every pipeline its receiver feeds holds it
durably; one that refuses (full, shutting down) makes the receiver answer with a retryable refusal.
Receivers and exporters are created once per id; processors once per pipeline that lists them (as in
the OTel Collector: a ``batch`` in two pipelines is two batchers). Every component is created by its
factory with :class:`Settings`; a failure to create or start one names its kind and id.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tracelock.collector.component import Component, Exporter, Kind, Processor, Receiver, Settings, SpanBatch
from tracelock.collector.config import CollectorConfig, ComponentSpec
from tracelock.collector.exporterhelper import DeadLetters
from tracelock.collector.host import Host
from tracelock.collector.metrics import CollectorMetrics
from tracelock.collector.pipeline import Pipeline
from tracelock.collector.processors.batch.batch import BatchProcessor
from tracelock.collector.processors.batch.config import BatchConfig
from tracelock.collector.receivers.otlp.decode import count_and_check_spans, decode_protobuf
from tracelock.collector.registry import get_factory
from tracelock.collector.wal import WriteAheadLog
from tracelock.errors import TracelockError

__all__ = ["Graph", "wal_directory"]

log = logging.getLogger("tracelock.collector")


@contextmanager
def _named(kind: Kind, component_id: str, action: str) -> Iterator[None]:
    """Prefix an error escaping a component with its kind and id, keeping its type (and exit code)."""
    try:
        yield
    except Exception as exc:
        message = f"{kind} {component_id!r} {action}: {exc}"
        exc.args = (message,)
        if str(exc) != message:  # a type whose text is not its args (OSError): say it in a new error
            raise TracelockError(message) from exc
        raise


def _create(spec: ComponentSpec, metrics: CollectorMetrics) -> Component:
    factory = get_factory(spec.kind, spec.type)
    assert factory is not None  # checked by parse_config
    with _named(spec.kind, spec.id, "cannot be created"):
        return factory.create(Settings.create(spec.kind, spec.id, metrics), spec.config)


def _start(component: Component, kind: Kind, component_id: str, host: Host) -> None:
    with _named(kind, component_id, "failed to start"):
        component.start(host)


def _count_spans(payload: bytes) -> int:
    return count_and_check_spans(decode_protobuf(payload))


def wal_directory(base: Path, exporter_id: str) -> Path:
    """The WAL of one exporter: ``base`` for ``clickhouse`` (where every earlier version kept the one
    WAL, so an upgrade replays it), ``<base>-<type>-<name>`` beside it for the others."""
    return (
        base
        if exporter_id == "clickhouse"
        else base.with_name(f"{base.name}-{exporter_id.replace('/', '-')}")
    )


@dataclass
class _PipelineConsumer:
    """One named pipeline: its processors, then each exporter's queue."""

    name: str
    processors: Sequence[Processor]
    queues: Sequence[Pipeline]

    def wait_for_room(self, transport: str, deadline: float | None = None) -> None:
        for queue in self.queues:
            queue.wait_for_room(transport, deadline)

    def ingest(self, body: bytes, span_count: int, transport: str) -> None:
        batch = SpanBatch(bodies=(body,), span_count=span_count)
        for processor in self.processors:
            batch = processor.consume(batch)
        for queue in self.queues:
            queue.put(batch, transport)


@dataclass
class _FanOut:
    """What one receiver feeds: every pipeline that lists it."""

    pipelines: Sequence[_PipelineConsumer]
    metrics: CollectorMetrics

    def wait_for_room(self, transport: str, deadline: float | None = None) -> None:
        for pipeline in self.pipelines:
            pipeline.wait_for_room(transport, deadline)

    def ingest(self, body: bytes, span_count: int, transport: str) -> None:
        self.metrics.spans_received.labels(transport).inc(span_count)
        for pipeline in self.pipelines:
            pipeline.ingest(body, span_count, transport)


@dataclass
class Graph:
    config: CollectorConfig
    host: Host
    receivers: dict[str, Receiver] = field(default_factory=dict)
    #: pipeline name -> its processors, in order
    processors: dict[str, list[Processor]] = field(default_factory=dict)
    exporters: dict[str, Exporter] = field(default_factory=dict)
    #: exporter id -> its sending queue
    queues: dict[str, Pipeline] = field(default_factory=dict)
    replayed_spans: int = 0

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.shutdown(drain_timeout=5.0)
            raise
        log.info("pipelines %s started", ", ".join(self.config.service.pipelines))

    def _start(self) -> None:
        pipelines = self.config.service.pipelines
        metrics = self.host.metrics
        for spec in pipelines.values():  # downstream first: exporters, then processors, then receivers
            for exporter_id in spec.exporters:
                exporter = _create(self.config.exporters[exporter_id], metrics)
                assert isinstance(exporter, Exporter)
                self.exporters[exporter_id] = exporter
                _start(exporter, "exporter", exporter_id, self.host)
        for name, spec in pipelines.items():
            chain = self.processors[name] = []
            for proc_id in spec.processors:
                processor = _create(self.config.processors[proc_id], metrics)
                assert isinstance(processor, Processor)
                chain.append(processor)
                _start(processor, "processor", proc_id, self.host)
            batch = next((p.config for p in chain if isinstance(p, BatchProcessor)), BatchConfig())
            for exporter_id in spec.exporters:
                self._start_queue(exporter_id, chain, batch)
        feeds: dict[str, list[_PipelineConsumer]] = {}
        for name, spec in pipelines.items():
            consumer = _PipelineConsumer(
                name, self.processors[name], [self.queues[e] for e in spec.exporters]
            )
            for receiver_id in spec.receivers:
                feeds.setdefault(receiver_id, []).append(consumer)
        self.host.consumers = {rid: _FanOut(consumers, metrics) for rid, consumers in feeds.items()}
        self.host.queued_spans = self.queued_spans
        self.host.stalled = lambda: any(queue.stalled for queue in self.queues.values())
        for receiver_id in feeds:
            receiver = _create(self.config.receivers[receiver_id], metrics)
            assert isinstance(receiver, Receiver)
            self.receivers[receiver_id] = receiver
            _start(receiver, "receiver", receiver_id, self.host)

    def _start_queue(self, exporter_id: str, processors: list[Processor], batch: BatchConfig) -> None:
        """Open the exporter's WAL, replay what a previous run left, and start its writer."""
        exporter = self.exporters[exporter_id]
        wal_cfg = self.config.service.wal
        with _named("exporter", exporter_id, "failed to start"):
            wal = WriteAheadLog(
                wal_directory(wal_cfg.directory or self.host.state_dir / "wal", exporter_id),
                max_bytes=wal_cfg.max_mib << 20,
                segment_bytes=wal_cfg.segment_mib << 20,
                fsync=wal_cfg.fsync,
            )
            pending = wal.open()
            if not wal.previous_stop_was_clean:
                exporter.after_unclean_stop()
            queue = self.queues[exporter_id] = Pipeline(
                processors,
                exporter,
                batch,
                wal,
                self.host.metrics,
                dead_letters=DeadLetters(wal_directory(self.host.state_dir / "dead-letter", exporter_id)),
                resend_window=getattr(getattr(exporter, "config", None), "dedup_after_replay_s", 300.0),
            )
            queue.start()
            if pending:
                spans = queue.replay(pending, _count_spans)
                self.replayed_spans += spans
                log.warning(
                    "exporter %s: replaying %d WAL records (%d spans) from the previous run",
                    exporter_id,
                    len(pending),
                    spans,
                )

    def queued_spans(self) -> int:
        """Acknowledged spans not yet written, over every exporter."""
        return sum(queue.queued_spans for queue in self.queues.values())

    @property
    def written_spans(self) -> int:
        return sum(queue.written_spans for queue in self.queues.values())

    def shutdown(self, drain_timeout: float = 30.0) -> bool:
        """Stop receivers, write everything acknowledged, stop the rest. True when nothing is left."""
        for receiver in reversed(self.receivers.values()):
            receiver.shutdown()
        self.receivers.clear()
        self.host.consumers = {}
        drained = self._drain(drain_timeout)
        for chain in reversed(self.processors.values()):
            for processor in reversed(chain):
                processor.shutdown()
        self.processors.clear()
        for exporter in reversed(self.exporters.values()):
            exporter.shutdown()
        self.exporters.clear()
        for exporter_id, queue in self.queues.items():
            queue.wal.close(clean=drained[exporter_id])
        self.queues.clear()
        return all(drained.values())

    def _drain(self, timeout: float) -> dict[str, bool]:
        """Drain every exporter's queue at once, all within ``timeout``."""
        drained = dict.fromkeys(self.queues, False)

        def drain(exporter_id: str, queue: Pipeline, deadline: float) -> None:
            drained[exporter_id] = queue.drain(max(deadline - time.monotonic(), 0.0))

        deadline = time.monotonic() + timeout
        threads = [
            threading.Thread(target=drain, args=(eid, queue, deadline), name=f"drain-{eid}")
            for eid, queue in self.queues.items()
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return drained
