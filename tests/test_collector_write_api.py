"""The collector's write API over real HTTP (uvicorn on loopback) and real chDB: hostile bodies get a 400
naming the field, a retried request is stored once, and the server keeps serving.

The whole loop through a collector subprocess is tests/test_control_plane_loop.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tracelock.collector import write_api
from tracelock.collector.serve_http import ServerThread
from tracelock.collector.write_api import WriteApi
from tracelock.errors import StoreError
from tracelock.store import Store
from tracelock.store.remote_store import WRITABLE_TABLES, WRITE_PATH, RemoteStore

TOKEN = "test-admin-token"
AUTH = {"authorization": f"Bearer {TOKEN}"}
GATE_ROWS = [
    {"CheckRunId": "run-1", "CaseId": "a", "Status": "passed", "Passes": 1, "Attempts": 1},
    {"CheckRunId": "run-1", "CaseId": "b", "Status": "regressed", "Passes": 0, "Attempts": 1},
]


@pytest.fixture
def store(module_store: Store) -> Store:
    """The module's database (conftest), emptied: each test starts with no rows."""
    for table in (*WRITABLE_TABLES, "write_requests"):
        module_store.command(f"TRUNCATE TABLE {table}")
    return module_store


@pytest.fixture(scope="module")
def server(module_store: Store) -> Iterator[str]:
    api = WriteApi(lambda: module_store, TOKEN)
    thread = ServerThread(Starlette(routes=api.routes()), "127.0.0.1:0", "write-api-test")
    thread.start()
    yield thread.url
    thread.stop()


def _post(url: str, table: str, body: Any, key: str | bytes | None = None) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers: dict[str, str | bytes] = dict(AUTH)
    if key is not None:
        headers["idempotency-key"] = key
    return httpx.post(f"{url}{WRITE_PATH}/{table}", content=content, headers=headers)


def _count(store: Store, table: str) -> int:
    return int(store.query(f"SELECT count() FROM {table}").scalar())


def test_a_retried_request_is_stored_once(server: str, store: Store) -> None:
    first = _post(server, "lock_results", {"rows": GATE_ROWS}, key="gate-1")
    again = _post(server, "lock_results", {"rows": GATE_ROWS}, key="gate-1")
    assert first.status_code == again.status_code == 200, first.text
    receipt = {"table": "lock_results", "rows": 2, "idempotency_key": "gate-1", "replayed": False}
    assert first.json() == receipt
    assert again.json()["replayed"] is True
    assert _count(store, "lock_results") == 2


def test_without_a_key_the_body_is_the_key(server: str, store: Store) -> None:
    for _ in range(2):
        assert _post(server, "lock_results", {"rows": GATE_ROWS}).status_code == 200
    assert _count(store, "lock_results") == 2


def test_a_key_reused_for_another_body_is_refused(server: str, store: Store) -> None:
    assert _post(server, "lock_results", {"rows": GATE_ROWS[:1]}, key="k").status_code == 200
    reused = _post(server, "lock_results", {"rows": GATE_ROWS}, key="k")
    assert reused.status_code == 409
    assert reused.json()["error"] == "Idempotency-Key 'k' was used for a different body"
    assert _count(store, "lock_results") == 1


def test_a_retry_after_a_crash_before_the_log_row_is_dropped_by_the_engine(server: str, store: Store) -> None:
    """The rows were inserted, then the collector died before logging the key: the retry finds no log
    row, inserts again, and ClickHouse drops the block (insert_deduplication_token)."""
    body = json.dumps({"rows": GATE_ROWS}).encode()
    columns = WriteApi(lambda: store, TOKEN)._columns(store, "lock_results", body)
    store.insert("lock_results", columns, settings={"insert_deduplication_token": "lock_results:crash"})
    retried = _post(server, "lock_results", body, key="crash")
    assert retried.status_code == 200 and retried.json()["replayed"] is False
    assert _count(store, "lock_results") == 2


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (b"{not json", None, "body is not JSON"),
        ({"rows": "x"}, "rows", 'body must be {"rows": [row, ...]}'),
        ({"rows": [], "sql": "DROP TABLE locks"}, "rows", 'body must be {"rows": [row, ...]}'),
        ({"rows": []}, "rows", "no rows in the body"),
        ({"rows": [{}]}, "rows[0]", "rows[0]: sets no column"),
        ({"rows": [{"Nope": 1}]}, "rows[0].Nope", "rows[0].Nope: Extra inputs are not permitted"),
        ({"rows": [{"CaseId": 5}]}, "rows[0].CaseId", "rows[0].CaseId: Input should be a valid string"),
        ({"rows": [{"Passes": -1}]}, "rows[0].Passes", "greater than or equal to 0"),
        ({"rows": [{"Passes": 2**32}]}, "rows[0].Passes", "less than or equal to 4294967295"),
        (b'{"rows": [{"Required": NaN}]}', "rows[0].Required", "finite number"),
        ({"rows": [{"CheckedAt": "yesterday"}]}, "rows[0].CheckedAt", "valid datetime"),
        ({"rows": [{"CaseId": None}]}, "rows[0].CaseId", "valid string"),
        (
            {"rows": [{"CaseId": "a"}, {"CaseId": "b", "Status": "x"}]},
            "rows[1]",
            "other columns than rows[0] (Status)",
        ),
        ({"rows": [{"CaseId": "a"}, "b"]}, "rows[1]", "rows[1]: Input should be a valid dictionary"),
    ],
)
def test_bad_bodies_are_refused_naming_the_field(
    server: str, store: Store, body: Any, field: str | None, message: str
) -> None:
    refused = _post(server, "lock_results", body)
    assert refused.status_code == 400, refused.text
    assert refused.json()["field"] == field
    assert message in refused.json()["error"]
    assert _count(store, "lock_results") == 0
    assert _post(server, "lock_results", {"rows": GATE_ROWS}).status_code == 200  # still serving


def test_errors_are_listed_up_to_five_with_a_count(server: str) -> None:
    refused = _post(server, "lock_results", {"rows": [{"Passes": "many"}] * 8})
    assert refused.json()["error"].count("Input should be a valid integer") == 5
    assert refused.json()["error"].endswith("(and 3 more)")


@pytest.mark.parametrize(
    ("headers", "status"), [({"authorization": ""}, 401), ({"authorization": "Bearer wrong"}, 401)]
)
def test_the_admin_token_is_required(server: str, store: Store, headers: dict[str, str], status: int) -> None:
    body = json.dumps({"rows": GATE_ROWS}).encode()
    refused = httpx.post(f"{server}{WRITE_PATH}/lock_results", content=body, headers=headers)
    assert refused.status_code == status
    assert _count(store, "lock_results") == 0


@pytest.mark.parametrize("table", ["otel_traces", "schema_migrations", "write_requests", "x; DROP"])
def test_only_the_loop_tables_are_writable(server: str, table: str) -> None:
    refused = _post(server, table, {"rows": [{"TraceId": "0" * 32}]})
    assert refused.status_code == 404
    writable = "writable: eval_records, feedback, lock_results, locks, seeds"
    assert f"{table!r} is not writable here; {writable}" in refused.json()["error"]


@pytest.mark.parametrize("key", ["a b", "", "k" * 129, "ключ".encode(), "k\\n"])
def test_a_malformed_idempotency_key_is_refused(server: str, key: str | bytes) -> None:
    refused = _post(server, "lock_results", {"rows": GATE_ROWS}, key=key)
    assert refused.status_code == 400
    assert refused.json()["field"] == "Idempotency-Key"


def test_size_caps(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(write_api, "MAX_ROWS", 1)
    assert _post(server, "lock_results", {"rows": GATE_ROWS}).status_code == 413
    monkeypatch.setattr(write_api, "MAX_BODY_BYTES", 100)
    too_big = _post(server, "lock_results", {"rows": [{"Details": "x" * 200}]})
    assert too_big.status_code == 413
    assert "exceeds the limit of 100 bytes" in too_big.json()["error"]


@pytest.mark.parametrize(
    ("table", "row"),
    [
        ("eval_records", {"EvalRunId": "r", "CaseId": "c", "Scores": {"exact": 1.0}, "Passed": 1}),
        ("feedback", {"FeedbackId": "f", "TraceId": "0" * 32, "Attributes": {"ticket": "7"}}),
        ("seeds", {"SeedId": "s", "Matched": {"feedback.complaint": "true"}}),
        ("locks", {"CaseId": "c", "FeedbackIds": ["f1", "f2"]}),
        ("lock_results", {"CaseId": "c", "Required": 0.5}),
    ],
)
def test_every_writable_table_takes_typed_rows(server: str, store: Store, table: str, row: dict) -> None:
    assert table in WRITABLE_TABLES
    written = _post(server, table, {"rows": [row]})
    assert written.status_code == 200, written.text
    stored = store.query(f"SELECT {', '.join(row)} FROM {table}").dicts()
    assert stored == [row]


def test_remote_store_insert_round_trips_python_values(server: str, store: Store) -> None:
    at = datetime(2026, 12, 1, 9, 30, 15, 123000, tzinfo=timezone.utc)
    remote = RemoteStore(server, TOKEN, store=store.description)
    columns = {"FeedbackId": ["f1"], "Timestamp": [at], "Kind": ["rating"], "Value": [4.0],
               "Attributes": [{"ticket": "T-7"}]}  # fmt: skip
    assert remote.insert("feedback", columns) == 1
    stored = store.query("SELECT FeedbackId, Timestamp, Kind, Value, Attributes FROM feedback").dicts()
    assert stored == [{k: v[0] for k, v in columns.items()}]
    assert remote.description == store.description
    with pytest.raises(StoreError) as refused:
        remote.command("ALTER TABLE feedback DELETE WHERE 1")
    assert "stop" not in str(refused.value)
    remote.close()
