"""Crash safety, short version: SIGKILL a real collector subprocess 5 times (3 on gRPC, 2 on HTTP) while
the real OTel SDK exporter streams spans into it; every acknowledged span must be stored, none twice.

The long run (>= 20 kills, figures in bench/RESULTS.md) is ``bench/crash_soak.py`` on the same harness.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

sys.path.insert(0, str(Path(__file__).parent / "soak"))
from crash_harness import collector_process, run_crash_soak


@pytest.mark.timeout(240)
@pytest.mark.parametrize(("protocol", "kills"), [("grpc", 3), ("http", 2)])
def test_sigkill_loses_and_duplicates_nothing_acknowledged(tmp_path: Path, protocol: str, kills: int) -> None:
    collector = collector_process(tmp_path)
    if protocol == "grpc":
        make = lambda: GrpcExporter(endpoint=f"127.0.0.1:{collector.grpc_port}", insecure=True, timeout=15)  # noqa: E731
    else:
        make = lambda: HttpExporter(endpoint=f"http://127.0.0.1:{collector.http_port}/v1/traces", timeout=15)  # noqa: E731
    report = run_crash_soak(
        collector,
        make,
        data_dir=collector.data_dir,
        kills=kills,
        rate=300,
        seed=7 if protocol == "grpc" else 8,
    )
    print(report.line())
    assert report.runs == kills + 1
    assert report.acknowledged > 300, report.line()  # the stream really ran across the kills
    assert report.lost == 0, f"{report.line()} lost ids {report.lost_ids}\n{collector.log_tail()}"
    assert report.duplicates == 0, f"{report.line()}\n{collector.log_tail()}"
