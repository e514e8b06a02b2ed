"""A real ``tracelock collector`` for the demo: a subprocess owning the demo database, receiving OTLP
over loopback (port 0) and feedback on ``POST /v1/feedback``, stopped with SIGTERM (it drains first).
"""

from __future__ import annotations

import json
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

from tracelock.errors import StoreUnavailable
from tracelock.store import StoreSettings

__all__ = ["CollectorEndpoint", "running_collector"]

CONFIG = """receivers:
  otlp:
    protocols:
      http: {endpoint: '127.0.0.1:0'}
processors: {normalize: {}, batch: {timeout: 0.2}}
exporters: {clickhouse: {}}
service:
  pipelines:
    traces: {receivers: [otlp], processors: [normalize, batch], exporters: [clickhouse]}
"""


class CollectorEndpoint:
    """Where the running collector listens, and the two things the demo sends it."""

    def __init__(self, http: str) -> None:
        self.http = http.rstrip("/")

    def span_exporter(self) -> OTLPSpanExporter:
        return OTLPSpanExporter(endpoint=f"{self.http}/v1/traces", timeout=30)

    def send_feedback(self, items: Sequence[dict[str, Any]]) -> int:
        accepted = 0
        for start in range(0, len(items), 500):
            response = httpx.post(
                f"{self.http}/v1/feedback", json={"feedback": list(items[start : start + 500])}
            )
            if response.status_code != 200:
                raise StoreUnavailable(
                    f"collector refused feedback: {response.status_code} {response.text[:200]}"
                )
            accepted += int(response.json()["accepted"])
        return accepted


def _argv(settings: StoreSettings, database: str, config: Path) -> list[str]:
    where = ["--clickhouse-url", settings.clickhouse_url] if settings.clickhouse_url else []
    return [
        sys.executable, "-m", "tracelock", "--data-dir", str(settings.data_dir), *where,
        "--database", database, "collector", "--config", str(config),
    ]  # fmt: skip


@contextmanager
def running_collector(settings: StoreSettings, database: str) -> Iterator[CollectorEndpoint]:
    """Start the collector, yield its endpoint, stop it (SIGTERM, drain) on exit.

    Its config and log live in a temporary directory, removed on success and kept (and named in the
    error) when the collector fails.
    """
    workdir = Path(tempfile.mkdtemp(prefix="tracelock-demo-collector-"))
    config = workdir / "demo-collector.yaml"
    config.write_text(CONFIG)
    log_path = workdir / "demo-collector.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            _argv(settings, database, config), stdout=subprocess.PIPE, stderr=log, text=True
        )
        lines: queue.Queue[str] = queue.Queue()

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.put(line)
            lines.put("")

        threading.Thread(target=pump, daemon=True).start()
        try:
            try:
                line = lines.get(timeout=60)
            except queue.Empty:
                line = ""
            if not line:
                raise StoreUnavailable(f"the demo's collector did not start; see {log_path}")
            yield CollectorEndpoint(json.loads(line)["http"])
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=30)
    if proc.returncode not in (0, -signal.SIGTERM):
        raise StoreUnavailable(f"the demo's collector exited with {proc.returncode}; see {log_path}")
    shutil.rmtree(workdir, ignore_errors=True)
