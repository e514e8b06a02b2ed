"""The board's writes (lock, feedback) and its guards: CSRF, same origin, body shape, bearer auth."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tracelock.board.app import BoardOptions, create_app
from tracelock.collector.security.auth import BearerTokens
from tracelock.lock.files import load_lock_dir, validate_lock_dir
from tracelock.store import Store

sys.path.insert(0, str(Path(__file__).parent))
from board_support import fill, seed_id_of, trace_id

CSRF = "test-csrf-token"


@pytest.fixture
def board(store: Store, tmp_path: Path) -> Iterator[tuple[TestClient, Path, Store]]:
    fill(store)
    locks = tmp_path / "locks"
    options = BoardOptions(locks_dir=locks, allowed_hosts=("testserver",), csrf_token=CSRF)
    with TestClient(create_app(store, options)) as client:
        yield client, locks, store


def test_lock_from_a_seed_writes_a_valid_case_shown_on_the_locks_page(
    board: tuple[TestClient, Path, Store],
) -> None:
    client, locks, store = board
    seed = seed_id_of(store)
    response = client.post(
        "/actions/lock", data={"csrf": CSRF, "seed_id": seed, "dataset": "refunds"}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith("/locks?dataset=refunds&added=complaint-linked-trace-")
    files, problems = validate_lock_dir(sorted(locks.glob("*.yaml")))
    assert not problems
    (case,) = files[0].cases
    assert case.provenance.seed_id == seed and case.provenance.source_trace_id == trace_id(44)
    assert case.provenance.feedback_ids == ("f44-complaint",)
    assert (
        store.query(
            "SELECT count() FROM locks FINAL WHERE SourceTraceId = {t:String}", {"t": trace_id(44)}
        ).scalar()
        == 1
    )
    page = client.get(response.headers["location"]).text
    assert f'id="case-{case.id}"' in page and f"/trace/{trace_id(44)}" in page
    again = client.post("/actions/lock", data={"csrf": CSRF, "seed_id": seed, "dataset": "refunds"})
    assert again.status_code == 400 and "already exists" in again.text  # lock add's own refusal
    assert len(load_lock_dir(locks)[0].cases) == 1


def test_lock_a_trace_by_json(board: tuple[TestClient, Path, Store]) -> None:
    client, locks, _ = board
    response = client.post(
        "/actions/lock",
        json={"trace_id": trace_id(8), "dataset": "refunds", "expect": ["contains:refund"]},
        headers={"x-csrf-token": CSRF},
    )
    assert response.status_code == 200, response.text
    assert response.json()["dataset"] == "refunds" and response.json()["source_trace_id"] == trace_id(8)
    assert [a.type for a in load_lock_dir(locks)[0].cases[0].expect] == ["contains"]


@pytest.mark.parametrize(
    ("kwargs", "status", "message"),
    [
        ({"data": {"trace_id": "0" * 32}}, 403, "CSRF token"),
        ({"data": {"csrf": "wrong", "trace_id": "0" * 32}}, 403, "CSRF token"),
        (
            {"data": {"csrf": CSRF, "trace_id": "0" * 32}, "headers": {"origin": "http://evil.example"}},
            403,
            "cross-origin",
        ),
        (
            {"data": {"csrf": CSRF, "trace_id": "0" * 32}, "headers": {"sec-fetch-site": "cross-site"}},
            403,
            "cross-site",
        ),
        (
            {"content": b"{not json", "headers": {"content-type": "application/json", "x-csrf-token": CSRF}},
            400,
            "malformed JSON",
        ),
        ({"json": ["a list"], "headers": {"x-csrf-token": CSRF}}, 400, "must be an object"),
        (
            {"json": {"trace_id": "0" * 32, "sql": "DROP"}, "headers": {"x-csrf-token": CSRF}},
            400,
            "sql: Extra inputs",
        ),
        ({"data": {"csrf": CSRF, "trace_id": "<script>"}}, 400, "is not 32 hex digits"),
        ({"data": {"csrf": CSRF, "seed_id": "abc", "trace_id": "0" * 32}}, 400, "exactly one of"),
        (
            {"data": {"csrf": CSRF, "trace_id": trace_id(8), "dataset": "../../etc/passwd"}},
            400,
            "invalid dataset name",
        ),
        ({"data": {"csrf": CSRF, "trace_id": trace_id(8), "expect": "regex:("}}, 400, "regex"),
        (
            {"content": b"x" * 70_000, "headers": {"content-type": "application/x-www-form-urlencoded"}},
            400,
            "larger than",
        ),
        (
            {"content": b"<xml/>", "headers": {"content-type": "text/xml", "x-csrf-token": CSRF}},
            400,
            "unsupported content type",
        ),
    ],
)
def test_bad_writes_are_refused_and_write_nothing(
    board: tuple[TestClient, Path, Store], kwargs: dict, status: int, message: str
) -> None:
    client, locks, _ = board
    response = client.post("/actions/lock", **kwargs)
    assert response.status_code == status, response.text[:300]
    assert message in response.text
    assert "<script>" not in response.text.replace('<script src="/static/board.js" defer>', "")
    assert not list(locks.glob("*.yaml"))


def test_feedback_on_a_trace_is_stored(board: tuple[TestClient, Path, Store]) -> None:
    client, _, store = board
    response = client.post(
        "/actions/feedback",
        data={"csrf": CSRF, "trace_id": trace_id(9), "kind": "comment", "comment": "<b>wrong policy</b>"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == f"/trace/{trace_id(9)}#feedback"
    rows = store.query(
        "SELECT Kind, Comment, Source FROM feedback FINAL WHERE TraceId = {t:String}", {"t": trace_id(9)}
    )
    assert rows.rows == [("comment", "<b>wrong policy</b>", "board")]
    page = client.get(f"/trace/{trace_id(9)}").text
    assert "&lt;b&gt;wrong policy&lt;/b&gt;" in page and "<b>wrong policy" not in page
    bad = client.post("/actions/feedback", data={"csrf": CSRF, "trace_id": trace_id(9), "kind": "<script>"})
    assert bad.status_code == 400 and "kind" in bad.text


def test_bearer_auth_off_loopback(store: Store, tmp_path: Path) -> None:
    options = BoardOptions(
        locks_dir=tmp_path, allowed_hosts=("testserver",), tokens=BearerTokens(["s3cret"]), csrf_token=CSRF
    )
    with TestClient(create_app(store, options)) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/rollouts", headers={"accept": "application/json"}).status_code == 401
        assert client.get("/rollouts", headers={"authorization": "Bearer wrong"}).status_code == 401
        to_login = client.get("/seeds", headers={"accept": "text/html"}, follow_redirects=False)
        assert to_login.status_code == 303 and to_login.headers["location"] == "/login?next=/seeds"
        assert (
            client.post(
                "/actions/lock", json={"trace_id": "0" * 32}, headers={"x-csrf-token": CSRF}
            ).status_code
            == 401
        )
        assert client.get("/seeds", headers={"authorization": "Bearer s3cret"}).status_code == 200
        for cookie in ('tracelock_board_token="s3cret', "tracelock_board_token=wrong", "\x00;;="):
            assert client.get("/seeds", headers={"cookie": cookie, "accept": "*/*"}).status_code == 401
        assert client.post("/login", data={"token": "nope", "next": "/seeds"}).status_code == 401
        signed_in = client.post(
            "/login", data={"token": "s3cret", "next": "//evil.example/"}, follow_redirects=False
        )
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/rollouts"
        assert "httponly" in signed_in.headers["set-cookie"].lower()
        assert "samesite=strict" in signed_in.headers["set-cookie"].lower()
        assert client.get("/seeds", headers={"accept": "text/html"}).status_code == 200  # the cookie
