"""The admin endpoint's engine guard on real chDB: read-only statements pass and run; writes, DDL, second
statements, table functions off the allowlist, ``file()`` and INTO OUTFILE are refused however they are
hidden (case, comments, quoted identifiers, dollar-quoted strings, literals that look like code), and the
session itself refuses writes and slow queries whatever reaches it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tracelock.collector.security.config import AdminConfig
from tracelock.collector.security.sql_guard import AdminQueryGuard, open_admin_session
from tracelock.errors import InputError, QueryError
from tracelock.store import Store, StoreSettings, apply_migrations
from tracelock.store.chdb_store import ChdbStore

ALLOWED = [
    "SELECT 1",
    "select count() from otel_traces;",
    "SELECT 'a;b; DROP TABLE x' AS s",
    "SELECT 'file(''/etc/passwd'')' AS s",
    "SELECT 'INTO OUTFILE' AS s",
    "SELECT $$#$$ AS s",
    "SELECT $$ -- ; DROP TABLE x $$ AS s",
    "SELECT 1 -- trailing comment; DROP TABLE x",
    "SELECT 1 /* nested /* comment */ ; still a comment */",
    "(SELECT 1)",
    "WITH 1 AS x SELECT x",
    "SELECT 1 UNION ALL SELECT 2",
    "SELECT 1 EXCEPT SELECT 2",
    "SHOW TABLES",
    "SHOW CREATE TABLE otel_traces",
    "DESCRIBE TABLE otel_traces",
    "EXISTS TABLE otel_traces",
    "EXPLAIN SELECT 1",
    'SELECT "SpanName" FROM otel_traces LIMIT 1',
    "SELECT count() FROM otel_traces WHERE SpanName = {name:String}",
    "SELECT profile FROM (SELECT 'x' AS profile)",
    "SELECT * FROM system.one",
]

REFUSED = {
    "DROP TABLE otel_traces": "got DropQuery",
    "INSERT INTO feedback (FeedbackId) VALUES ('x')": "got InsertQuery",
    "ALTER TABLE otel_traces DELETE WHERE 1": "got AlterQuery",
    "SYSTEM SHUTDOWN": "got SYSTEM",
    "SET readonly = 0": "got Set",
    "SELECT 1; DROP TABLE seeds": "Multi-statements are not allowed",
    "SELECT 1 /* c */ ; DROP TABLE seeds": "Multi-statements are not allowed",
    "SELECT 'x' ; TRUNCATE TABLE seeds ;": "Multi-statements are not allowed",
    "SELECT $$#$$; DROP TABLE feedback": "Multi-statements are not allowed",
    "SELECT $$--$$; DROP TABLE feedback": "Multi-statements are not allowed",
    "SELECT * FROM file('/etc/passwd', 'LineAsString')": "table function file()",
    "SELECT * FROM FiLe ('/etc/passwd', 'LineAsString')": "table function FiLe()",
    "SELECT * FROM \"file\"('/etc/passwd', 'LineAsString')": "table function file()",
    "SELECT * FROM `url`('http://169.254.169.254/', 'LineAsString')": "table function url()",
    "SELECT * FROM url/**/('http://127.0.0.1:1/', 'LineAsString')": "table function url()",
    "SELECT 1 -- it's\nFROM file('x')": "table function file()",
    "SELECT * FROM executable('id', 'TSV', 'x String')": "table function executable()",
    "SELECT * FROM remote('10.0.0.1', system.one)": "table function remote()",
    "SELECT * FROM s3('http://x/y.csv')": "table function s3()",
    "SELECT * FROM cosn('http://x/y.csv')": "table function cosn()",
    "SELECT * FROM filesystem('/')": "table function filesystem()",
    "SELECT * FROM numbers(10)": "table function numbers()",
    "SELECT * FROM (SELECT * FROM view(SELECT 1))": "table function view()",
    "SELECT 1 WHERE 1 IN (SELECT 1 FROM url('http://x/'))": "table function url()",
    "DESCRIBE TABLE file('/etc/hostname', 'LineAsString')": "table function file()",
    "SELECT file('/etc/hostname')": "function file()",
    "SELECT length(FILE('/etc/hostname'))": "function FILE()",
    "SELECT 1 INTO OUTFILE '/tmp/pwned'": "INTO OUTFILE",
    "SELECT 1 INTO /* x */ OUTFILE '/tmp/pwned'": "INTO OUTFILE",
    "SHOW TABLES INTO OUTFILE '/tmp/pwned'": "INTO OUTFILE",
    "EXPLAIN SELECT 1 INTO OUTFILE '/tmp/pwned'": "INTO OUTFILE",
    "SELECT 'a\\' INTO OUTFILE \\'/tmp/p' INTO OUTFILE '/tmp/q'": "INTO OUTFILE",
    "SELECT 'unterminated": "Syntax error",
    "SELECT 1 /* unterminated": "Syntax error",
    "   ": "Empty query",
    "-- only a comment": "Empty query",
}


@pytest.fixture(scope="module")
def writer(chdb_session_dir: Path) -> Iterator[Store]:
    """The collector's own (writable) session on a migrated database, shared by this module's tests."""
    store = ChdbStore(chdb_session_dir, f"t_{uuid.uuid4().hex[:12]}")
    apply_migrations(store)
    try:
        yield store
    finally:
        store.command(f"DROP DATABASE IF EXISTS {store.database}")
        store.close()


@pytest.fixture(scope="module")
def admin(writer: ChdbStore) -> Iterator[tuple[Store, AdminQueryGuard]]:
    settings = StoreSettings(data_dir=Path(writer.path), database=writer.database)
    session = open_admin_session(settings, AdminConfig(max_execution_time_s=1, max_result_rows=1000))
    try:
        yield session, AdminQueryGuard(session)
    finally:
        session.close()


def test_read_only_statements_pass_and_run(admin: tuple[Store, AdminQueryGuard]) -> None:
    session, guard = admin
    for sql in ALLOWED:
        params = {"name": "x"} if "{name:String}" in sql else None
        session.query(guard.check(sql, params), params)
    assert session.query(guard.check("SELECT $$#$$ AS s")).rows == [("#",)]


@pytest.mark.parametrize(("sql", "problem"), sorted(REFUSED.items()))
def test_writes_ddl_and_outside_access_are_refused_with_the_reason(
    admin: tuple[Store, AdminQueryGuard], sql: str, problem: str
) -> None:
    with pytest.raises((InputError, QueryError)) as info:
        admin[1].check(sql)
    assert problem in str(info.value)


def test_allowlisted_table_functions_run(admin: tuple[Store, AdminQueryGuard]) -> None:
    session, _ = admin
    guard = AdminQueryGuard(session, ("numbers",))
    assert len(session.query(guard.check("SELECT number FROM numbers(3)"))) == 3
    with pytest.raises(InputError, match=r"table function url\(\) \(allowed: numbers"):
        guard.check("SELECT * FROM url('http://x/')")


def test_the_session_refuses_writes_setting_changes_and_slow_or_large_queries(
    admin: tuple[Store, AdminQueryGuard], writer: Store
) -> None:
    """What the tree check might miss, the engine still stops: the session is readonly with limits."""
    session, _ = admin
    writes = ("DROP TABLE feedback", "INSERT INTO feedback (FeedbackId) VALUES ('x')", "SET readonly = 0")
    for statement in writes:
        with pytest.raises(QueryError, match="readonly"):
            session.command(statement)
    with pytest.raises(QueryError, match="readonly"):
        session.query("SELECT * FROM url('http://127.0.0.1:9/', 'LineAsString')")
    started = time.monotonic()
    with pytest.raises(QueryError, match="Timeout exceeded"):
        session.query("SELECT sleepEachRow(0.5) FROM system.numbers LIMIT 6")
    assert time.monotonic() - started < 2.5
    with pytest.raises(QueryError, match="Limit for result exceeded"):
        session.query("SELECT x FROM system.one ARRAY JOIN range(5000) AS x")
    assert writer.query("SELECT count() FROM feedback").scalar() == 0
    assert writer.query("SELECT toString(getSetting('readonly'))").scalar() == "0"  # the writer's session
