"""What every command shares: the global options and how to open the store they point at."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from tracelock.store import Store, StoreSettings, apply_migrations, open_store

__all__ = ["AppContext", "get_context"]


@dataclass
class AppContext:
    settings: StoreSettings

    def open_store(self, *, migrate: bool = True) -> Store:
        """Open the configured store (a ClickHouse URL wins over the chDB data directory).

        While a collector owns the chDB directory, the store is the collector (reads and the loop's
        writes go through its admin endpoint; it has migrated the schema), and chDB is never loaded:
        that is what keeps such a command fast. Otherwise, with ``migrate`` the schema is brought up to
        date first (a no-op costing one query when current), so every command works on a fresh
        directory without a separate ``init``.
        """
        if not self.settings.clickhouse_url:
            from tracelock.store.remote_store import remote_store_for

            remote = remote_store_for(self.settings.data_dir, self.settings.database)
            if remote is not None:
                return remote
        store = open_store(self.settings)
        if migrate:
            try:
                apply_migrations(store)
            except BaseException:
                store.close()
                raise
        return store

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir


def get_context(ctx: click.Context) -> AppContext:
    obj = ctx.find_root().obj
    if not isinstance(obj, AppContext):  # called outside the CLI callback (tests calling commands)
        obj = AppContext(StoreSettings.from_env())
    return obj
