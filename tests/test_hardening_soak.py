"""The long runs as tests: ``pytest -m soak tests/test_hardening_soak.py`` (skipped by default).

The same harness as ``bench/crash_soak.py`` and ``bench/overload.py``; figures in bench/RESULTS.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

sys.path.insert(0, str(Path(__file__).parent / "soak"))
from crash_harness import collector_process, run_crash_soak
from overload_harness import run_overload

pytestmark = [pytest.mark.soak, pytest.mark.exclusive, pytest.mark.timeout(1800)]


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_25_sigkills_lose_and_duplicate_nothing(tmp_path: Path, protocol: str) -> None:
    collector = collector_process(tmp_path)
    if protocol == "grpc":
        make = lambda: GrpcExporter(endpoint=f"127.0.0.1:{collector.grpc_port}", insecure=True, timeout=20)  # noqa: E731
    else:
        make = lambda: HttpExporter(endpoint=f"http://127.0.0.1:{collector.http_port}/v1/traces", timeout=20)  # noqa: E731
    report = run_crash_soak(collector, make, data_dir=collector.data_dir, kills=25, rate=800, seed=11)
    print(report.line())
    assert report.kills == 25 and report.acknowledged > 10_000, report.line()
    assert report.lost == 0 and report.duplicates == 0, report.line()


def test_60_seconds_at_three_times_capacity(tmp_path: Path) -> None:
    collector = collector_process(
        tmp_path, batch="{max_queue_spans: 50000}", memory_limiter="{limit_mib: 768}"
    )
    report = run_overload(
        collector, capacity_seconds=10, overload_seconds=60, recovery_seconds=15, spans_per_request=200
    )
    text = "\n".join(report.lines())
    print(text)
    _, overload, _ = report.phases
    assert overload.codes["RESOURCE_EXHAUSTED"] == overload.retry_after_seen > 0, text
    assert report.peak_rss_mib < 768 * 1.2, text
    assert report.recovery_windows_ok[-3:] == [True, True, True], text
    assert report.lost == 0 and report.duplicates == 0, text
