"""Ingest benchmark of ``tracelock collector``: pre-encoded OTLP requests over loopback, gRPC and HTTP.

Each request holds 512 LLM-app spans. The headline workload (``--workload sdk``, the default) is what
an instrumented app sends: traces recorded by the real OpenTelemetry SDK and encoded by its OTLP
encoder, 4 spans per trace (request, retrieval, LLM call, guardrail), ~15 GenAI/OpenInference
attributes and ~700 bytes per span (``bench/sdk_workload.py``). ``--workload synthetic`` is the earlier
hand-built request (one span shape, ~15 attributes, a few hundred bytes of prompt text).

The collector runs as a subprocess with its default pipeline (normalise -> batch -> chDB, WAL fsync
on), pinned with ``taskset`` to one core or two; the load generator runs on the remaining core(s).
Printed per run: acknowledged spans/s (all exports answered OK), queryable spans/s (until ``count()``
over ``otel_traces`` through the admin endpoint sees every span), the collector's peak RSS (VmHWM), its
RSS before the load (idle), and its CPU time (user + system, all threads) with spans per collector
CPU-second, the figure that survives a shared machine. Targets (issue 18): collector CPU per span <= 2x
``bench/write_floor.py``'s floor for the same rows on one core; two cores >= 1.8x one core; peak RSS
<= 600 MB; idle RSS not creeping.

    python bench/collector_ingest.py [--workload sdk|synthetic] [--requests 400] [--concurrency 8]
        [--cores 1 2] [--protocols grpc http] [--batch '{send_batch_size: 32768}'] [--spans-per-trace 1]
        [--idle 30]

``--idle S`` also samples the collector's RSS over S idle seconds after its start and S after the load
(does it creep?).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from sdk_workload import SPANS_PER_TRACE, sdk_request

SPANS_PER_REQUEST = 512
EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
PROMPT = (
    "You are a support assistant for ACME Bank. Answer the customer's question about refunds using only "
    "the retrieved policy documents. If the policy does not cover the case, say so and offer a human agent. "
    "Customer: I was charged twice for the same order last Tuesday, can I get the duplicate refunded? "
)


def _kv(key: str, **value: object) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(**value))


def _trace_ids(rng: random.Random, spans_per_trace: int) -> Iterator[bytes]:
    """A trace id per span: every ``spans_per_trace`` consecutive spans share one."""
    while True:
        trace_id = rng.randbytes(16)
        for _ in range(spans_per_trace):
            yield trace_id


def make_request(seed: int, spans_per_trace: int = 1) -> bytes:
    """One request of 512 spans; every ``spans_per_trace`` consecutive spans share a trace id."""
    rng = random.Random(seed)
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.extend(
        [
            _kv("service.name", string_value="support-bot"),
            _kv("tracelock.retriever.version", string_value="r-12"),
        ]
    )
    ss = rs.scope_spans.add()
    ss.scope.name = "openinference.instrumentation.openai"
    trace_ids = _trace_ids(rng, spans_per_trace)
    for i in range(SPANS_PER_REQUEST):
        start = 1_760_000_000_000_000_000 + seed * 10_000_000 + i * 1000
        span = ss.spans.add(
            trace_id=next(trace_ids),
            span_id=rng.randbytes(8),
            parent_span_id=rng.randbytes(8),
            name="chat gpt-4o",
            kind=3,
            start_time_unix_nano=start,
            end_time_unix_nano=start + 850_000_000,
        )
        span.attributes.extend(
            [
                _kv("gen_ai.operation.name", string_value="chat"),
                _kv("llm.model_name", string_value=rng.choice(["gpt-4o", "gpt-4o-mini"])),
                _kv("gen_ai.provider.name", string_value="openai"),
                _kv("gen_ai.prompt.name", string_value="refund-policy"),
                _kv("gen_ai.prompt.version", string_value=rng.choice(["v3", "v4"])),
                _kv("tracelock.intent", string_value=rng.choice(["refund", "balance", "card"])),
                _kv("tracelock.feature", string_value="chat"),
                _kv("tracelock.language", string_value=rng.choice(["en", "de", "fr"])),
                _kv("tracelock.customer.tier", string_value=rng.choice(["free", "pro"])),
                _kv("gen_ai.output.type", string_value="text"),
                _kv("llm.token_count.prompt", int_value=rng.randint(200, 4000)),
                _kv("gen_ai.usage.output_tokens", int_value=rng.randint(20, 500)),
                _kv("tracelock.cost.usd", double_value=rng.random() / 100),
                _kv("tracelock.retrieval.empty", bool_value=rng.random() < 0.05),
                _kv("input.value", string_value=PROMPT + str(rng.random())),
            ]
        )
    return request.SerializeToString()


def _config(path: Path, batch: str = "{}", exporter: str = "{}") -> Path:
    path.write_text(
        "receivers:\n  otlp:\n    protocols:\n"
        "      grpc: {endpoint: '127.0.0.1:0'}\n"
        "      http: {endpoint: '127.0.0.1:0'}\n"
        f"processors: {{normalize: {{}}, batch: {batch}}}\n"
        f"exporters: {{clickhouse: {exporter}}}\n"
        "service:\n  pipelines:\n"
        "    traces: {receivers: [otlp], processors: [normalize, batch], exporters: [clickhouse]}\n"
    )
    return path


def _start(
    workdir: Path, cpus: str, batch: str = "{}", exporter: str = "{}"
) -> tuple[subprocess.Popen, dict]:
    argv = [
        "taskset",
        "-c",
        cpus,
        sys.executable,
        "-m",
        "tracelock",
        "--data-dir",
        str(workdir / "data"),
        "collector",
        "--config",
        str(_config(workdir / "c.yaml", batch, exporter)),
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=open(workdir / "log", "w"), text=True)  # noqa: SIM115
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
    return proc, json.loads(lines.get(timeout=120))


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of the collector so far (all its threads): robust to a shared machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_by_thread(pid: int) -> dict[str, float]:
    """CPU seconds of the collector's live threads by thread name (Python's own threads are all named
    after the process; ClickHouse names its pools: QueryPipelineEx, MergeMutate, ...)."""
    out: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name, rest = (task / "stat").read_text().rsplit(")", 1)
        except OSError:  # the thread ended meanwhile
            continue
        fields = rest.split()
        comm = name.split("(", 1)[1]
        out[comm] = out.get(comm, 0.0) + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def _cpu_split(before: dict[str, float], after: dict[str, float], total: float) -> dict[str, float]:
    """Where the run's CPU went, by thread name, largest first; threads that ended are ``(ended)``."""
    spent = {k: after[k] - before.get(k, 0.0) for k in after}
    top = dict(sorted(((k, round(v, 2)) for k, v in spent.items() if v >= 0.05), key=lambda kv: -kv[1]))
    top["(ended)"] = round(total - sum(spent.values()), 2)
    return top


def _count(admin: str, token: str) -> int:
    response = httpx.post(
        admin + "/admin/query",
        headers={"authorization": f"Bearer {token}"},
        json={"sql": "SELECT count() FROM otel_traces"},
        timeout=60,
    )
    return int(response.json()["rows"][0][0])


def _send_grpc(target: str, bodies: list[bytes], concurrency: int) -> None:
    with grpc.insecure_channel(target, options=[("grpc.max_send_message_length", 64 << 20)]) as channel:
        export = channel.unary_unary(EXPORT)

        def one(body: bytes) -> None:
            while True:
                try:
                    export(body, timeout=60)
                    return
                except grpc.RpcError as exc:
                    if exc.code() is not grpc.StatusCode.RESOURCE_EXHAUSTED:
                        raise
                    time.sleep(0.05)

        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(one, bodies))


def _send_http(url: str, bodies: list[bytes], concurrency: int) -> None:
    local = threading.local()

    def one(body: bytes) -> None:
        client = getattr(local, "client", None) or httpx.Client(timeout=60)
        local.client = client
        while True:
            response = client.post(
                url + "/v1/traces", content=body, headers={"content-type": "application/x-protobuf"}
            )
            if response.status_code == 200:
                return
            if response.status_code not in (429, 503):
                raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
            time.sleep(0.05)

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, bodies))


def run(
    protocol: str,
    cores: int,
    bodies: list[bytes],
    concurrency: int,
    batch: str = "{}",
    idle: float = 0,
    exporter: str = "{}",
) -> dict:
    collector_cpus = "0" if cores == 1 else "0,1"
    client_cpus = {1} if (os.cpu_count() or 1) > 1 and cores == 1 else None
    workdir = Path(tempfile.mkdtemp(prefix="tl-bench-"))
    try:
        proc, ready = _start(workdir, collector_cpus, batch, exporter)
        token = json.loads((workdir / "data" / "collector.json").read_text())["token"]
        if client_cpus:
            os.sched_setaffinity(0, client_cpus)
        total = len(bodies) * SPANS_PER_REQUEST
        idle_rss = _rss_mb(proc.pid)
        time.sleep(idle)
        idle_rss_later = _rss_mb(proc.pid)
        cpu_before = _cpu_seconds(proc.pid)
        threads_before = _cpu_by_thread(proc.pid)
        started = time.perf_counter()
        if protocol == "grpc":
            _send_grpc(ready["grpc"], bodies, concurrency)
        else:
            _send_http(ready["http"], bodies, concurrency)
        acked = time.perf_counter() - started
        while _count(ready["admin"], token) < total:
            time.sleep(0.02)
        queryable = time.perf_counter() - started
        cpu = _cpu_seconds(proc.pid) - cpu_before
        by_thread = _cpu_split(threads_before, _cpu_by_thread(proc.pid), cpu)
        rss = _peak_rss_mb(proc.pid)
        after_load = _rss_mb(proc.pid)
        time.sleep(idle)
        after_load_later = _rss_mb(proc.pid)
        proc.terminate()
        proc.wait(60)
        return {
            "protocol": protocol,
            "collector_cores": cores,
            "spans": total,
            "acked_spans_per_s": round(total / acked),
            "queryable_spans_per_s": round(total / queryable),
            "collector_cpu_s": round(cpu, 2),
            "spans_per_collector_cpu_s": round(total / cpu) if cpu else None,
            "collector_cpu_s_by_thread": by_thread,
            "idle_rss_mb": round(idle_rss),
            "peak_rss_mb": round(rss),
            **(
                {
                    "idle_s": idle,
                    "idle_rss_mb_start_then_later": [round(idle_rss), round(idle_rss_later)],
                    "rss_mb_after_load_then_later": [round(after_load), round(after_load_later)],
                }
                if idle
                else {}
            ),
            "load_avg_1m": round(os.getloadavg()[0], 2),
        }
    finally:
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=["sdk", "synthetic"], default="sdk")
    parser.add_argument("--requests", type=int, default=400, help="requests of 512 spans per run")
    parser.add_argument("--idle", type=float, default=0, help="seconds of RSS sampling after the load")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--cores", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--protocols", nargs="+", default=["grpc", "http"])
    parser.add_argument(
        "--batch",
        default="{}",
        help="batch processor config as a YAML mapping, e.g. '{send_batch_size: 32768}'",
    )
    parser.add_argument(
        "--exporter",
        default="{}",
        help="clickhouse exporter config as a YAML mapping, e.g. '{num_consumers: 2}'",
    )
    parser.add_argument(
        "--spans-per-trace",
        type=int,
        default=1,
        help="synthetic workload: consecutive spans sharing a trace id (1: every span its own trace)",
    )
    args = parser.parse_args()
    print(
        f"machine: {platform.platform()} python {platform.python_version()} cpus={os.cpu_count()} "
        f"processor={platform.processor() or platform.machine()}"
    )
    k = SPANS_PER_TRACE if args.workload == "sdk" else args.spans_per_trace
    bodies = workload_bodies(args.workload, args.requests, k)
    print(
        f"{len(bodies)} requests x {SPANS_PER_REQUEST} spans, "
        f"{sum(map(len, bodies)) / len(bodies) / 1024:.0f} KiB per request, concurrency {args.concurrency}, "
        f"{k} span(s) per trace, workload {args.workload}"
    )
    for cores in args.cores:
        for protocol in args.protocols:
            result = run(protocol, cores, bodies, args.concurrency, args.batch, args.idle, args.exporter)
            print(json.dumps(result), flush=True)


def workload_bodies(workload: str, count: int, spans_per_trace: int = 1) -> list[bytes]:
    """``count`` requests of ``workload`` (sdk | synthetic), every span distinct: 64 built, the rest
    copies of those with fresh ids (building 400 through the SDK would take a minute)."""
    built = min(count, 64)
    distinct = [
        sdk_request(i) if workload == "sdk" else make_request(i, spans_per_trace) for i in range(built)
    ]
    return [
        distinct[i % built] if i < built else _reseed(distinct[i % built], i, spans_per_trace)
        for i in range(count)
    ]


def _reseed(body: bytes, n: int, spans_per_trace: int) -> bytes:
    """A copy of a request with fresh span/trace ids (cheap: ids only), so every span is distinct."""
    request = ExportTraceServiceRequest.FromString(body)
    rng = random.Random(n)
    trace_ids = _trace_ids(rng, spans_per_trace)
    for span in request.resource_spans[0].scope_spans[0].spans:
        span.trace_id, span.span_id = next(trace_ids), rng.randbytes(8)
    return request.SerializeToString()


if __name__ == "__main__":
    main()
