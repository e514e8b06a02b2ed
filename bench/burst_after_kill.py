"""The post-kill burst: time for a burst of spans to become queryable right after an unclean stop,
with many rows already stored, against the same burst after a clean stop (issue 14, item 5).

    python bench/crash_soak.py --burst                       # 200k stored, 100k burst (the issue's case)
    python bench/crash_soak.py --burst --stored 50000 --burst-spans 25000

Both restarts run in one process on the same machine, so the ratio holds even on a busy machine.
Before the fix, every batch for 5 minutes after an unclean stop was written with a NOT IN subquery
over the stored spans of its trace ids: its cost grew with the table.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from collector_ingest import SPANS_PER_REQUEST, _count, _send_http, _start, make_request

__all__ = ["burst_after_stop"]


def _wait_count(admin: str, token: str, total: int, timeout: float = 1800) -> float:
    started = time.perf_counter()
    while _count(admin, token) < total:
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"fewer than {total} spans queryable after {timeout}s")
        time.sleep(0.05)
    return time.perf_counter() - started


def burst_after_stop(stored: int, burst: int, *, unclean: bool) -> float:
    """Seconds from the first burst request until every burst span is queryable."""
    workdir = Path(tempfile.mkdtemp(prefix="tl-burst-"))
    requests = [make_request(i, 4) for i in range((stored + burst) // SPANS_PER_REQUEST)]
    first, second = requests[: stored // SPANS_PER_REQUEST], requests[stored // SPANS_PER_REQUEST :]
    try:
        proc, ready = _start(workdir, "0,1")
        token = json.loads((workdir / "data" / "collector.json").read_text())["token"]
        _send_http(ready["http"], first, 4)
        _wait_count(ready["admin"], token, len(first) * SPANS_PER_REQUEST)
        if unclean:
            proc.kill()
        else:
            proc.terminate()
        proc.wait(120)
        proc, ready = _start(workdir, "0,1")
        token = json.loads((workdir / "data" / "collector.json").read_text())["token"]
        started = time.perf_counter()
        _send_http(ready["http"], second, 4)
        _wait_count(ready["admin"], token, len(requests) * SPANS_PER_REQUEST)
        elapsed = time.perf_counter() - started
        proc.terminate()
        proc.wait(120)
        return elapsed
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
