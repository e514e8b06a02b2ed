"""``POST /v1/feedback`` on a real collector, as a hostile client or a hostile web page would use it.

Feedback is JSON only (a page can post ``text/plain`` cross-origin without a preflight), capped per
request in records and bytes with a 413 that says which, parsed and stored off the event loop in O(n),
so a large post never stalls the OTLP exports sharing the port.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from collector_support import CollectorProcess, query, started_collector

from tracelock.collector.feedback import MAX_FEEDBACK_BYTES, MAX_FEEDBACK_RECORDS


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorProcess]:
    with started_collector(tmp_path_factory.mktemp("feedback")) as process:
        yield process


def _records(n: int, comment: str = "slow answer") -> list[dict[str, Any]]:
    """``n`` complaints about traces that are not stored (the worst case for the unknown-trace count)."""
    return [{"trace_id": os.urandom(16).hex(), "kind": "complaint", "comment": comment} for _ in range(n)]


def _feedback_count(collector: CollectorProcess, comment: str) -> int:
    rows = query(collector.data_dir, f"SELECT count() AS n FROM feedback WHERE Comment = '{comment}'")
    return int(rows[0]["n"])


@pytest.mark.timeout(60)
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_feedback_that_is_not_declared_json_is_415(
    collector: CollectorProcess, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    body = json.dumps(_records(1, comment="cross-origin")).encode()
    answer = httpx.post(collector.http + "/v1/feedback", content=body, headers=headers, timeout=30)
    assert answer.status_code == 415, answer.text
    assert "application/json" in answer.json()["message"]


@pytest.mark.timeout(120)
def test_too_many_records_or_bytes_is_413_naming_the_cap(collector: CollectorProcess) -> None:
    records = _records(MAX_FEEDBACK_RECORDS * 2, comment="over the cap")
    answer = httpx.post(collector.http + "/v1/feedback", json=records, timeout=60)
    assert answer.status_code == 413, answer.text
    assert f"{MAX_FEEDBACK_RECORDS * 2} feedback records" in answer.json()["message"]
    assert f"limit is {MAX_FEEDBACK_RECORDS}" in answer.json()["message"]
    big = _records(1, comment="x" * (MAX_FEEDBACK_BYTES + 10))
    answer = httpx.post(collector.http + "/v1/feedback", json=big, timeout=60)
    assert answer.status_code == 413, answer.text
    assert f"limit of {MAX_FEEDBACK_BYTES} bytes" in answer.json()["message"]
    assert _feedback_count(collector, "over the cap") == 0


@pytest.mark.timeout(60)
def test_deeply_nested_attributes_are_400_naming_the_path(collector: CollectorProcess) -> None:
    nested = "1"
    for _ in range(900):
        nested = '{"a": ' + nested + "}"
    body = '{"trace_id": "' + "ab" * 16 + '", "kind": "comment", "attributes": {"x": ' + nested + "}}"
    answer = httpx.post(
        collector.http + "/v1/feedback",
        content=body,
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 400, answer.text
    assert "nested deeper than" in answer.json()["message"] and "attributes.x.a.a" in answer.json()["message"]


@pytest.mark.timeout(180)
def test_a_large_feedback_post_does_not_stall_exports_on_the_same_port(collector: CollectorProcess) -> None:
    records = _records(MAX_FEEDBACK_RECORDS, comment="bulk")
    answers: list[httpx.Response] = []
    post = threading.Thread(
        target=lambda: answers.append(httpx.post(collector.http + "/v1/feedback", json=records, timeout=120))
    )
    span = {"traceId": "ef" * 16, "spanId": "01" * 8, "name": "during-feedback"}
    export = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    slowest = 0.0
    post.start()
    with httpx.Client(timeout=60) as client:
        while post.is_alive():
            started = time.monotonic()
            assert client.post(collector.http + "/v1/traces", json=export).status_code == 200
            assert client.get(collector.http + "/healthz").status_code == 200
            slowest = max(slowest, time.monotonic() - started)
            time.sleep(0.05)
    post.join()
    assert answers and answers[0].status_code == 200, answers and answers[0].text
    assert answers[0].json()["accepted"] == MAX_FEEDBACK_RECORDS
    assert len(answers[0].json()["unknown_trace_ids"]) == MAX_FEEDBACK_RECORDS
    assert slowest < 1.5, f"an export took {slowest:.1f} s while the feedback post was processed"
    assert _feedback_count(collector, "bulk") == MAX_FEEDBACK_RECORDS
