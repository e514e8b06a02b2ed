"""Every board page over a real chDB store: what it shows, the empty states, and hostile input."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tracelock.board.app import BoardOptions, create_app
from tracelock.board.cache import PageCache
from tracelock.report import divergence_report
from tracelock.report.dimensions import resolve_dimension
from tracelock.report.render import divergence_columns
from tracelock.store import Store

sys.path.insert(0, str(Path(__file__).parent))
from board_support import HOSTILE, fill, trace_id

PAGES = [
    "/rollouts",
    "/divergence?baseline=prompt%3Drefund-v3&candidate=prompt%3Drefund-v4&by=customer.tier",
    "/coverage",
    "/traces",
    f"/trace/{trace_id(44)}",
    "/evals",
    "/evals/cases?run=run-refund-v4",
    "/evals/compare?a=run-refund-v3&b=run-refund-v4",
    "/locks",
    "/seeds",
]


def client_for(store: Store, tmp_path: Path, **options: object) -> TestClient:
    board = BoardOptions(locks_dir=tmp_path / "locks", allowed_hosts=("testserver",), **options)  # type: ignore[arg-type]
    return TestClient(create_app(store, board))


@pytest.fixture
def client(store: Store, tmp_path: Path) -> Iterator[TestClient]:
    fill(store)
    with client_for(store, tmp_path) as c:
        yield c


def scripts(html: str) -> list[str]:
    return re.findall(r"<script[^>]*>", html)


@pytest.mark.parametrize("path", PAGES)
def test_each_page_renders_escaped_with_its_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200, response.text[:500]
    assert scripts(response.text) == ['<script src="/static/board.js" defer>']
    assert HOSTILE not in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "<h1>" in response.text and "Traceback" not in response.text


def test_divergence_page_shows_the_reports_figures_and_opens_each_slice(
    client: TestClient, store: Store
) -> None:
    page = client.get(PAGES[1]).text
    prompt, tier = resolve_dimension("prompt"), resolve_dimension("tier")
    report = divergence_report(store, {prompt: "refund-v3"}, {prompt: "refund-v4"}, [tier])
    for s in [report.overall, *report.slices]:
        cells = divergence_columns(s)
        for column in ("offline pass", "complaint rate", "traces b/c"):
            assert cells[column].replace(">", "&gt;") in page
    enterprise = next(s for s in report.slices if s.slice == {"customer_tier": "enterprise"})
    assert "online_worse" in enterprise.flags
    where = "where=prompt%3Drefund-v4&amp;where=customer_tier%3Denterprise"
    assert f"/traces?{where}&amp;feedback=bad" in page
    assert f"/evals/cases?{where}" in page


def test_divergence_without_arms_redirects_to_a_reproducible_url(client: TestClient) -> None:
    response = client.get("/divergence", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == (
        "/divergence?baseline=prompt_version%3Drefund-v3&candidate=prompt_version%3Drefund-v4&by=customer.tier"
    )


def test_a_slices_traces_are_its_complaint_traces(client: TestClient) -> None:
    page = client.get("/traces?where=prompt=refund-v4&where=customer.tier=enterprise&feedback=bad").text
    shown = set(re.findall(r'href="/trace/([0-9a-f]{32})"', page))
    assert trace_id(44) in shown and len(shown) == 10  # every refund-v4 enterprise trace complained
    assert trace_id(43) not in shown  # consumer


def test_trace_page_shows_spans_feedback_and_its_seed(client: TestClient) -> None:
    page = client.get(f"/trace/{trace_id(44)}").text
    assert "POST /refund" in page and "chat" in page
    assert "gen_ai.prompt.version" in page and "refund-v4" in page
    assert "complaint" in page and "complaint-linked-trace" in page
    assert "Lock this seed" in page


def test_eval_compare_counts_cases_case_by_case(client: TestClient) -> None:
    page = client.get(PAGES[7]).text
    # refund-v3 passes cases 0-15, refund-v4 cases 0-17; the case ids are the same
    assert "2 improved" in page and "18 unchanged" in page and "0 regressed" in page


def test_empty_store_pages_say_what_to_run(store: Store, tmp_path: Path) -> None:
    with client_for(store, tmp_path) as empty:
        for path in ("/rollouts", "/divergence", "/coverage", "/traces", "/evals", "/locks", "/seeds"):
            response = empty.get(path)
            assert response.status_code == 200, (path, response.text[:300])
            assert "Next, run:" in response.text and "tracelock " in response.text, path


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/traces?where=prompt%3Dx%27%20OR%201%3D1%20--", None),
        ("/traces?where=nosuchkey%3Dx", "unknown key or label"),
        ("/traces?where=label.a%27%5D%3D1%20OR%20%5B%27%3Dx", "invalid label name"),
        ("/traces?feedback=%3Cscript%3E", "feedback must be one of"),
        ("/traces?limit=1%3B%20DROP%20TABLE%20otel_traces", "limit must be"),
        (
            "/divergence?baseline=prompt%3D%3Cscript%3E&candidate=prompt%3Drefund-v4",
            "matches no production trace",
        ),
        ("/coverage?by=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E", "unknown key or label"),
        ("/trace/%3Cscript%3Ealert(1)%3C%2Fscript%3E", "no page at"),
        ("/trace/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E", "is not 32 hex digits"),
        (f"/trace/{'f' * 32}", "is not in"),
        ("/locks?version=1%20OR%201", "version must be a whole number"),
        ("/evals/compare?a=%27%3B%20DROP%20TABLE%20eval_records%3B%20--&b=x", None),
    ],
)
def test_hostile_query_strings_are_refused_or_matched_literally(
    client: TestClient, store: Store, path: str, message: str | None
) -> None:
    response = client.get(path)
    assert "<script>" not in response.text.replace('<script src="/static/board.js" defer>', "")
    assert "<img src=x" not in response.text
    if message is None:
        assert response.status_code == 200
    else:
        assert response.status_code in (400, 404), response.status_code
        assert message in response.text
    assert store.query("SELECT count() FROM otel_traces").scalar() == 160  # nothing dropped
    assert store.query("SELECT count() FROM eval_records").scalar() == 40


def test_unknown_host_is_refused(client: TestClient) -> None:
    assert client.get("/rollouts", headers={"host": "evil.example"}).status_code == 400


def test_page_cache_serves_the_same_page_until_the_data_changes(store: Store, tmp_path: Path) -> None:
    fill(store)
    client = client_for(store, tmp_path, max_stale_s=0.0)
    first = client.get("/seeds")
    again = client.get("/seeds")
    assert (first.headers["x-board-cache"], again.headers["x-board-cache"]) == ("miss", "hit")
    assert again.text == first.text
    store.insert("feedback", {"FeedbackId": ["x"], "TraceId": [trace_id(1)], "Kind": ["comment"]})
    assert client.get("/seeds").headers["x-board-cache"] == "miss"


def test_a_page_of_older_data_is_served_while_young_and_writes_clear_the_cache(
    store: Store, tmp_path: Path
) -> None:
    fill(store)
    client = client_for(store, tmp_path, max_stale_s=3600.0, csrf_token="t")
    assert client.get("/seeds").headers["x-board-cache"] == "miss"
    store.insert("feedback", {"FeedbackId": ["x"], "TraceId": [trace_id(1)], "Kind": ["comment"]})
    assert client.get("/seeds").headers["x-board-cache"] == "stale"
    client.post("/actions/feedback", data={"csrf": "t", "trace_id": trace_id(1), "kind": "comment"})
    assert client.get("/seeds").headers["x-board-cache"] == "miss"


def test_a_stale_page_is_served_at_once_and_re_rendered_behind_it(store: Store, tmp_path: Path) -> None:
    fill(store)
    client = client_for(store, tmp_path, max_stale_s=3600.0)
    assert client.get("/seeds").headers["x-board-cache"] == "miss"
    store.insert("feedback", {"FeedbackId": ["y"], "TraceId": [trace_id(1)], "Kind": ["comment"]})
    assert client.get("/seeds").headers["x-board-cache"] == "stale"  # no report ran for this view
    deadline = time.monotonic() + 30
    while (state := client.get("/seeds").headers["x-board-cache"]) != "hit":
        assert state == "stale" and time.monotonic() < deadline, "the background refresh never landed"
        time.sleep(0.05)


def test_a_refresh_that_began_before_a_write_does_not_put_its_page_back(store: Store, tmp_path: Path) -> None:
    cache = PageCache(store, tmp_path)
    cache.put("/seeds?", "old", "page of old data")
    generation = cache.begin_refresh("/seeds?")
    assert generation is not None
    assert cache.begin_refresh("/seeds?") is None  # one refresh of a page at a time
    cache.clear()  # the board's own write, while the refresh renders
    cache.put("/seeds?", "old", "page rendered before the write", generation)
    cache.end_refresh("/seeds?")
    assert cache.get("/seeds?", "old", max_stale_s=3600.0) is None
    assert cache.begin_refresh("/seeds?") is not None


def test_while_its_refresh_runs_a_page_is_served_without_asking_the_store(
    store: Store, tmp_path: Path
) -> None:
    cache = PageCache(store, tmp_path)
    cache.put("/seeds?", "old", "page of old data")
    assert cache.while_refreshing("/seeds?", max_stale_s=3600.0) is None  # no refresh: ask the store
    cache.begin_refresh("/seeds?")
    assert cache.while_refreshing("/seeds?", max_stale_s=3600.0) == "page of old data"
    assert cache.while_refreshing("/seeds?", max_stale_s=0.0) is None  # too old to show
    cache.end_refresh("/seeds?")
    assert cache.while_refreshing("/seeds?", max_stale_s=3600.0) is None
