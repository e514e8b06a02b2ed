"""Benchmark: server time of every case-board page on the dataset bench/report.py builds (10 million
spans, 100 000 eval records), plus seeds, a lock file and a gate history. Target: <= 300 ms per page.

Each page is requested in process through Starlette's test client (what is timed is the server's
work: queries, report code, template rendering). Three figures per page: "cold" with the page cache off
(every request runs its queries: the first view of a URL), "warm" with it on (the same URL over
unchanged data, which costs the cache's fingerprint query and a lookup), and "new data": before each
request one feedback row is stored, so the page is always of older data - served at once while the
board re-renders it in the background (stale-while-revalidate), which runs during the timed requests.
The hourly rollup the report pages read (docs/reports.md) is rebuilt first, as on a quiet store, and
the CLI's reports are timed over the summaries and over the rollup.

    python bench/board.py [--spans 10000000] [--evals 100000] [--repeat 20] [--data-dir DIR] [--reuse]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parent))
from report import EVALS_SQL, FEEDBACK_SQL, SPANS_SQL, timed  # the report bench's dataset
from tracelock.board.app import BoardOptions, create_app
from tracelock.lock.files import add_case
from tracelock.lock.model import Assertion, LockCase, Provenance
from tracelock.report import coverage_report, divergence_report
from tracelock.report.dimensions import resolve_dimension
from tracelock.report.rollup import RollupState
from tracelock.store import apply_migrations
from tracelock.store.chdb_store import ChdbStore

DATABASE = "bench_report"
SEEDS_SQL = """
INSERT INTO seeds (SeedId, Timestamp, TraceId, SpanId, Rule, RuleVersion, Level, Mode, PromptVersion,
                   CustomerTier)
SELECT lower(hex(cityHash64(TraceId, 'seed'))), Timestamp, TraceId, '', 'complaint-linked-trace', 'r1',
       'trace', 'batch', 'refund-v4', 'enterprise'
FROM feedback WHERE Kind = 'complaint' LIMIT 5000
"""
GATE_SQL = """
INSERT INTO lock_results (CheckRunId, CheckedAt, Dataset, DatasetVersion, CaseId, Status, Passes, Attempts,
                          Required, ReleaseTag, EvalRunId)
SELECT concat('check-', toString(intDiv(number, 50))), toDateTime64('2026-11-16 00:00:00', 3)
       + toIntervalHour(intDiv(number, 50)), 'refunds', '1', concat('case-', toString(number % 50)),
       if(cityHash64(number) % 20 = 0, 'regressed', 'passed'), 1, 1, 1.0,
       concat('v', toString(intDiv(number, 50) % 4)), 'run'
FROM numbers(1000)
"""


def build(store: ChdbStore, spans: int, evals: int, feedback: int) -> None:
    traces = spans // 4
    store.command(f"DROP DATABASE IF EXISTS {DATABASE}")
    store.command(f"CREATE DATABASE {DATABASE}")
    store.command(f"USE {DATABASE}")
    apply_migrations(store)
    step_ms = max(1, 14 * 86400 * 1000 // max(traces, 1))
    print("build (INSERT ... SELECT through the real materialized views):")
    timed(
        "otel_traces (+ trace_summaries MV)",
        lambda: store.command(SPANS_SQL, {"spans": spans, "traces": traces, "step_ms": step_ms}),
    )
    timed("feedback", lambda: store.command(FEEDBACK_SQL, {"traces": traces, "feedback": feedback}))
    timed("eval_records", lambda: store.command(EVALS_SQL, {"evals": evals}))
    timed("seeds + lock_results", lambda: (store.command(SEEDS_SQL), store.command(GATE_SQL)))


def lock_file(store: ChdbStore, locks: Path) -> None:
    """A lock file of 50 cases made from complaint traces (the Locks page reads and validates it)."""
    if (locks / "refunds.yaml").exists():
        return
    ids = [r[0] for r in store.query("SELECT TraceId FROM seeds FINAL ORDER BY SeedId LIMIT 50").rows]
    for i, trace_id in enumerate(ids):
        case = LockCase(
            id=f"case-{i}",
            dataset="refunds",
            added_in=1,
            input=[{"role": "user", "content": f"refund {i}?"}],
            expect=(Assertion("passed"),),
            provenance=Provenance(source_trace_id=trace_id, created_by="bench"),
        )
        add_case(locks, "refunds", case)


def rebuild_rollup(store: ChdbStore) -> float:
    """Seconds to rebuild the hourly rollup until a reader sees it current (one pass over the summaries)."""
    before = RollupState.read(store)
    previous = before.refreshed_at if before else None
    started = time.perf_counter()
    store.refresh_view("trace_rollup")
    while True:
        state = RollupState.read(store)
        if state and state.current and not state.running and state.refreshed_at != previous:
            return time.perf_counter() - started
        time.sleep(0.05)


def _p50_p95(times: list[float]) -> list[float]:
    times = sorted(times)
    return [statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]]


def _after_new_data(store: ChdbStore, client: TestClient, path: str, repeat: int) -> list[float]:
    """Request times when every request finds newer data than its cached page; then waits for the
    background refresh to land, so it does not run into the next page's figures."""
    times = []
    for i in range(repeat):
        store.insert("feedback", {"FeedbackId": [f"bench-{time.time_ns()}-{i}"], "Kind": ["comment"]})
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.headers["x-board-cache"] in ("stale", "miss", "hit"), response.headers
    deadline = time.monotonic() + 120
    while client.get(path).headers["x-board-cache"] != "hit" and time.monotonic() < deadline:
        time.sleep(0.2)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=10_000_000)
    parser.add_argument("--evals", type=int, default=100_000)
    parser.add_argument("--feedback", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--reuse", action="store_true", help="Keep data already built in --data-dir.")
    args = parser.parse_args()
    print(f"machine: {platform.platform()}, cpus={os.cpu_count()}, python {platform.python_version()}")
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="tracelock-bench-board-"))
    store = ChdbStore(data_dir, DATABASE)
    built = (
        args.reuse
        and store.query(
            "SELECT count() FROM system.tables WHERE database = {d:String} AND name = 'seeds'",
            {"d": DATABASE},
        ).scalar()
    )
    if not built:
        build(store, args.spans, args.evals, args.feedback)
    elif not store.query("SELECT count() FROM seeds").scalar():
        store.command(SEEDS_SQL), store.command(GATE_SQL)
    spans = store.query("SELECT count() FROM otel_traces").scalar()
    evals = store.query("SELECT count() FROM eval_records").scalar()
    print(f"data: {spans:,} spans, {evals:,} eval records; load average {os.getloadavg()}")
    print(f"rollup rebuilt in {rebuild_rollup(store):.2f} s (so a first view finds it current)")
    locks = data_dir / "locks"
    lock_file(store, locks)
    trace_id = store.query("SELECT TraceId FROM seeds FINAL ORDER BY SeedId LIMIT 1").scalar()
    runs = [r[0] for r in store.query("SELECT DISTINCT EvalRunId FROM eval_records ORDER BY 1 LIMIT 2").rows]
    pages = {
        "rollouts": "/rollouts",
        "divergence": "/divergence?baseline=prompt%3Drefund-v3&candidate=prompt%3Drefund-v4&by=customer.tier",
        "case board": "/coverage?where=prompt%3Drefund-v4",
        "traces (slice, bad)": "/traces?where=prompt%3Drefund-v4&where=customer.tier%3Denterprise"
        "&feedback=bad",
        "trace": f"/trace/{trace_id}",
        "eval runs": "/evals",
        "eval run cases": f"/evals/cases?run={runs[0]}",
        "eval compare": f"/evals/compare?a={runs[0]}&b={runs[1]}",
        "locks": "/locks",
        "seeds": "/seeds",
    }
    print(
        f"{'page':<22} {'cold p50':>9} {'cold p95':>9} {'warm p50':>9} {'warm p95':>9}"
        f" {'new p50':>9} {'new p95':>9}"
        f"  (ms, {args.repeat} requests)"
    )
    for name, path in pages.items():
        figures = []
        for cache in (False, True):
            options = BoardOptions(locks_dir=locks, allowed_hosts=("testserver",), cache_pages=cache)
            with TestClient(create_app(store, options)) as client:
                assert client.get(path).status_code == 200, (name, client.get(path).text[:300])
                times = []
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    response = client.get(path)
                    times.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200
                figures += _p50_p95(times)
                if cache:
                    figures += _p50_p95(_after_new_data(store, client, path, args.repeat))
        print(f"{name:<22} " + " ".join(f"{v:9.1f}" for v in figures), flush=True)
    # Baseline measured in the same run: the report calls `tracelock report` makes, without the board -
    # first over the summaries (the "new data" requests left the rollup behind: the CLI does not read it
    # then), then over the rollup once it is current again.
    prompt, tier, intent = (resolve_dimension(n) for n in ("prompt", "customer.tier", "intent"))
    base, cand = {prompt: "refund-v3"}, {prompt: "refund-v4"}
    calls = (
        ("report divergence", lambda: divergence_report(store, base, cand, [tier])),
        ("report coverage", lambda: coverage_report(store, [intent, tier], selector=cand)),
    )
    for source in ("summaries", "rollup"):
        if source == "rollup":
            print(f"rollup rebuilt in {rebuild_rollup(store):.2f} s")
        for name, call in calls:
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                call()
                times.append((time.perf_counter() - started) * 1000)
            p50, p95 = _p50_p95(times)
            print(f"{name + ' (' + source + ')':<30} {p50:9.1f} {p95:9.1f}", flush=True)
    print(f"load average after: {os.getloadavg()}")
    store.close()


if __name__ == "__main__":
    main()
