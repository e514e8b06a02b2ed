"""The admin endpoint of a real collector, attacked as a client holding its token would.

ClickHouse itself guards it: each statement is parsed by the engine (one SELECT/SHOW/DESCRIBE/EXPLAIN/
EXISTS, no table function off the allowlist, no file reached) and runs in its own session with
``readonly``, ``max_execution_time`` and result limits, so it never holds the writer's lock. Every route
but ``/healthz`` needs the token.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from collector_support import CollectorProcess, write_config

ADMIN_LIMITS = "  admin: {max_execution_time_s: 20}\n"


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorProcess]:
    workdir = tmp_path_factory.mktemp("admin")
    process = CollectorProcess(workdir, write_config(workdir / "collector.yaml", service_extra=ADMIN_LIMITS))
    process.start()
    try:
        yield process
    finally:
        process.close()


def _admin(collector: CollectorProcess) -> tuple[str, dict[str, str]]:
    doc = json.loads((collector.data_dir / "collector.json").read_text())
    return doc["admin_url"], {"authorization": f"Bearer {doc['token']}"}


def _query(collector: CollectorProcess, sql: str, params: dict[str, Any] | None = None) -> httpx.Response:
    url, headers = _admin(collector)
    body = json.dumps({"sql": sql, "params": params or {}})
    return httpx.post(f"{url}/admin/query", content=body, headers=headers, timeout=30)


def _tables(collector: CollectorProcess) -> set[str]:
    answer = _query(collector, "SHOW TABLES")
    assert answer.status_code == 200, answer.text
    return {row[0] for row in answer.json()["rows"]}


HOSTILE = {
    # the lexer guard took '#' inside $$...$$ for a comment and let the DROP through
    "SELECT $$#$$; DROP TABLE feedback": "Multi-statements are not allowed",
    "SELECT $$--$$; DROP TABLE feedback": "Multi-statements are not allowed",
    "SELECT $$#$$; INSERT INTO feedback (FeedbackId) VALUES ('pwned')": "Multi-statements",
    "SELECT $$#$$; ALTER TABLE feedback DELETE WHERE 1": "Multi-statements",
    "DROP TABLE feedback": "got DropQuery",
    "ALTER TABLE feedback DELETE WHERE 1": "got AlterQuery",
    "INSERT INTO feedback (FeedbackId) VALUES ('pwned')": "got InsertQuery",
    "SYSTEM SHUTDOWN": "SYSTEM",
    "SELECT 1 INTO OUTFILE '{tmp}/pwned'": "INTO OUTFILE",
    "SELECT 1 INTO OUTFILE '{tmp}/pwned' COMPRESSION 'gzip'": "INTO OUTFILE",
    "SELECT file('/proc/self/environ')": "function file()",
    "SELECT * FROM file('/proc/self/environ', 'LineAsString')": "table function file()",
    "SELECT * FROM url('http://127.0.0.1:9/', 'LineAsString')": "table function url()",
    "SELECT * FROM cosn('http://127.0.0.1:9/x', 'LineAsString')": "table function cosn()",
    "SELECT * FROM oss('http://127.0.0.1:9/x', 'LineAsString')": "table function oss()",
    "SELECT * FROM filesystem('/')": "table function filesystem()",
    "SELECT * FROM python('x')": "table function python()",
    "SELECT * FROM numbers(3)": "table function numbers()",
    "DESCRIBE TABLE file('/etc/hostname', 'LineAsString')": "table function file()",
    "WITH x AS (SELECT * FROM url('http://127.0.0.1:9/')) SELECT * FROM x": "table function url()",
    "SELECT 1 WHERE 1 IN (SELECT 1 FROM remote('127.0.0.1:9', system.one))": "table function remote()",
    "SELECT 1 SETTINGS readonly = 0": "readonly",
    "SELECT 1 SETTINGS max_execution_time = 3600": "readonly",
    "   ": "Empty query",
}


@pytest.mark.timeout(120)
def test_hostile_statements_are_refused_by_the_engine_and_change_nothing(
    collector: CollectorProcess, tmp_path: Path
) -> None:
    before = _tables(collector)
    assert "feedback" in before
    for template, problem in HOSTILE.items():
        sql = template.replace("{tmp}", str(tmp_path))
        answer = _query(collector, sql)
        assert answer.status_code == 400, (sql, answer.status_code, answer.text)
        assert problem in answer.json()["error"], (sql, answer.json())
    assert _tables(collector) == before
    count = _query(collector, "SELECT count() FROM feedback WHERE FeedbackId = 'pwned'")
    assert count.json()["rows"] == [[0]]
    assert not list(tmp_path.iterdir()), "a query wrote a file"


@pytest.mark.timeout(120)
def test_read_only_statements_still_answer(collector: CollectorProcess) -> None:
    for sql in [
        "SELECT 1",
        "select count() from otel_traces;",
        "SELECT 'a;b; DROP TABLE x' AS s",
        "SELECT $$#$$ AS s",
        "SELECT 1 -- trailing comment; DROP TABLE x",
        "SELECT 1 /* nested /* comment */ ; still a comment */",
        "(SELECT 1)",
        "WITH 1 AS x SELECT x",
        "SHOW TABLES",
        "DESCRIBE TABLE otel_traces",
        "EXISTS TABLE otel_traces",
        "EXPLAIN SELECT 1",
        "SELECT count() FROM otel_traces WHERE SpanName = {name:String}",
        "SELECT name FROM system.tables WHERE database = currentDatabase() LIMIT 1",
    ]:
        answer = _query(collector, sql, {"name": "x"})
        assert answer.status_code == 200, (sql, answer.text)
    assert _query(collector, "SELECT $$#$$ AS s").json()["rows"] == [["#"]]


# 7.5 s: three scalar subqueries run one after the other (sleepEachRow sleeps at most 3 s per block)
SLOW_QUERY = "SELECT " + " + ".join(
    f"(SELECT sum(s) FROM (SELECT sleepEachRow(0.5) AS s FROM system.numbers LIMIT {n}))" for n in (6, 5, 4)
)


def _spans_written(collector: CollectorProcess) -> float:
    text = httpx.get(collector.http + "/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith("tracelock_collector_spans_written_total"):
            return float(line.split()[-1])
    return 0.0


def _export_one_span(collector: CollectorProcess) -> None:
    span = {
        "traceId": "ab" * 16,
        "spanId": "cd" * 8,
        "name": "during-admin-query",
        "startTimeUnixNano": "1",
        "endTimeUnixNano": "2",
    }
    body = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    answer = httpx.post(collector.http + "/v1/traces", json=body, timeout=10)
    assert answer.status_code == 200, answer.text


@pytest.mark.timeout(120)
def test_a_slow_admin_query_does_not_stall_the_writer(collector: CollectorProcess) -> None:
    """A 7.5 s admin query runs in its own session: a span exported meanwhile is written before it ends."""
    before = _spans_written(collector)
    done: list[httpx.Response] = []
    slow = threading.Thread(
        target=lambda: done.append(_query(collector, SLOW_QUERY)),
    )
    slow.start()
    time.sleep(0.3)
    _export_one_span(collector)
    while _spans_written(collector) <= before and slow.is_alive():
        time.sleep(0.05)
    written_while_querying = slow.is_alive()
    slow.join(30)
    assert done and done[0].status_code == 200, done and done[0].text
    assert written_while_querying, "the span was only written after the admin query finished"


@pytest.mark.timeout(60)
def test_admin_session_runs_with_the_configured_engine_limits(collector: CollectorProcess) -> None:
    answer = _query(
        collector,
        "SELECT getSetting('readonly'), getSetting('max_execution_time'), getSetting('max_result_rows')",
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["rows"] == [[1, 20, 1_000_000]]


@pytest.mark.timeout(60)
def test_every_admin_route_but_healthz_needs_the_token(collector: CollectorProcess) -> None:
    url, headers = _admin(collector)
    feedback = {"trace_id": "ab" * 16, "kind": "complaint"}
    for wrong in ({}, {"authorization": "Bearer wrong"}, {"authorization": headers["authorization"][:-1]}):
        assert httpx.get(f"{url}/metrics", headers=wrong).status_code == 401
        assert httpx.post(f"{url}/v1/feedback", json=feedback, headers=wrong).status_code == 401
        assert httpx.post(f"{url}/admin/query", json={"sql": "SELECT 1"}, headers=wrong).status_code == 401
    assert httpx.get(f"{url}/healthz").status_code == 200
    assert httpx.get(f"{url}/metrics", headers=headers).status_code == 200
    assert httpx.post(f"{url}/v1/feedback", json=feedback, headers=headers).status_code == 200
