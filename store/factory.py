"""Pick and open a store from settings (CLI flags / environment)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tracelock import env
from tracelock.store.base import Store, check_identifier

__all__ = ["DEFAULT_DATA_DIR", "StoreSettings", "open_store"]

DEFAULT_DATA_DIR = "./tracelock-data"


@dataclass(frozen=True)
class StoreSettings:
    """Where the data lives. A ClickHouse URL, when set, wins over the chDB data directory."""

    data_dir: Path = Path(DEFAULT_DATA_DIR)
    clickhouse_url: str | None = None
    database: str = "tracelock"

    @classmethod
    def from_env(cls) -> StoreSettings:
        return cls(
            data_dir=Path(os.environ.get(env.DATA_DIR, DEFAULT_DATA_DIR)),
            clickhouse_url=os.environ.get(env.CLICKHOUSE_URL) or None,
            database=os.environ.get(env.DATABASE, "tracelock"),
        )

    def __post_init__(self) -> None:
        check_identifier(self.database, "database")


def open_store(settings: StoreSettings) -> Store:
    """Open the configured store. Raises DataDirLocked / StoreUnavailable with a one-line reason."""
    if settings.clickhouse_url:
        from tracelock.store.clickhouse_store import ClickHouseStore

        return ClickHouseStore(settings.clickhouse_url, settings.database)
    from tracelock.store.chdb_store import ChdbStore

    return ChdbStore(settings.data_dir, settings.database)
