"""The contract every collector component follows, written once here.

Data flows receiver -> processors -> exporter as :class:`SpanBatch` objects. A batch carries the
serialized OTLP requests themselves, not Python span objects: the ClickHouse writer hands the bytes to
ClickHouse, which parses and flattens them (see ``deploy/sql/writer/insert_spans.sql``). Processors
therefore work in one of two ways:

- declaratively, by changing ``batch.rewrite`` (attribute renames, value limits, origin stamping) that
  the writer executes inside ClickHouse - the normalise processor does this, at no per-span cost;
- or by looking at spans through ``batch.request()`` (a parsed ExportTraceServiceRequest) and returning
  a batch built with :meth:`SpanBatch.from_request` - for processors that must see values (a sampler).

Every component is made by its :class:`Factory` from :class:`Settings` (its id, a logger named after
it, the collector's one metrics registry) and its validated config: ``factory.create(settings, config)``.

Lifecycle (every component): ``start(host)`` once before data flows, ``shutdown()`` once after; shutdown
without start must work, and start -> shutdown -> start again must work. ``consume`` may be called from
several threads at once and must not block on the network longer than its own timeout. Receivers hand
what they accept to ``host.consumer(settings.id)``: the pipelines that list them (a
:class:`TracesConsumer`).

Failures: raise :class:`~tracelock.errors.InputError` for bad data (permanent, 400/INVALID_ARGUMENT),
:class:`~tracelock.errors.Overloaded` when full (retryable, 429/RESOURCE_EXHAUSTED), anything else is
classified by the exporter helper (``collector/exporterhelper``): a permanent store error quarantines
the requests that cause it, a retryable one is retried (the batch stays in the WAL meanwhile).
"""

from __future__ import annotations

import builtins
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from pydantic import BaseModel

from tracelock.collector.metrics import CollectorMetrics

if TYPE_CHECKING:
    from tracelock.collector.host import Host

__all__ = [
    "AttributeRewrite",
    "Component",
    "Exporter",
    "Factory",
    "Kind",
    "Processor",
    "Receiver",
    "Settings",
    "SpanBatch",
    "TracesConsumer",
]

Kind = Literal["receiver", "processor", "exporter"]
ConfigT = TypeVar("ConfigT", bound=BaseModel)


@dataclass(frozen=True)
class AttributeRewrite:
    """What ClickHouse does to attributes while it parses a batch: the normalise step, as data.

    ``aliases`` maps a non-canonical attribute name to its canonical key in priority order: the alias
    stays and its value is copied to the canonical key; the canonical key present on a span always wins,
    then the first alias listed. ``max_value_chars`` truncates every attribute value (the span names
    them in ``tracelock.truncated``); ``stamp_origin`` sets ``tracelock.origin`` (resource value, else
    ``eval`` when a ``tracelock.eval.*`` key is present, else ``live``) on spans that lack it.
    ``prices`` is (model or model prefix, USD per input token, USD per output token), longest first:
    spans with tokens and no ``tracelock.cost.usd`` get the cost from it.
    """

    aliases: Mapping[str, str] = field(default_factory=dict)
    max_value_chars: int = 65536
    stamp_origin: bool = True
    prices: tuple[tuple[str, float, float], ...] = ()


@dataclass(frozen=True)
class SpanBatch:
    """Spans in flight: serialized ExportTraceServiceRequests plus what to do with them.

    ``bodies`` are protobuf bytes, each a valid request; their concatenation is one valid request.
    ``wal_seqs`` are the write-ahead-log records the batch came from (empty outside the collector).
    While queued in a pipeline, requests (this run's and those replayed from an earlier run) carry no
    ``bodies``, only ``wal_seqs``: the writer reads the bytes back from the log (``WriteAheadLog.read``)
    when it takes the batch. A replayed batch reaches the processors without bodies: its records already
    hold what they produced.
    ``replay`` is True when the batch comes from the WAL of an earlier run or is a retry.
    ``dedup_token`` identifies the batch's insert: an exporter passes it to the store so that writing
    the same batch again (a retry, a replay after a crash) stores it once (ClickHouse
    ``insert_deduplication_token``). Batches with a token are never merged.
    """

    bodies: tuple[bytes, ...]
    span_count: int
    rewrite: AttributeRewrite = field(default_factory=AttributeRewrite)
    wal_seqs: tuple[int, ...] = ()
    replay: bool = False
    dedup_token: str = ""

    @classmethod
    def from_request(cls, request: ExportTraceServiceRequest, **kwargs: Any) -> SpanBatch:
        count = sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
        return cls(bodies=(request.SerializeToString(),), span_count=count, **kwargs)

    def request(self) -> ExportTraceServiceRequest:
        """All spans of the batch as one parsed request (costs a parse; the hot path never calls it)."""
        return ExportTraceServiceRequest.FromString(b"".join(self.bodies))

    def with_request(self, request: ExportTraceServiceRequest) -> SpanBatch:
        """This batch (same WAL records, rewrite, replay flag) with its spans replaced by ``request``."""
        fresh = SpanBatch.from_request(request)
        return replace(self, bodies=fresh.bodies, span_count=fresh.span_count)

    @staticmethod
    def merge(batches: Sequence[SpanBatch]) -> SpanBatch:
        """One batch from several that share a rewrite (the batch processor's job)."""
        first = batches[0]
        return SpanBatch(
            bodies=tuple(b for batch in batches for b in batch.bodies),
            span_count=sum(b.span_count for b in batches),
            rewrite=first.rewrite,
            wal_seqs=tuple(s for batch in batches for s in batch.wal_seqs),
            replay=any(b.replay for b in batches),
            dedup_token=first.dedup_token if len(batches) == 1 else "",  # a merged batch is a new insert
        )


@dataclass(frozen=True)
class Settings:
    """What every component is created with, besides its config (the OTel Collector's ``Settings``).

    ``id`` is the config key (``clickhouse/mirror``); ``logger`` is ``tracelock.collector.<kind>.<id>``;
    ``metrics`` is the collector's one registry: components get or create their instruments there
    (``metrics.counter(...)``), labelled by id when several instances may exist.
    """

    id: str
    kind: Kind
    metrics: CollectorMetrics
    logger: logging.Logger

    @classmethod
    def create(cls, kind: Kind, component_id: str, metrics: CollectorMetrics | None = None) -> Settings:
        return cls(
            id=component_id,
            kind=kind,
            metrics=metrics if metrics is not None else CollectorMetrics(),
            logger=logging.getLogger(f"tracelock.collector.{kind}.{component_id}"),
        )

    @property
    def type(self) -> str:
        """The component type: the id's part before ``/``."""
        return self.id.split("/", 1)[0]


class TracesConsumer(Protocol):
    """Where a receiver hands a request: returns once the spans are durable (the acknowledgement).

    ``wait_for_room`` is called before decoding, so a full queue refuses a request unread
    (:class:`~tracelock.errors.Overloaded`); ``deadline`` is the client's remaining time, if it sent one.
    """

    def wait_for_room(self, transport: str, deadline: float | None = None) -> None: ...

    def ingest(self, body: bytes, span_count: int, transport: str) -> None: ...


class Component(ABC):  # noqa: B024 - both lifecycle hooks are optional
    """Lifecycle shared by receivers, processors and exporters."""

    def start(self, host: Host) -> None:  # noqa: B027 - optional hook
        """Acquire resources (sockets, stores, threads). Called downstream-first by the graph."""

    def shutdown(self) -> None:  # noqa: B027 - optional hook
        """Release resources; idempotent. Called upstream-first by the graph."""


class Processor(Component):
    """Transforms a batch synchronously; returns the batch to pass on (possibly with fewer spans)."""

    @abstractmethod
    def consume(self, batch: SpanBatch) -> SpanBatch: ...


class Exporter(Component):
    """Makes a batch durable in storage. Returns only when written; raises when not (retried).

    ``consumers``: how many batches it can write at once (OTel's ``sending_queue.num_consumers``): the
    exporter helper runs that many writer threads on its queue, so ``consume`` must be thread-safe
    when it is more than 1.
    """

    consumers: int = 1

    @abstractmethod
    def consume(self, batch: SpanBatch) -> None: ...

    def after_unclean_stop(self) -> None:
        """The previous run stopped without draining: clients may resend requests it acknowledged
        but could not answer. Exporters that can deduplicate should do so for a while."""


class Receiver(Component):
    """Accepts data from the network and passes it to ``host.consumer(id)`` (which answers ack or refusal)."""

    def addresses(self) -> dict[str, str]:
        """Where it listens, by protocol (``{"grpc": "127.0.0.1:4317"}``), once started."""
        return {}


@dataclass(frozen=True)
class Factory(Generic[ConfigT]):
    """Builds one component type: ``create(settings, config)`` gets a validated ``config_model``."""

    kind: Kind
    type: str
    config_model: builtins.type[ConfigT]  # (``type`` is the field above in this scope)
    create: Callable[[Settings, ConfigT], Component]

    def default_config(self) -> ConfigT:
        return self.config_model()
