"""Time per span (start + end, ~15 attributes) on the bare OTel SDK and with tracelock's processors.

Both providers run in the same process on the same attribute set, in interleaved pairs of chunks. Time is
this thread's CPU time (``time.thread_time``), so other processes on a shared machine do not count; the
figures are the fastest chunk of each (the least disturbed) and the median of the paired differences.
As ``timeit`` does, the garbage collector runs between chunks, not inside them: a collection inside a
2000-span chunk moved that chunk's figure by up to 5 us a span and made medians of 60 pairs wander by
+-0.5 us, more than the differences measured.
No exporter is attached to either provider, so the difference is what the processors add.
Target: <= 1 us added per span (paired median), in every case.

A third column says what the keys themselves cost: a processor with no logic at all that writes the very
attributes tracelock leaves on that case's span (labels, origin, versions, cost), already computed, in
``on_start``. Any processor that stamps those keys pays it (a larger attribute dict to grow, end and
free); "logic" is tracelock's figure minus it.

A second table says where each case's time goes: the hot cost of each hook on freshly started spans
(fastest of many small batches, so the least disturbed), next to a processor whose hooks do nothing -
what any SDK processor costs in the SDK's own dispatch. Instruction counts under valgrind are optional
(``--instructions``): deterministic, but Python runs differently under valgrind (every allocation goes
to the system allocator), so they overstate allocation-heavy work; quote time first.

    python bench/processors.py [--chunk 2000] [--rounds 60] [--instructions 5000]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from statistics import median

from opentelemetry import baggage
from opentelemetry import context as otel_context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Span, SpanProcessor, TracerProvider

import tracelock

ATTRIBUTES = {  # a realistic LLM call span: 15 attributes
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
    "gen_ai.request.temperature": 0.2,
    "gen_ai.request.max_tokens": 512,
    "gen_ai.response.id": "chatcmpl-123",
    "gen_ai.response.finish_reasons": ("stop",),
    "gen_ai.usage.input_tokens": 812,
    "gen_ai.usage.output_tokens": 64,
    "gen_ai.conversation.id": "conv-42",
    "server.address": "api.openai.com",
    "server.port": 443,
    "http.route": "/chat",
    "user.id": "u-7",
}
HTTP_ATTRIBUTES = {  # most spans of a service are not LLM calls: 15 HTTP/DB attributes
    "http.request.method": "POST",
    "http.route": "/chat",
    "http.response.status_code": 200,
    "url.scheme": "https",
    "url.path": "/chat",
    "server.address": "bot.example.com",
    "server.port": 443,
    "client.address": "10.0.0.7",
    "user_agent.original": "curl/8",
    "network.protocol.version": "1.1",
    "db.system.name": "postgresql",
    "db.namespace": "support",
    "db.operation.name": "SELECT",
    "db.collection.name": "tickets",
    "user.id": "u-7",
}
PRICES = {"gpt-4o-mini": (0.15, 0.60)}
VERSIONS = {"model": "gpt-4o-mini", "prompt_version": "refund-v4", "retriever_version": "idx-2026-08"}


def time_spans(
    provider: TracerProvider,
    spans: int,
    scope: Callable[[], AbstractContextManager],
    attrs: dict = ATTRIBUTES,
) -> float:
    tracer = provider.get_tracer("bench")
    start_span = tracer.start_span
    gc.collect()  # as timeit does: no collector pass inside a timed chunk (one costs ms: +-5 us a span)
    gc.disable()
    try:
        with scope():
            t0 = time.thread_time()
            for _ in range(spans):
                start_span("chat gpt-4o-mini", attributes=attrs).end()
            return (time.thread_time() - t0) / max(spans, 1) * 1e6
    finally:
        gc.enable()


class NoopProcessor(SpanProcessor):
    """Hooks that do nothing: the floor any SDK span processor pays in the SDK's dispatch."""

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        return None

    def _on_ending(self, span: Span) -> None:
        return None


class KeysOnlyProcessor(SpanProcessor):
    """Writes fixed, precomputed attributes at start and nothing else: the cost of carrying the keys."""

    def __init__(self, keys: dict[str, object]) -> None:
        self.keys = keys

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        span._attributes._dict.update(self.keys)  # type: ignore[attr-defined]

    def _on_ending(self, span: Span) -> None:
        return None


def keys_written(provider: TracerProvider, scope: Callable[[], AbstractContextManager], attrs: dict) -> dict:
    """The attributes ``provider`` leaves on an ended span beyond ``attrs``."""
    with scope():
        span = provider.get_tracer("bench").start_span("chat gpt-4o-mini", attributes=attrs)
        span.end()
    return {k: v for k, v in (span.attributes or {}).items() if k not in attrs}


def keys_only_provider(resource: Resource, keys: dict[str, object]) -> TracerProvider:
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(KeysOnlyProcessor(keys))
    return provider


def hook_ns(hook: Callable[[Span], object], spans: Callable[[], list[Span]], repeats: int = 300) -> float:
    """Hot cost of one hook call in ns: the fastest of ``repeats`` batches of freshly started spans."""
    best = float("inf")
    for _ in range(repeats):
        batch = spans()
        t0 = time.perf_counter_ns()
        for span in batch:
            hook(span)
        best = min(best, (time.perf_counter_ns() - t0) / len(batch))
    return best


def print_hooks(cases: dict[str, tuple[TracerProvider, Callable[[], AbstractContextManager], dict]]) -> None:
    """Where each case's time goes: on_start and _on_ending of tracelock's processor, minus a no-op's."""
    tracer = TracerProvider().get_tracer("bench")
    noop = NoopProcessor()
    print("\nwhere the time goes: hot ns per hook call, tracelock's minus a no-op processor's")
    print(f"{'case':48} {'on_start':>9} {'_on_ending':>11} {'sum':>6}")
    for name, (provider, scope, attrs) in cases.items():
        (ours,) = [p for p in provider._active_span_processor._span_processors if hasattr(p, "shared")]
        with scope():
            ctx = otel_context.get_current()

        def fresh(attrs: dict = attrs) -> list[Span]:
            return [tracer.start_span("chat", attributes=attrs) for _ in range(100)]

        def started(ours: SpanProcessor = ours, ctx: otel_context.Context = ctx) -> list[Span]:
            batch = fresh()
            for span in batch:
                ours.on_start(span, parent_context=ctx)
            return batch

        def ours_start(span: Span, ours: SpanProcessor = ours, ctx: otel_context.Context = ctx) -> None:
            ours.on_start(span, parent_context=ctx)

        def noop_start(span: Span, ctx: otel_context.Context = ctx) -> None:
            noop.on_start(span, parent_context=ctx)

        start = hook_ns(ours_start, fresh) - hook_ns(noop_start, fresh)
        ending = hook_ns(ours._on_ending, started) - hook_ns(noop._on_ending, started)
        print(f"{name:48} {start:9.0f} {ending:11.0f} {start + ending:6.0f}")


def in_remote_context() -> AbstractContextManager:
    """Labels that arrived through W3C Baggage only (a downstream service)."""
    ctx = baggage.set_baggage("tracelock.intent", "refund")
    ctx = baggage.set_baggage("tracelock.customer.tier", "enterprise", ctx)

    class _Attach:
        def __enter__(self) -> None:
            self.token = otel_context.attach(ctx)

        def __exit__(self, *exc: object) -> None:
            otel_context.detach(self.token)

    return _Attach()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunk", type=int, default=200, help="spans per timed chunk")
    parser.add_argument("--rounds", type=int, default=600, help="paired chunks per case")
    parser.add_argument(
        "--instructions",
        type=int,
        default=0,
        metavar="SPANS",
        help="also count CPU instructions per span under valgrind (deterministic, load-independent)",
    )
    parser.add_argument("--one", nargs=3, metavar=("CASE", "VARIANT", "SPANS"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    # exactly what users get: instrument() without an exporter; bare = same Resource, no processors
    ours = tracelock.instrument("bench", export=False, prices=PRICES, set_global=False, **VERSIONS)
    plain = tracelock.instrument("bench", export=False, set_global=False, **VERSIONS)
    bare = TracerProvider(resource=ours.resource)
    existing = TracerProvider(resource=Resource.create({"service.name": "bench"}))
    tracelock.instrument(tracer_provider=existing, export=False, prices=PRICES, set_global=False, **VERSIONS)
    noop = TracerProvider(resource=ours.resource)
    noop.add_span_processor(NoopProcessor())

    def three_labels() -> AbstractContextManager:
        return tracelock.labels(intent="refund", customer_tier="enterprise", language="en")

    llm, http = ATTRIBUTES, HTTP_ATTRIBUTES
    cases: dict[str, tuple[TracerProvider, Callable[[], AbstractContextManager], dict]] = {
        "LLM span, no labels, no price table (default)": (plain, nullcontext, llm),
        "LLM span, 3 labels, no price table": (plain, three_labels, llm),
        "LLM span, no labels, cost from price table": (ours, nullcontext, llm),
        "LLM span, 3 labels, prices": (ours, three_labels, llm),
        "LLM span, 2 labels from W3C Baggage, prices": (ours, in_remote_context, llm),
        "LLM span, eval_context (origin+3 keys), prices": (
            ours,
            lambda: tracelock.eval_context(run_id="r1", case_id="c7", repeat=0),
            llm,
        ),
        "LLM span, existing provider, 3 labels, prices": (existing, three_labels, llm),
        "HTTP/DB span, 3 labels, prices": (ours, three_labels, http),
    }
    floor = {"floor: a processor whose hooks do nothing": (noop, nullcontext, llm)}
    if args.one:  # a child run under valgrind: one case, bare or ours, a given number of spans
        provider, scope, attrs = list(cases.values())[int(args.one[0])]
        time_spans(bare if args.one[1] == "bare" else provider, int(args.one[2]), scope, attrs)
        return
    load = os.getloadavg()
    time_spans(bare, 2000, nullcontext)  # warm up
    rows = []
    keys_rows = []
    for name, (provider, scope, attrs) in {**floor, **cases}.items():
        written = keys_written(provider, scope, attrs)
        keys = keys_only_provider(provider.resource, written)
        bare_runs, ours_runs, diffs, keys_diffs = [], [], [], []
        for _ in range(args.rounds):  # paired, interleaved chunks: drift and GC hit all alike
            bare_us = time_spans(bare, args.chunk, nullcontext, attrs)
            ours_us = time_spans(provider, args.chunk, scope, attrs)
            keys_us = time_spans(keys, args.chunk, nullcontext, attrs)
            bare_runs.append(bare_us)
            ours_runs.append(ours_us)
            diffs.append(ours_us - bare_us)
            keys_diffs.append(keys_us - bare_us)
        rows.append((name, min(bare_runs), min(ours_runs), median(diffs)))
        keys_rows.append((len(written), median(keys_diffs)))

    print(
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average at start {load[0]:.1f}, at end {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{args.rounds} paired chunks of {args.chunk} spans per case; {len(ATTRIBUTES)} attributes per span;"
        " no exporter; thread CPU time"
    )
    print("best = fastest chunk (least disturbed); paired = median of the per-pair differences")
    print("keys alone = a no-logic processor writing the same keys (paired median); logic = added - keys")
    header = (
        f"{'case':48} {'bare best':>10} {'ours best':>10} {'added best':>11} {'added paired':>13}"
        f" {'keys':>5} {'keys alone':>11} {'logic':>6}"
    )
    print(header)
    for (name, bare_us, ours_us, paired), (n_keys, keys_paired) in zip(rows, keys_rows, strict=True):
        print(
            f"{name:48} {bare_us:10.2f} {ours_us:10.2f} {ours_us - bare_us:11.2f} {paired:13.2f}"
            f" {n_keys:5d} {keys_paired:11.2f} {paired - keys_paired:6.2f}"
        )
    print_hooks(cases)
    if args.instructions:
        print_instructions(list(cases), rows[1:], args.instructions)
    worst = max(rows[1:], key=lambda row: row[3])
    print(f"\nworst case: {worst[0]}: {worst[3]:.2f} us added (paired median), target <= 1 us")


def _instructions(*child_args: str) -> int:
    """CPU instructions valgrind counts for one child run of this script."""
    cmd = [
        "valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
        sys.executable, __file__, "--one", *child_args,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # same dict layouts in every child run
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stderr
    return int(re.search(r"I\s+refs:\s+([\d,]+)", out).group(1).replace(",", ""))


def print_instructions(names: list[str], rows: list[tuple[str, float, float, float]], spans: int) -> None:
    """Instructions per span, bare and ours, from runs of ``spans`` spans minus a run of none; the
    added time is estimated as the added share of instructions times the measured bare time."""
    if shutil.which("valgrind") is None:
        print("valgrind not found: no instruction counts")
        return
    startup = _instructions("0", "bare", "0")
    print(f"\ninstructions per span (valgrind cachegrind, {spans} spans per run, startup subtracted)")
    print(f"{'case':48} {'bare':>9} {'ours':>9} {'added':>7} {'added %':>8} {'= us':>6}")
    for index, (name, (_, bare_us, _, _)) in enumerate(zip(names, rows, strict=True)):
        bare_i = (_instructions(str(index), "bare", str(spans)) - startup) / spans
        ours_i = (_instructions(str(index), "ours", str(spans)) - startup) / spans
        share = (ours_i - bare_i) / bare_i
        figures = (
            f"{bare_i:9.0f} {ours_i:9.0f} {ours_i - bare_i:7.0f} {share * 100:7.1f}% {share * bare_us:6.2f}"
        )
        print(f"{name:48} {figures}")


if __name__ == "__main__":
    main()
