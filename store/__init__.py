"""Stores: one small interface over embedded chDB and a ClickHouse server, used by everything else.

``open_store(settings)`` picks the implementation: a ClickHouse server when a URL is configured,
else embedded chDB in the data directory. Both run the same SQL from ``deploy/sql``.
"""

from tracelock.store.base import QueryResult, Store
from tracelock.store.factory import StoreSettings, open_store
from tracelock.store.schema import Migration, apply_migrations, load_migrations

__all__ = [
    "Migration",
    "QueryResult",
    "Store",
    "StoreSettings",
    "apply_migrations",
    "load_migrations",
    "open_store",
]
