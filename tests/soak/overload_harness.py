"""Overload a real collector: measure its capacity, send at a multiple of it, watch RSS and the answers.

Phases: ``capacity`` (closed-loop senders until the writer has caught up: stored spans per second),
``overload`` (open-loop gRPC at ``factor`` x capacity plus an OTLP/HTTP probe), ``recovery`` (a third of
capacity; every request must succeed once the queue has drained). Then the collector is stopped cleanly
and every span id acknowledged in any phase must be stored exactly once.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import grpc
import httpx
from crash_harness import CollectorProcess, stored_span_counts
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

__all__ = ["OverloadReport", "RssSampler", "codes_text", "make_requests", "rss_kib", "run_overload"]

_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
SERVICE = "overload"


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class RssSampler:
    """Samples a process's resident set size every ``interval`` seconds in a thread."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid, self.interval, self.peak_kib, self.samples = pid, interval, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.peak_kib = max(self.peak_kib, rss_kib(self.pid))
                self.samples += 1
            except OSError:
                return

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def make_requests(count: int, spans: int, rng: random.Random) -> list[tuple[bytes, list[str]]]:
    """``count`` serialized requests of ``spans`` spans each, with their span ids (hex)."""
    out = []
    for _ in range(count):
        request = ExportTraceServiceRequest()
        rs = request.resource_spans.add()
        rs.resource.attributes.add(key="service.name").value.string_value = SERVICE
        ss = rs.scope_spans.add()
        ids = []
        now = time.time_ns()
        trace_id = rng.randbytes(16)
        for i in range(spans):
            span_id = rng.randbytes(8)
            span = ss.spans.add(
                trace_id=trace_id,
                span_id=span_id,
                name="llm.call",
                start_time_unix_nano=now,
                end_time_unix_nano=now + 1000 * i,
            )
            span.attributes.add(key="gen_ai.request.model").value.string_value = "gpt-overload"
            span.attributes.add(key="tracelock.intent").value.string_value = "refund"
            ids.append(span_id.hex())
        out.append((request.SerializeToString(), ids))
    return out


def codes_text(codes: Counter) -> str:
    """``A=3, B=1``: answers by code, sorted."""
    return ", ".join(f"{k}={v}" for k, v in sorted(codes.items()))


@dataclass
class PhaseResult:
    name: str
    seconds: float
    requests: int = 0
    acked_spans: int = 0
    codes: Counter = field(default_factory=Counter)
    retry_after_seen: int = 0

    def line(self) -> str:
        return (
            f"{self.name}: {self.seconds:.1f}s requests={self.requests} acked_spans={self.acked_spans} "
            f"[{codes_text(self.codes)}] retry_after={self.retry_after_seen}"
        )


class Sender:
    """Sends pre-built requests over raw gRPC and records acknowledged span ids per phase."""

    def __init__(self, port: int) -> None:
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.export = self.channel.unary_unary(_METHOD)
        self.acked: list[str] = []
        self._lock = threading.Lock()

    def _record(self, phase: PhaseResult, ids: list[str], code: grpc.StatusCode, trailers) -> None:
        with self._lock:
            phase.codes[code.name] += 1
            if code is grpc.StatusCode.OK:
                self.acked.extend(ids)
                phase.acked_spans += len(ids)
            elif any(k == "retry-after" for k, _ in trailers or ()):
                phase.retry_after_seen += 1

    def closed_loop(self, phase: PhaseResult, requests: list, threads: int, seconds: float) -> None:
        it = iter(requests)
        lock = threading.Lock()
        deadline = time.monotonic() + seconds

        def worker() -> None:
            while time.monotonic() < deadline:
                with lock:
                    item = next(it, None)
                if item is None:
                    return
                try:
                    _, call = self.export.with_call(item[0], timeout=30)
                    self._record(phase, item[1], call.code(), call.trailing_metadata())
                except grpc.RpcError as exc:
                    self._record(phase, item[1], exc.code(), exc.trailing_metadata())
                    if exc.code() is grpc.StatusCode.RESOURCE_EXHAUSTED:
                        time.sleep(0.2)
                phase.requests += 1

        workers = [threading.Thread(target=worker) for _ in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()

    def open_loop(self, phase: PhaseResult, requests: list, rate_rps: float, seconds: float) -> None:
        """Issue requests at ``rate_rps`` whatever the answers (futures), then wait for every answer."""
        futures = []
        start = time.monotonic()
        for n, (body, ids) in enumerate(requests):
            at = start + n / rate_rps
            if at - start > seconds:
                break
            delay = at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            future = self.export.future(body, timeout=30)
            future.add_done_callback(
                lambda f, ids=ids: self._record(phase, ids, f.code(), f.trailing_metadata())
            )
            futures.append(future)
            phase.requests += 1
        for future in futures:
            with contextlib.suppress(grpc.RpcError):
                future.result()
        time.sleep(0.1)  # callbacks


def http_probe(port: int, body: bytes, stop: threading.Event, out: Counter, interval: float = 0.1) -> None:
    """OTLP/HTTP probe during overload: counts status codes and Retry-After headers."""
    with httpx.Client(timeout=30) as client:
        while not stop.wait(interval):
            response = client.post(
                f"http://127.0.0.1:{port}/v1/traces",
                content=body,
                headers={"content-type": "application/x-protobuf"},
            )
            out[f"http_{response.status_code}"] += 1
            if response.status_code in (429, 503) and response.headers.get("retry-after"):
                out["http_retry_after"] += 1


def wait_idle(port: int, timeout: float) -> float:
    """Seconds until /readyz reports no queued spans."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            doc = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).json()
            if doc.get("queued_spans") == 0:
                return time.monotonic() - start
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"collector still had queued spans after {timeout}s")


@dataclass
class OverloadReport:
    capacity_spans_per_s: float
    phases: list[PhaseResult]
    baseline_rss_mib: float
    peak_rss_mib: float
    http_probe: Counter
    acknowledged: int
    found: int
    lost: int
    duplicates: int
    recovered_after_s: float
    recovery_windows_ok: list[bool] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"capacity: {self.capacity_spans_per_s:.0f} spans/s (closed loop, until written)",
            *[p.line() for p in self.phases],
            f"http probe during overload: {dict(self.http_probe)}",
            f"rss: baseline {self.baseline_rss_mib:.0f} MiB, peak {self.peak_rss_mib:.0f} MiB",
            f"recovered (first fully accepted second) after {self.recovered_after_s:.1f}s of reduced load; "
            f"seconds fully accepted: {''.join('+' if ok else '-' for ok in self.recovery_windows_ok)}",
            f"acknowledged={self.acknowledged} found={self.found} lost={self.lost} "
            f"duplicates={self.duplicates}",
        ]


def run_overload(
    collector: CollectorProcess,
    *,
    capacity_seconds: float = 5,
    overload_seconds: float = 10,
    recovery_seconds: float = 5,
    factor: float = 3.0,
    spans_per_request: int = 100,
    seed: int = 0,
    log=lambda _m: None,
) -> OverloadReport:
    rng = random.Random(seed)
    collector.start()
    assert collector.proc is not None
    time.sleep(0.5)
    baseline = rss_kib(collector.proc.pid)
    sender = Sender(collector.grpc_port)
    phases = []
    with RssSampler(collector.proc.pid) as rss:
        capacity = PhaseResult("capacity", capacity_seconds)
        requests = make_requests(int(capacity_seconds * 200), spans_per_request, rng)
        started = time.monotonic()
        sender.closed_loop(capacity, requests, threads=4, seconds=capacity_seconds)
        wait_idle(collector.http_port, 120)
        capacity.seconds = time.monotonic() - started
        spans_per_s = capacity.acked_spans / capacity.seconds
        phases.append(capacity)
        log(capacity.line())

        rate_rps = factor * spans_per_s / spans_per_request
        overload = PhaseResult(f"overload x{factor:g}", overload_seconds)
        requests = make_requests(int(rate_rps * overload_seconds) + 1, spans_per_request, rng)
        probe_codes: Counter = Counter()
        probe_body, probe_ids = requests[-1]  # resent as is: its ids are stored several times, on purpose
        stop = threading.Event()
        probe = threading.Thread(
            target=http_probe, args=(collector.http_port, probe_body, stop, probe_codes), daemon=True
        )
        probe.start()
        sender.open_loop(overload, requests[:-1], rate_rps, overload_seconds)
        stop.set()
        probe.join()
        if probe_codes.get("http_200"):
            sender.acked.extend(probe_ids)
        phases.append(overload)
        log(overload.line())

        recovery = PhaseResult("recovery x0.3", recovery_seconds)
        rate_rps = 0.3 * spans_per_s / spans_per_request
        requests = make_requests(int(rate_rps * recovery_seconds) + 1, spans_per_request, rng)
        recovered_after = recovery_seconds
        windows: list[bool] = []
        started = time.monotonic()
        per_second = max(1, int(rate_rps))
        for i in range(0, len(requests), per_second):
            window = PhaseResult("window", 1)
            sender.open_loop(window, requests[i : i + per_second], rate_rps, 1.5)
            recovery.requests += window.requests
            recovery.acked_spans += window.acked_spans
            recovery.codes.update(window.codes)
            recovery.retry_after_seen += window.retry_after_seen
            windows.append(window.codes.get("OK", 0) == window.requests)
            if window.codes.get("OK") == window.requests and recovered_after == recovery_seconds:
                recovered_after = time.monotonic() - started - 1
        phases.append(recovery)
        log(recovery.line())
        wait_idle(collector.http_port, 300)
    collector.stop()
    stored = stored_span_counts(collector.data_dir, service=SERVICE, env=collector.env)
    acked = set(sender.acked)
    duplicates = sum(n - 1 for sid, n in stored.items() if n > 1 and sid not in set(probe_ids))
    return OverloadReport(
        capacity_spans_per_s=spans_per_s,
        phases=phases,
        baseline_rss_mib=baseline / 1024,
        peak_rss_mib=rss.peak_kib / 1024,
        http_probe=probe_codes,
        acknowledged=len(acked),
        found=len(stored),
        lost=len(acked - stored.keys()),
        duplicates=duplicates,
        recovered_after_s=max(0.0, recovered_after),
        recovery_windows_ok=windows,
    )
