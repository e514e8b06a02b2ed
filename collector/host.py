"""What components get from the running collector: where data lives, its stores, metrics, and the
consumer each receiver feeds.

The Host is shared and read-mostly: no component changes what another one sees. The collector's own
store (``store``: the CLI's ``--data-dir`` / ``--clickhouse-url`` / ``--database``, used by feedback,
the admin endpoint and the seed sampler) never changes; an exporter that writes elsewhere asks for its
own with :meth:`Host.open_store`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from tracelock.collector.component import TracesConsumer
from tracelock.collector.metrics import CollectorMetrics
from tracelock.collector.processors.memory_limiter.gate import MemoryGate
from tracelock.errors import Overloaded
from tracelock.store import Store, StoreSettings, apply_migrations, open_store

__all__ = ["Host"]


class _NotRunning:
    """The consumer of a receiver no pipeline is connected to (yet): refuses, retryably."""

    def wait_for_room(self, transport: str, deadline: float | None = None) -> None:
        raise Overloaded("no pipeline is running", retry_after=5.0)

    def ingest(self, body: bytes, span_count: int, transport: str) -> None:
        raise Overloaded("no pipeline is running", retry_after=5.0)


@dataclass
class Host:
    """One per collector process. A store is opened once per (URL, database) and shared: one chDB
    directory, one owner; several databases in it are several sessions of that one owner."""

    store_settings: StoreSettings
    metrics: CollectorMetrics = field(default_factory=CollectorMetrics)
    ready: threading.Event = field(default_factory=threading.Event)
    #: receiver id -> the pipelines it feeds (set by the graph before receivers start)
    consumers: dict[str, TracesConsumer] = field(default_factory=dict)
    #: spans acknowledged and not yet written, over every exporter's queue (set by the graph)
    queued_spans: Callable[[], int] = field(default=lambda: 0)
    #: True while some exporter's writer makes no progress with spans waiting (set by the graph)
    stalled: Callable[[], bool] = field(default=lambda: False)
    #: room for a request's bytes under every memory_limiter, asked by receivers before decoding
    memory: MemoryGate = field(default_factory=MemoryGate)
    _stores: dict[StoreSettings, Store] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def data_dir(self) -> Path:
        return Path(self.store_settings.data_dir)

    @property
    def state_dir(self) -> Path:
        """The collector's own files (WAL, spool, admin address): ``<data-dir>/collector``."""
        return self.data_dir / "collector"

    def consumer(self, receiver_id: str) -> TracesConsumer:
        """What receiver ``receiver_id`` hands its requests to."""
        return self.consumers.get(receiver_id) or _NotRunning()

    def open_store(self, clickhouse_url: str | None = None, database: str | None = None) -> Store:
        """The migrated store at ``clickhouse_url`` / ``database`` (each defaulting to the collector's
        own), opened on first use and shared by every component that asks for the same one."""
        settings = self._settings(clickhouse_url, database)
        with self._lock:
            store = self._stores.get(settings)
            if store is None:
                store = open_store(settings)
                try:
                    apply_migrations(store)
                except BaseException:
                    store.close()
                    raise
                self._stores[settings] = store
            return store

    def open_session(self, clickhouse_url: str | None = None, database: str | None = None) -> Store:
        """Another session on the store :meth:`open_store` gives (migrated by it), for a component that
        runs statements in parallel (an exporter's writer threads: one chDB session serialises its
        calls). The caller closes it."""
        self.open_store(clickhouse_url, database)
        return open_store(self._settings(clickhouse_url, database))

    def _settings(self, clickhouse_url: str | None, database: str | None) -> StoreSettings:
        return replace(
            self.store_settings,
            clickhouse_url=clickhouse_url or self.store_settings.clickhouse_url,
            database=database or self.store_settings.database,
        )

    @property
    def store(self) -> Store:
        """The collector's own store (feedback, admin queries, the seed sampler)."""
        return self.open_store()

    def is_ready(self) -> bool:
        """Serving, and no exporter's writer is stalled with spans waiting: ``/readyz``."""
        return self.ready.is_set() and not self.stalled()

    def close_store(self) -> None:
        """Close every store opened through this host."""
        with self._lock:
            stores, self._stores = list(self._stores.values()), {}
        for store in stores:
            store.close()
