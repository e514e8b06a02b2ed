"""Run the demo end to end: a fresh database, production traffic for refund-v3 then refund-v4, user
feedback, the offline eval of both prompts, the divergence and coverage reports, then the loop
(:mod:`tracelock.demo.loop`): an enterprise complaint seeded, locked, and gated red and green.

The demo owns its database (``tracelock_demo`` by default) and recreates it on every run, so it never
touches the user's data and can be re-run at will. Spans travel the production path: OTel SDK with
tracelock's processors -> OTLP/HTTP over loopback -> a ``tracelock collector`` subprocess -> ClickHouse;
feedback goes to the collector's ``POST /v1/feedback``. ``via_collector=False`` skips the subprocess
and writes the same OTLP bytes in-process (:func:`tracelock.collector.load.load_request`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace.export import SpanExporter

from tracelock.collector.feedback import parse_feedback, store_feedback
from tracelock.demo.collector import running_collector
from tracelock.demo.loop import LoopResult, run_loop
from tracelock.demo.simulator import MODEL, RETRIEVER, emit_request, make_provider, run_offline_evals
from tracelock.demo.sink import StoreSpanExporter
from tracelock.demo.story import START, behave, requests
from tracelock.report import CoverageReport, DivergenceReport, coverage_report, divergence_report
from tracelock.report.dimensions import resolve_dimension
from tracelock.store import Store, StoreSettings, apply_migrations, open_store
from tracelock.store.base import check_identifier

__all__ = ["DEMO_DATABASE", "DemoResult", "demo_reports", "reset_database", "run_demo", "simulate"]

DEMO_DATABASE = "tracelock_demo"
Progress = Callable[[str, int, int], None]


@dataclass
class DemoResult:
    store: str
    database: str
    traces: int
    spans: int
    feedback: int
    eval_attempts: int
    seconds: float
    divergence: DivergenceReport
    coverage: CoverageReport
    loop: LoopResult | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "database": self.database,
            "traces": self.traces,
            "spans": self.spans,
            "feedback": self.feedback,
            "eval_attempts": self.eval_attempts,
            "seconds": round(self.seconds, 2),
        }


def reset_database(settings: StoreSettings, database: str) -> Store:
    """Open ``database`` in the configured store, dropped and created afresh, schema applied."""
    check_identifier(database, "database")
    store = open_store(replace(settings, database=database))
    try:
        store.command(f"DROP DATABASE IF EXISTS {database}")
        store.command(f"CREATE DATABASE {database}")
        if type(store).__name__ == "ChdbStore":
            store.command(f"USE {database}")
        apply_migrations(store)
    except BaseException:
        store.close()
        raise
    return store


def simulate(
    new_exporter: Callable[[], SpanExporter],
    send_feedback: Callable[[list[dict[str, Any]]], Any],
    *,
    seed: int,
    per_version: int,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Run production traffic and the offline evals (one exporter from ``new_exporter`` per service),
    send the feedback, return counts."""
    rng = random.Random(seed)
    apps = {
        version: make_provider(
            "refund-assistant",
            seed + i,
            new_exporter(),
            model=MODEL,
            prompt_version=version,
            retriever_version=RETRIEVER,
        )
        for i, version in enumerate(("refund-v3", "refund-v4"), start=1)
    }
    feedback: list[dict[str, Any]] = []
    traffic = requests(rng, per_version)
    for n, request in enumerate(traffic, start=1):
        outcome = behave(rng, request.prompt_version, request.tier)
        trace_id = emit_request(apps[request.prompt_version].get_tracer("refund-assistant"), request, outcome)
        if outcome.complaint or outcome.thumbs_down:
            feedback.append(
                {
                    "feedback_id": f"demo-{request.index}",
                    "trace_id": trace_id,
                    "kind": "complaint" if outcome.complaint else "thumbs_down",
                    "value": 1,
                    "comment": "refund terms were wrong" if outcome.parse_failure else "not helpful",
                    "customer_id": f"{request.tier}-{request.index % 97}",
                    "source": "support-tool" if outcome.complaint else "widget",
                    "timestamp": (request.at + timedelta(minutes=20)).isoformat(),
                }
            )
        if progress and (n % 50 == 0 or n == len(traffic)):
            progress("production traffic", n, len(traffic))
    evals = make_provider("refund-evals", seed + 10, new_exporter(), model=MODEL, retriever_version=RETRIEVER)
    runs = run_offline_evals(evals, rng, progress=lambda i, t: progress and progress("offline evals", i, t))
    for provider in (*apps.values(), evals):
        provider.shutdown()  # flushes the batch processors through the exporter
    if feedback:
        send_feedback(feedback)
    attempts = sum(len(r.attempts) for r in runs)
    return {"traces": len(traffic) + attempts, "feedback": len(feedback), "eval_attempts": attempts}


def demo_reports(store: Store) -> tuple[DivergenceReport, CoverageReport]:
    """The two reports exactly as ``tracelock report`` computes them."""
    prompt, tier, intent = (resolve_dimension(n) for n in ("prompt", "customer.tier", "intent"))
    divergence = divergence_report(store, {prompt: "refund-v3"}, {prompt: "refund-v4"}, [tier])
    coverage = coverage_report(store, [intent, tier], selector={prompt: "refund-v4"})
    return divergence, coverage


def run_demo(
    settings: StoreSettings,
    *,
    seed: int = 7,
    per_version: int = 1500,
    database: str = DEMO_DATABASE,
    via_collector: bool = True,
    progress: Progress | None = None,
    locks_dir: Path | None = None,
    tracelock: str = "tracelock",
) -> DemoResult:
    """Recreate ``database``, load the story (through a collector subprocess, or in-process), report;
    then, with ``locks_dir``, run the loop there (``tracelock`` prefixes the commands it lists)."""
    started = time.perf_counter()
    store = reset_database(settings, database)
    try:
        if via_collector:
            store.close()  # the collector owns the database while it runs
            with running_collector(settings, database) as endpoint:
                counts = simulate(
                    endpoint.span_exporter, endpoint.send_feedback, seed=seed, per_version=per_version,
                    progress=progress,
                )  # fmt: skip
            store = open_store(replace(settings, database=database))
        else:
            counts = simulate(
                lambda: StoreSpanExporter(store),
                lambda items: store_feedback(store, parse_feedback(items, default_source="demo")),
                seed=seed,
                per_version=per_version,
                progress=progress,
            )
        counts["spans"] = int(store.query("SELECT count() FROM otel_traces").scalar())
        if progress:
            progress("reports", 0, 1)
        divergence, coverage = demo_reports(store)
        if progress:
            progress("reports", 1, 1)
        loop = None
        if locks_dir is not None:
            loop = run_loop(store, locks_dir, tracelock, since=START - timedelta(days=1))
            if progress:
                progress("seed, lock, gate", 1, 1)
        description = store.description
    finally:
        store.close()
    return DemoResult(
        store=description,
        database=database,
        seconds=time.perf_counter() - started,
        divergence=divergence,
        coverage=coverage,
        loop=loop,
        **counts,
    )
