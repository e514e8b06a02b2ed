"""The admin endpoint's statement guard: read-only statements pass and really run on chDB; writes, DDL,
second statements, file/URL/program table functions and INTO OUTFILE are refused, however they are hidden
(case, comments, quoted identifiers, literals that look like code)."""

from __future__ import annotations

import pytest

from tracelock.collector.security.sql_guard import check_read_only_sql
from tracelock.errors import InputError
from tracelock.store import Store

ALLOWED = [
    "SELECT 1",
    "select count() from otel_traces;",
    "SELECT 'a;b; DROP TABLE x' AS s",
    "SELECT 'file(''/etc/passwd'')' AS s",
    "SELECT 'INTO OUTFILE' AS s",
    "SELECT 1 -- trailing comment; DROP TABLE x",
    "SELECT 1 /* nested /* comment */ ; still a comment */",
    "(SELECT 1)",
    "WITH 1 AS x SELECT x",
    "SHOW TABLES",
    "DESCRIBE TABLE otel_traces",
    "EXISTS TABLE otel_traces",
    "EXPLAIN SELECT 1",
    'SELECT "SpanName" FROM otel_traces LIMIT 1',
    "SELECT count() FROM otel_traces WHERE SpanName = {name:String}",
    "SELECT profile FROM (SELECT 'x' AS profile)",
]

REFUSED = {
    "DROP TABLE otel_traces": "got DROP",
    "INSERT INTO feedback (FeedbackId) VALUES ('x')": "got INSERT",
    "ALTER TABLE otel_traces DELETE WHERE 1": "got ALTER",
    "SYSTEM SHUTDOWN": "got SYSTEM",
    "SELECT 1; DROP TABLE seeds": "one statement",
    "SELECT 1 /* c */ ; DROP TABLE seeds": "one statement",
    "SELECT 'x' ; TRUNCATE TABLE seeds ;": "one statement",
    "SELECT * FROM file('/etc/passwd', 'LineAsString')": "table function file()",
    "SELECT * FROM FiLe ('/etc/passwd', 'LineAsString')": "table function FiLe()",
    "SELECT * FROM \"file\"('/etc/passwd', 'LineAsString')": "table function file()",
    "SELECT * FROM `url`('http://169.254.169.254/', 'LineAsString')": "table function url()",
    "SELECT * FROM url/**/('http://127.0.0.1:1/', 'LineAsString')": "table function url()",
    "SELECT 1 -- it's\nFROM file('x')": "table function file()",
    "SELECT * FROM executable('id', 'TSV', 'x String')": "table function executable()",
    "SELECT * FROM remote('10.0.0.1', system.one)": "table function remote()",
    "SELECT * FROM s3('http://x/y.csv')": "table function s3()",
    "DESCRIBE TABLE file('/etc/hostname', 'LineAsString')": "table function file()",
    "SELECT 1 INTO OUTFILE '/tmp/pwned'": "INTO OUTFILE",
    "SELECT 1 INTO /* x */ OUTFILE '/tmp/pwned'": "INTO OUTFILE",
    "SELECT 'a\\' INTO OUTFILE \\'/tmp/p' INTO OUTFILE '/tmp/q'": "INTO OUTFILE",
    "SELECT 'unterminated": "unterminated string literal",
    "SELECT 1 /* unterminated": "unterminated /* comment */",
    "   ": "empty",
    "-- only a comment": "got (nothing)",
}


def test_read_only_statements_pass_and_run(store: Store) -> None:
    for sql in ALLOWED:
        checked = check_read_only_sql(sql)
        store.query(checked, {"name": "x"} if "{name:String}" in sql else None)


@pytest.mark.parametrize(("sql", "problem"), sorted(REFUSED.items()))
def test_writes_ddl_and_outside_access_are_refused_with_the_reason(sql: str, problem: str) -> None:
    with pytest.raises(InputError) as info:
        check_read_only_sql(sql)
    assert problem in str(info.value)
