"""Benchmark: the divergence and coverage reports over 10 million spans (2.5 million traces) and
100 000 eval records in embedded chDB. Target: < 1 s per report.

Data is generated inside ClickHouse (INSERT ... SELECT FROM numbers()), through the real tables and
materialized views (otel_traces -> trace_summaries, eval_records), so building it is fast and what is
measured is the shipped SQL. Two weeks of traffic: refund-v3 the first week, refund-v4 the second;
4 spans per trace (request, retrieval, chat, tool); labels on the root span, signals on the children,
version keys on the Resource; complaints on spans and in the feedback table.

    python bench/report.py [--spans 10000000] [--evals 100000] [--repeat 5] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path

from tracelock.report import Window, coverage_report, divergence_report
from tracelock.report.dimensions import resolve_dimension
from tracelock.store import apply_migrations
from tracelock.store.chdb_store import ChdbStore

SPANS_SQL = """
INSERT INTO otel_traces (Timestamp, TraceId, SpanId, ParentSpanId, SpanName, SpanKind, ServiceName,
                         ResourceAttributes, SpanAttributes, Duration, StatusCode)
WITH intDiv(number, 4) AS t, number % 4 AS k, cityHash64(t) % 1000 AS r,
     if(t < {traces:UInt64} / 2, 'refund-v3', 'refund-v4') AS version,
     multiIf(r < 680, 'consumer', r < 840, 'smb', 'enterprise') AS tier,
     ['refund_status', 'refund_request', 'refund_policy'][t % 3 + 1] AS intent,
     version = 'refund-v4' AND tier = 'enterprise' AS hurt,
     if(hurt, 5000 + r * 3, 800 + r) AS ctx,
     cityHash64(t, 7) % 1000 < if(hurt, 160, 20) AS parse_failed,
     cityHash64(t, 8) % 1000 < if(parse_failed, 450, 30) AS complained
SELECT
    toDateTime64('2026-11-02 00:00:00', 9) + toIntervalMillisecond(t * {step_ms:UInt64} + k * 40),
    concat(lower(hex(cityHash64(t))), lower(hex(cityHash64(t, 1)))),
    lower(hex(cityHash64(number, 2))),
    if(k = 0, '', lower(hex(cityHash64(t * 4, 2)))),
    ['POST /v1/refund-assistant', 'retrieval refund-kb', 'chat gpt-4o-mini',
     'execute_tool parse_refund_terms'][k + 1],
    'Internal',
    'refund-assistant',
    map('service.name', 'refund-assistant', 'gen_ai.prompt.version', version,
        'gen_ai.request.model', 'gpt-4o-mini', 'tracelock.retriever.version', 'kb-2026-10',
        'tracelock.origin', 'live'),
    multiIf(
        k = 0, map('tracelock.customer.tier', tier, 'tracelock.intent', intent, 'tracelock.language', 'en'),
        k = 1, map('tracelock.retrieval.document_count', toString(r % 7), 'tracelock.retrieval.empty',
                   if(r % 7 = 0, 'true', 'false')),
        k = 2, map('gen_ai.usage.input_tokens', toString(ctx + 350), 'gen_ai.usage.output_tokens', '220',
                   'tracelock.usage.context_tokens', toString(ctx), 'tracelock.cost.usd', '0.0003'),
        map('tracelock.parse_failure', if(parse_failed, 'true', 'false'),
            'tracelock.feedback.complaint', if(complained, 'true', 'false'))),
    (40 + r) * 1000000,
    if(k = 3 AND parse_failed, 'Error', 'Ok')
FROM numbers({spans:UInt64})
"""

FEEDBACK_SQL = """
INSERT INTO feedback (FeedbackId, Timestamp, TraceId, Kind, Value, Source)
SELECT concat('fb-', toString(number)),
       toDateTime64('2026-11-02 00:00:00', 3) + toIntervalSecond(number * 20),
       concat(lower(hex(cityHash64(t))), lower(hex(cityHash64(t, 1)))),
       if(number % 3 = 0, 'complaint', 'thumbs_down'), 1, 'bench'
FROM (SELECT number, (number * 37) % {traces:UInt64} AS t FROM numbers({feedback:UInt64}))
"""

EVALS_SQL = """
INSERT INTO eval_records (Timestamp, EvalRunId, CaseId, Repeat, DatasetId, DatasetVersion, RequestModel,
                          PromptVersion, Intent, CustomerTier, Language, Score, Passed, Source)
WITH intDiv(number, 2) AS attempt, number % 2 AS v, attempt % 5000 AS c, cityHash64(attempt, v) % 100 AS r
SELECT toDateTime64('2026-10-30 00:00:00', 9) + toIntervalSecond(number),
       concat('run-', toString(intDiv(attempt, 5000)), '-', toString(v)), concat('case-', toString(c)),
       0, 'refund-cases', '2026-10', 'gpt-4o-mini', if(v = 0, 'refund-v3', 'refund-v4'),
       ['refund_status', 'refund_request', 'refund_policy'][c % 3 + 1],
       if(c % 1000 = 0, 'enterprise', 'consumer'),
       'en', r / 100, r < if(v = 0, 84, 89), 'bench'
FROM numbers({evals:UInt64})
"""


def timed(label: str, fn) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - started
    print(f"  {label:<44} {elapsed:8.2f} s", flush=True)
    return elapsed


def cpu_seconds() -> float:
    """CPU time of this process, chDB's query threads included (they run in-process)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(name: str, fn, repeat: int) -> None:  # type: ignore[no-untyped-def]
    """Wall time (what a user waits) and CPU time (what it costs; steadier on a shared machine)."""
    walls, cpus = [], []
    for _ in range(repeat):
        started, cpu = time.perf_counter(), cpu_seconds()
        fn()
        walls.append(time.perf_counter() - started)
        cpus.append(cpu_seconds() - cpu)
    print(
        f"  {name:<46} wall min {min(walls):.3f} s median {statistics.median(walls):.3f} s"
        f" | cpu median {statistics.median(cpus):.3f} s",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=10_000_000)
    parser.add_argument("--evals", type=int, default=100_000)
    parser.add_argument("--feedback", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--reuse", action="store_true", help="Keep data already built in --data-dir.")
    args = parser.parse_args()
    traces = args.spans // 4
    print(
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, cpus={os.cpu_count()}"
    )
    print(
        f"python {platform.python_version()}; data: {args.spans:,} spans, {traces:,} traces, "
        f"{args.evals:,} eval records"
    )
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="tracelock-bench-report-"))
    store = ChdbStore(data_dir, "bench_report")
    built = (
        args.reuse
        and store.query("SELECT count() FROM system.tables WHERE database = 'bench_report'").scalar()
    )
    if not built:
        store.command("DROP DATABASE IF EXISTS bench_report")
        store.command("CREATE DATABASE bench_report")
        store.command("USE bench_report")
        apply_migrations(store)
        step_ms = max(1, 14 * 86400 * 1000 // max(traces, 1))
        print("build (INSERT ... SELECT through the real materialized views):")
        spans_params = {"spans": args.spans, "traces": traces, "step_ms": step_ms}
        timed("otel_traces (+ trace_summaries MV)", lambda: store.command(SPANS_SQL, spans_params))
        timed("feedback", lambda: store.command(FEEDBACK_SQL, {"traces": traces, "feedback": args.feedback}))
        timed("eval_records", lambda: store.command(EVALS_SQL, {"evals": args.evals}))
    parts = store.query(
        "SELECT count() FROM system.parts WHERE database = 'bench_report' AND table = "
        "'trace_summaries' AND active"
    ).scalar()
    rows = store.query("SELECT count() FROM trace_summaries").scalar()
    print(f"  trace_summaries: {rows:,} partial rows in {parts} active parts")

    prompt, tier, intent = (resolve_dimension(n) for n in ("prompt", "customer.tier", "intent"))

    def divergence() -> None:
        report = divergence_report(store, {prompt: "refund-v3"}, {prompt: "refund-v4"}, [tier])
        assert report.as_dict()["flagged"] == [{"customer.tier": "enterprise"}], report.as_dict()["flagged"]

    def divergence_two_labels() -> None:
        divergence_report(store, {prompt: "refund-v3"}, {prompt: "refund-v4"}, [intent, tier])

    def divergence_window() -> None:
        window = Window.parse("2026-11-06", "2026-11-13")
        divergence_report(store, {prompt: "refund-v3"}, {prompt: "refund-v4"}, [tier], window)

    def coverage() -> None:
        coverage_report(store, [intent, tier], selector={prompt: "refund-v4"})

    def run_all(state: str) -> None:
        print(f"reports ({state}), {args.repeat} runs each:")
        measure("divergence --by customer.tier", divergence, args.repeat)
        measure("divergence --by intent,customer.tier", divergence_two_labels, args.repeat)
        measure("divergence --by customer.tier, 7-day window", divergence_window, args.repeat)
        measure("coverage --by intent,customer.tier --where v4", coverage, args.repeat)

    print(f"load average before the reports: {os.getloadavg()}")
    run_all("as inserted")
    timed(
        "OPTIMIZE TABLE trace_summaries FINAL", lambda: store.command("OPTIMIZE TABLE trace_summaries FINAL")
    )
    run_all("after background merges (OPTIMIZE FINAL)")
    store.close()


if __name__ == "__main__":
    main()
