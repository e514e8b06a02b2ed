"""What components get from the running collector: where data lives, the shared store, metrics, ingest."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from tracelock.collector.metrics import CollectorMetrics
from tracelock.store import Store, StoreSettings, apply_migrations, open_store

if TYPE_CHECKING:
    from tracelock.collector.pipeline import Pipeline

__all__ = ["Host"]


@dataclass
class Host:
    """One per collector process. The store is opened once and shared (one chDB directory, one owner)."""

    store_settings: StoreSettings
    metrics: CollectorMetrics = field(default_factory=CollectorMetrics)
    pipeline: Pipeline | None = None
    ready: threading.Event = field(default_factory=threading.Event)
    _store: Store | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def data_dir(self) -> Path:
        return Path(self.store_settings.data_dir)

    @property
    def state_dir(self) -> Path:
        """The collector's own files (WAL, spool, admin address): ``<data-dir>/collector``."""
        return self.data_dir / "collector"

    def open_store(self, clickhouse_url: str | None = None, database: str | None = None) -> Store:
        with self._lock:
            if self._store is None:
                settings = self.store_settings
                if clickhouse_url or database:
                    settings = replace(
                        settings,
                        clickhouse_url=clickhouse_url or settings.clickhouse_url,
                        database=database or settings.database,
                    )
                    self.store_settings = settings
                store = open_store(settings)
                try:
                    apply_migrations(store)
                except BaseException:
                    store.close()
                    raise
                self._store = store
            return self._store

    @property
    def store(self) -> Store:
        return self.open_store()

    def ingest(self, body: bytes, span_count: int, transport: str) -> None:
        """Receivers call this; returns when the spans are durable (see Pipeline.ingest)."""
        if self.pipeline is None:
            raise RuntimeError("no pipeline is running")
        self.pipeline.ingest(body, span_count, transport)

    def wait_for_room(self, transport: str, deadline: float | None = None) -> None:
        """Receivers call this before decoding: refuse (Overloaded) while the queue stays full."""
        if self.pipeline is not None:
            self.pipeline.wait_for_room(transport, deadline)

    def close_store(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
