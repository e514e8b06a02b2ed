"""What every command shares: the global options and how to open the store they point at."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer

from tracelock.errors import DataDirLocked
from tracelock.store import Store, StoreSettings, apply_migrations, open_store

__all__ = ["AppContext", "get_context"]


@dataclass
class AppContext:
    settings: StoreSettings

    def open_store(self, *, migrate: bool = True) -> Store:
        """Open the configured store (a ClickHouse URL wins over the chDB data directory).

        With ``migrate`` the schema is brought up to date first (a no-op costing one query when it is
        current), so every command works on a fresh data directory without a separate ``init``.
        When a running collector holds the chDB directory, queries go through its admin endpoint
        (read-only; the collector has already migrated the schema).
        """
        try:
            store = open_store(self.settings)
        except DataDirLocked:
            from tracelock.store.remote_store import remote_store_for

            remote = remote_store_for(self.settings.data_dir, self.settings.database)
            if remote is None:
                raise
            return remote
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


def get_context(ctx: typer.Context) -> AppContext:
    obj = ctx.find_root().obj
    if not isinstance(obj, AppContext):  # called outside the CLI callback (tests calling commands)
        obj = AppContext(StoreSettings.from_env())
    return obj
