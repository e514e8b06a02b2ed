"""Fixtures every test file may use. Helpers append small, clearly named fixtures below.

chDB embeds one server per process and serves one data directory at a time, so the in-process
``store`` fixture shares one directory for the whole session and isolates tests by database.
"""

from __future__ import annotations

import fcntl
import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tracelock import env
from tracelock.store import Store, apply_migrations
from tracelock.store.chdb_store import ChdbStore

SERVER_URL_ENV = env.TEST_CLICKHOUSE_URL


@pytest.fixture(autouse=True)
def _machine_share(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Tests marked ``exclusive`` measure throughput against the machine itself (3x measured capacity):
    under pytest-xdist they run while no other test does. Every other test holds a shared lock while it
    runs; an exclusive one takes the lock alone. A turnstile lock in front keeps new tests from starving
    a waiting exclusive one. The lock files live where every worker of the run keeps its temp files."""
    root = tmp_path_factory.getbasetemp().parent
    exclusive = request.node.get_closest_marker("exclusive") is not None
    with (
        open(root / "tracelock-tests.turnstile", "a") as turnstile,
        open(root / "tracelock-tests.gate", "a") as gate,
    ):
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        fcntl.flock(gate, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        if not exclusive:
            fcntl.flock(turnstile, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(gate, fcntl.LOCK_UN)
            if exclusive:
                fcntl.flock(turnstile, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def chdb_session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one chDB data directory in-process tests share (each test gets its own database)."""
    return tmp_path_factory.mktemp("chdb")


def _fresh_database() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


def chdb_client(path: str, **kwargs: Any) -> Any:
    """clickhouse-connect's in-process chDB client on ``path``, called as ClickHouseStore calls
    ``get_client`` (the server address and credentials mean nothing to chDB and are dropped)."""
    import clickhouse_connect

    for name in ("host", "port", "username", "password", "secure"):
        kwargs.pop(name, None)
    return clickhouse_connect.get_client(interface="chdb", path=path, **kwargs)


def open_test_store(kind: str, chdb_dir: Path, database: str) -> Store:
    """A store of ``kind`` on a fresh database: ``chdb`` (ChdbStore), ``clickhouse-chdb`` (the server
    store's code over clickhouse-connect's in-process chDB client, on the same directory) or
    ``clickhouse`` (a real server; skips when none is configured)."""
    if kind == "clickhouse-chdb":
        from tracelock.store.clickhouse_store import ClickHouseStore

        connect = functools.partial(chdb_client, str(chdb_dir))
        return ClickHouseStore("http://chdb-in-process", database, connect=connect)
    if kind == "clickhouse":
        url = os.environ.get(SERVER_URL_ENV)
        if not url:
            pytest.skip(f"ClickHouse server tests need {SERVER_URL_ENV} (no modern server on this machine)")
        from tracelock.store.clickhouse_store import ClickHouseStore

        return ClickHouseStore(url, database)
    return ChdbStore(chdb_dir, database)


@contextmanager
def _store_on_fresh_database(kind: str, chdb_dir: Path, *, migrate: bool) -> Iterator[Store]:
    database = _fresh_database()
    store = open_test_store(kind, chdb_dir, database)
    try:
        if migrate:
            apply_migrations(store)
        yield store
    finally:
        store.command(f"DROP DATABASE IF EXISTS {database}")
        store.close()


@pytest.fixture(params=["chdb", "clickhouse-chdb", "clickhouse"])
def any_store(request: pytest.FixtureRequest, chdb_session_dir: Path) -> Iterator[Store]:
    """A migrated store on a fresh database: chDB, the server store over in-process chDB, and a
    ClickHouse server (if set)."""
    with _store_on_fresh_database(request.param, chdb_session_dir, migrate=True) as store:
        yield store


@pytest.fixture
def store(chdb_session_dir: Path) -> Iterator[Store]:
    """A migrated chDB store on a fresh database."""
    with _store_on_fresh_database("chdb", chdb_session_dir, migrate=True) as store:
        yield store


@pytest.fixture
def bare_store(chdb_session_dir: Path) -> Iterator[Store]:
    """A chDB store on a fresh, empty database (no migrations applied)."""
    with _store_on_fresh_database("chdb", chdb_session_dir, migrate=False) as store:
        yield store


@pytest.fixture(scope="module")
def module_store(chdb_session_dir: Path) -> Iterator[Store]:
    """A migrated chDB store on a fresh database shared by one test module (migrations cost seconds)."""
    with _store_on_fresh_database("chdb", chdb_session_dir, migrate=True) as store:
        yield store


@pytest.fixture
def store_provider(store: Store) -> Iterator[Any]:
    """An OTel SDK TracerProvider whose spans land in ``store`` as the collector writes them."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from tracelock.demo.sink import StoreSpanExporter

    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(StoreSpanExporter(store)))
    yield tp
    tp.shutdown()
