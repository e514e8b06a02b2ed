"""Restart after a crash with a full write-ahead log: the collector's memory and time while it replays.

A collector whose writer never runs (batches of 10^8 spans, a 60 s timeout) acknowledges ``--mib`` of
SDK-workload requests (``bench/sdk_workload.py``, 512 spans each) into its WAL and is SIGKILLed; a
collector with the default config then starts on the same data directory. Printed: the backlog, the
restarted collector's peak RSS (VmHWM) when it reports ready and once every replayed span is queryable,
seconds to ready and to queryable, and its CPU seconds. The WAL's default limit is 1 GiB: that is the
largest backlog a crash can leave, and the start after it must not need that much memory again
(issue 18: peak RSS <= 600 MB).

    python bench/replay_memory.py [--mib 512]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from collector_ingest import (
    SPANS_PER_REQUEST,
    _count,
    _cpu_seconds,
    _peak_rss_mb,
    _send_grpc,
    _start,
    workload_bodies,
)
from sdk_workload import SPANS_PER_TRACE

_HOLD = "{send_batch_size: 100000000, max_queue_spans: 100000000, timeout: 60}"


def _fill_wal(workdir: Path, bodies: list[bytes]) -> None:
    proc, ready = _start(workdir, "0,1", _HOLD, "{}")
    try:
        _send_grpc(ready["grpc"], bodies, 8)
    finally:
        proc.kill()
        proc.wait(30)


def run(mib: int) -> dict[str, float]:
    request = workload_bodies("sdk", 64, SPANS_PER_TRACE)
    count = max(1, (mib << 20) // len(request[0]))
    bodies = workload_bodies("sdk", count, SPANS_PER_TRACE)
    workdir = Path(tempfile.mkdtemp(prefix="tl-replay-"))
    try:
        _fill_wal(workdir, bodies)
        wal_bytes = sum(p.stat().st_size for p in (workdir / "data").rglob("wal-*.log"))
        started = time.monotonic()
        proc, ready = _start(workdir, "0,1")
        to_ready = time.monotonic() - started
        at_ready = _peak_rss_mb(proc.pid)
        token = json.loads((workdir / "data" / "collector.json").read_text())["token"]
        spans = count * SPANS_PER_REQUEST
        while _count(ready["admin"], token) < spans:
            time.sleep(0.2)
        result = {
            "wal_mib": round(wal_bytes / (1 << 20)),
            "replayed_spans": ready.get("replayed_spans", 0),
            "s_to_ready": round(to_ready, 2),
            "s_to_queryable": round(time.monotonic() - started, 2),
            "peak_rss_mb_at_ready": round(at_ready),
            "peak_rss_mb": round(_peak_rss_mb(proc.pid)),
            "collector_cpu_s": round(_cpu_seconds(proc.pid), 2),
        }
        proc.terminate()
        proc.wait(120)
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=512, help="backlog to leave in the WAL (MiB)")
    args = parser.parse_args()
    cpus = len(os.sched_getaffinity(0))
    print(f"machine: {platform.platform()} python {platform.python_version()} cpus={cpus}")
    print(json.dumps(run(args.mib)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
