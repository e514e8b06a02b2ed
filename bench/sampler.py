"""Seed sampler on the collector path: spans per second through the built-in rules, one core.

What is timed is exactly what the ``seed_sampler`` processor does per request in the collector:
``SeedSampler.process(body)`` on serialized ExportTraceServiceRequests (512 spans, ~16 attributes and
~300 bytes of message content each), with the built-in rules compiled once. Seeds are not written
(store=None) so the figure is the rule work, not chDB inserts (seeds are rare and rate limited).

Scenarios:
- typical: 2% of spans are retrievals carrying tracelock.retrieval.empty (a third of them true),
  0.2% carry a complaint flag; the rest carry no attribute any span rule reads;
- retrieval-heavy: a RAG app whose SDK stamps tracelock.retrieval.empty on every retrieval span
  (tracelock.processors.SignalsProcessor does): 25% of spans carry it, 10% of those true;
- no-trigger: no span carries a gate attribute (the byte pre-filter clears the request);
- worst-case: every span carries tracelock.retrieval.empty, so every span is decoded and evaluated.
Also: raw CEL evaluations/s of one compiled condition (activation building included).
Times are CPU time of this process (time.process_time), i.e. per core, so a busy machine disturbs them
less than wall time would.

With ``--batch N``: also load N two-span traces (spread over 20 hours, 5% empty retrievals, 3%
complaints) into a temporary chDB directory and time ``run_rules`` (what ``tracelock seeds run
--since 24h`` does) with the built-in rules, twice (the second run finds everything already seeded).

Run: /work/venv/bin/python bench/sampler.py [--requests 40] [--batch 10000]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from importlib.metadata import version

from tracelock.sampler.online import SeedSampler
from tracelock.sampler.otlp_build import SpanSpec, build_request
from tracelock.sampler.rules import load_rules

SPANS_PER_REQUEST = 512


def _span(rng: random.Random, i: int, extra: dict) -> SpanSpec:
    trace = f"{rng.getrandbits(128):032x}"
    attrs = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.prompt.version": "refund-v4",
        "gen_ai.usage.input_tokens": rng.randint(100, 4000),
        "gen_ai.usage.output_tokens": rng.randint(10, 800),
        "tracelock.cost.usd": rng.random() / 50,
        "tracelock.intent": "refund",
        "tracelock.feature": "support_chat",
        "tracelock.customer.tier": rng.choice(["free", "pro", "enterprise"]),
        "tracelock.language": "en",
        "http.route": "/v1/chat",
        "server.address": "api.example.com",
        "gen_ai.response.id": f"resp_{i}",
        "gen_ai.input.messages": '[{"role": "user", "content": "' + "where is my refund? " * 8 + '"}]',
        "gen_ai.output.messages": '[{"role": "assistant", "content": "' + "it is on its way. " * 6 + '"}]',
        "tracelock.origin": "live",
        **extra,
    }
    return SpanSpec(trace, f"{rng.getrandbits(64):016x}", name="chat gpt-4o-mini", attributes=attrs)


def _requests(scenario: str, count: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    bodies = []
    for _ in range(count):
        spans = []
        for i in range(SPANS_PER_REQUEST):
            extra: dict = {}
            roll = rng.random()
            if scenario == "worst-case" or (scenario == "typical" and roll < 0.02):
                extra["tracelock.retrieval.empty"] = rng.random() < 0.33
            if scenario == "retrieval-heavy" and roll < 0.25:
                extra["tracelock.retrieval.empty"] = rng.random() < 0.10
            if scenario == "typical" and 0.02 <= roll < 0.022:
                extra["tracelock.feedback.complaint"] = True
            spans.append(_span(rng, i, extra))
        bodies.append(build_request(spans, {"service.name": "refund-bot"}).SerializeToString())
    return bodies


def _run(bodies: list[bytes], repeat: int) -> tuple[float, int, int]:
    sampler = SeedSampler(load_rules())  # rules compiled once, outside the timed loop
    seeds = 0
    start = time.process_time()
    for _ in range(repeat):
        for body in bodies:
            seeds += len(sampler.process(body)[1])
    elapsed = time.process_time() - start
    return elapsed, seeds, sampler.engine.evaluator.evaluated


def _raw_cel(n: int = 200_000) -> float:
    rule = load_rules().get("empty-retrieval")
    condition = rule.condition
    values = [{"tracelock.retrieval.empty": i % 3 == 0} for i in range(1000)]
    start = time.process_time()
    for i in range(n):
        condition.evaluate(condition.activation(values[i % 1000]))
    return n / (time.process_time() - start)


def _batch(count: int) -> None:
    import tempfile
    from datetime import datetime, timedelta, timezone
    from pathlib import Path

    from tracelock.collector.load import load_request
    from tracelock.sampler.batch import run_rules
    from tracelock.store import apply_migrations
    from tracelock.store.chdb_store import ChdbStore

    rng = random.Random(1)
    now = time.time_ns()
    with tempfile.TemporaryDirectory() as directory:
        store = ChdbStore(Path(directory), "bench")
        apply_migrations(store)
        for chunk in range(0, count, 1000):
            spans = []
            for n in range(chunk + 1, min(chunk + 1000, count) + 1):
                trace, start = f"{n:032x}", now - rng.randint(0, 20 * 3600) * 10**9
                root = {
                    "tracelock.feature": rng.choice(["refund", "billing", "search"]),
                    "gen_ai.prompt.version": rng.choice(["v3", "v4", "v5"]),
                    "tracelock.customer.tier": rng.choice(["free", "pro", "enterprise"]),
                    "tracelock.intent": rng.choice(["refund", "question"]),
                }
                child = {
                    "tracelock.cost.usd": rng.random() / 10,
                    "tracelock.retrieval.empty": rng.random() < 0.05,
                    "tracelock.feedback.complaint": rng.random() < 0.03,
                }
                spans.append(SpanSpec(trace, f"{n:012x}0000", start_ns=start, attributes=root))
                spans.append(
                    SpanSpec(trace, f"{n:012x}0001", f"{n:012x}0000", start_ns=start + 1000, attributes=child)
                )
            load_request(store, build_request(spans, {"gen_ai.request.model": "gpt-4o"}))
        rules = load_rules()
        for attempt in ("first", "second"):
            start_time = time.perf_counter()
            report = run_rules(store, rules, datetime.now(timezone.utc) - timedelta(hours=24))
            elapsed = time.perf_counter() - start_time
            print(f"  seeds run ({attempt}, {count:,} traces): {elapsed:.1f} s wall, {report.new} new seeds")
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=40, help="distinct requests per scenario")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=0, help="also time seeds run over this many traces")
    args = parser.parse_args()
    python = sys.version.split()[0]
    print(f"machine: {platform.platform()} {platform.machine()}, {os.cpu_count()} CPUs, Python {python}")
    print(
        f"common-expression-language {version('common-expression-language')}, protobuf {version('protobuf')}"
    )
    print(f"requests: {args.requests} x {SPANS_PER_REQUEST} spans, repeated {args.repeat}x, one thread")
    for scenario in ("typical", "retrieval-heavy", "no-trigger", "worst-case"):
        bodies = _requests(scenario, args.requests)
        mb = sum(map(len, bodies)) / 1e6
        elapsed, seeds, evaluated = _run(bodies, args.repeat)
        spans = len(bodies) * SPANS_PER_REQUEST * args.repeat
        print(
            f"{scenario:>15}: {spans / elapsed:>12,.0f} spans/s  ({elapsed / spans * 1e6:.2f} us/span, "
            f"{evaluated:,} rule evaluations, {seeds:,} seeds, {mb:.1f} MB of OTLP per pass)"
        )
    if args.batch:
        _batch(args.batch)
    label = "raw CEL"
    print(f"{label:>15}: {_raw_cel():>12,.0f} evaluations/s (one compiled condition, activation per call)")


if __name__ == "__main__":
    main()
