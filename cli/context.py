"""What every command shares: the global options and how to open the store they point at."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer

from tracelock.store import Store, StoreSettings, open_store

__all__ = ["AppContext", "get_context"]


@dataclass
class AppContext:
    settings: StoreSettings

    def open_store(self) -> Store:
        """Open the configured store (a ClickHouse URL wins over the chDB data directory)."""
        return open_store(self.settings)

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir


def get_context(ctx: typer.Context) -> AppContext:
    obj = ctx.find_root().obj
    if not isinstance(obj, AppContext):  # called outside the CLI callback (tests calling commands)
        obj = AppContext(StoreSettings.from_env())
    return obj
