"""A small store for the board's tests: two prompt versions, feedback, eval runs, a seed, hostile labels."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from tracelock.sampler.seeds import Seed, write_seeds
from tracelock.store import Store

sys.path.insert(0, str(Path(__file__).parent))
from report_support import T0, eval_rows, insert_feedback, insert_spans, live_trace

HOSTILE = '<script>alert("x")</script>'
ENTERPRISE_COMPLAINT = 4  # trace number of a refund-v4 enterprise complaint


def trace_id(n: int) -> str:
    return f"{n:032x}"


def fill(store: Store) -> None:
    spans: list[dict[str, Any]] = []
    n = 0
    for week, version in enumerate(("refund-v3", "refund-v4")):
        for i in range(40):
            n += 1
            tier = "enterprise" if i % 4 == 3 else "consumer"
            complaint = (tier == "enterprise" and version == "refund-v4") or i == 1
            at = T0 + timedelta(days=7 * week, hours=4 * i)
            trace = live_trace(
                n, version, tier, at, intent=HOSTILE if i == 5 else "refund", complaint=complaint
            )
            trace[1]["SpanAttributes"]["gen_ai.input.messages"] = '[{"role": "user", "content": "refund?"}]'
            trace[1]["SpanAttributes"]["gen_ai.output.messages"] = '[{"role": "assistant", "content": "no"}]'
            spans += trace
    insert_spans(store, spans)
    insert_feedback(store, [(43, "thumbs_down"), (44, "complaint")], T0 + timedelta(days=8))
    store.insert("eval_records", eval_rows("refund-v3", "consumer", 16, 20))
    store.insert("eval_records", eval_rows("refund-v4", "consumer", 18, 20))
    seed = Seed(
        rule="complaint-linked-trace",
        rule_version="r1",
        level="trace",
        trace_id=trace_id(44),
        span_id="",
        mode="batch",
        matched={"feedback.complaint": "true"},
        keys={"gen_ai.prompt.version": "refund-v4", "tracelock.customer.tier": "enterprise"},
    )
    write_seeds(store, [seed])


def seed_id_of(store: Store) -> str:
    return str(store.query("SELECT SeedId FROM seeds LIMIT 1").scalar())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_board(data_dir: Path, locks: Path, *global_options: str) -> Iterator[str]:
    """``tracelock board`` as a subprocess on a free loopback port; yields its base URL once it answers."""
    port = free_port()
    board = subprocess.Popen(
        [sys.executable, "-m", "tracelock", "--data-dir", str(data_dir), *global_options, "board",
         "--listen", f"127.0.0.1:{port}", "--locks", str(locks)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if board.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"tracelock board did not start: {board.stdout.read() if board.stdout else ''}"
                )
            time.sleep(0.3)
        yield base
    finally:
        board.terminate()
        board.wait(timeout=30)
