"""Large requests against a real collector's memory_limiter: peak RSS against ``limit_mib``, and recovery.

``run_large_requests`` sends OTLP/HTTP protobuf requests of ``request_mib`` each (spans of 8 x 1 KiB
attributes, under the default 16 MiB body limit) from ``concurrency`` closed-loop senders for ``seconds``,
sampling the collector's RSS. Then it measures recovery: seconds from the end of the load until the queue has
drained and an export is accepted again, and whether ten small exports over the following two idle
seconds are all accepted (a limiter that keeps refusing while idle fails here).
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
from crash_harness import CollectorProcess
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from overload_harness import RssSampler, codes_text, rss_kib, wait_idle

__all__ = ["LargeRequestReport", "large_request", "run_large_requests"]

_ATTRIBUTE = "x" * 1024
_PROTOBUF = {"content-type": "application/x-protobuf"}


def large_request(request_mib: float) -> bytes:
    """One ExportTraceServiceRequest of about ``request_mib`` MiB (~8.3 KiB per span)."""
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.add(key="service.name").value.string_value = "large-requests"
    spans = rs.scope_spans.add().spans
    trace_id, now = os.urandom(16), time.time_ns()
    for _ in range(max(1, int(request_mib * 1024 * 1024 / 8_500))):
        span = spans.add(trace_id=trace_id, span_id=os.urandom(8), name="llm.call", start_time_unix_nano=now)
        span.end_time_unix_nano = now + 1000
        for k in range(8):
            span.attributes.add(key=f"payload.{k}").value.string_value = _ATTRIBUTE
    return request.SerializeToString()


@dataclass
class LargeRequestReport:
    request_mib: float
    concurrency: int
    limit_mib: int
    baseline_mib: float = 0.0
    peak_mib: float = 0.0
    codes: Counter = field(default_factory=Counter)
    recovery_s: float = float("nan")
    idle_accepted: int = 0

    def line(self) -> str:
        ratio = self.peak_mib / self.limit_mib
        return (
            f"request={self.request_mib:g} MiB x{self.concurrency}: baseline {self.baseline_mib:.0f} MiB, "
            f"peak RSS {self.peak_mib:.0f} MiB = {ratio:.2f} x limit_mib {self.limit_mib}; "
            f"answers [{codes_text(self.codes)}]; recovery {self.recovery_s:.1f} s; "
            f"idle exports accepted {self.idle_accepted}/10"
        )


def run_large_requests(
    collector: CollectorProcess, *, request_mib: float, concurrency: int, seconds: float, limit_mib: int
) -> LargeRequestReport:
    assert collector.proc is not None
    url = f"http://127.0.0.1:{collector.http_port}/v1/traces"
    body = large_request(request_mib)
    small = large_request(0.01)
    report = LargeRequestReport(request_mib, concurrency, limit_mib, rss_kib(collector.proc.pid) / 1024)
    deadline = time.monotonic() + seconds
    lock = threading.Lock()

    def sender() -> None:
        with httpx.Client(timeout=60) as client:
            while time.monotonic() < deadline:
                try:
                    code = str(client.post(url, content=body, headers=_PROTOBUF).status_code)
                except httpx.HTTPError as exc:
                    code = type(exc).__name__
                with lock:
                    report.codes[code] += 1
                if code != "200":
                    time.sleep(0.2)

    with RssSampler(collector.proc.pid, interval=0.05) as sampler:
        senders = [threading.Thread(target=sender) for _ in range(concurrency)]
        for thread in senders:
            thread.start()
        for thread in senders:
            thread.join()
        ended = time.monotonic()
        with httpx.Client(timeout=60) as client:
            wait_idle(collector.http_port, 120)
            while time.monotonic() - ended < 180:
                if client.post(url, content=small, headers=_PROTOBUF).status_code == 200:
                    report.recovery_s = time.monotonic() - ended
                    break
                time.sleep(0.1)
            time.sleep(1.0)
            for _ in range(10):
                report.idle_accepted += client.post(url, content=small, headers=_PROTOBUF).status_code == 200
                time.sleep(0.2)
    report.peak_mib = sampler.peak_kib / 1024
    return report
