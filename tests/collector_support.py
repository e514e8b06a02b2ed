"""A real ``tracelock collector`` subprocess for the collector tests (imported by test_collector_*.py).

Receivers listen on port 0; the ready line the collector prints (JSON) tells the ports. Queries go
through a separate ``tracelock query`` process, as a user would run them.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TRACELOCK = [sys.executable, "-m", "tracelock"]


def write_config(
    path: Path, *, batch: str = "{timeout: 0.05}", service_extra: str = "", exporter: str = "{}"
) -> Path:
    path.write_text(
        "receivers:\n"
        "  otlp:\n"
        "    protocols:\n"
        "      grpc: {endpoint: '127.0.0.1:0'}\n"
        "      http: {endpoint: '127.0.0.1:0', max_request_body_mib: 1}\n"
        f"processors: {{normalize: {{}}, batch: {batch}}}\n"
        f"exporters: {{clickhouse: {exporter}}}\n"
        "service:\n"
        "  pipelines:\n"
        "    traces: {receivers: [otlp], processors: [normalize, batch], exporters: [clickhouse]}\n"
        + service_extra
    )
    return path


def run_cli(data_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    out = subprocess.run(
        [*TRACELOCK, "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if check and out.returncode != 0:
        raise AssertionError(f"tracelock {' '.join(args)} failed ({out.returncode}): {out.stderr}")
    return out


def query(data_dir: Path, sql: str) -> list[dict[str, Any]]:
    """Rows of ``tracelock query SQL --format json`` (through the collector when it runs)."""
    return json.loads(run_cli(data_dir, "query", sql, "--format", "json").stdout)


class CollectorProcess:
    def __init__(self, workdir: Path, config: Path) -> None:
        self.data_dir = workdir / "data"
        self.config = config
        self.log = workdir / "collector.log"
        self.proc: subprocess.Popen | None = None
        self.ready: dict[str, Any] = {}
        self._lines: queue.Queue[str] = queue.Queue()

    def start(self, timeout: float = 60.0) -> dict[str, Any]:
        argv = [*TRACELOCK, "--data-dir", str(self.data_dir), "collector", "--config", str(self.config)]
        log = open(self.log, "a")  # noqa: SIM115 - owned by the child's lifetime
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=log, text=True, env=dict(os.environ)
        )
        self._lines = queue.Queue()
        threading.Thread(target=self._pump, args=(self.proc, self._lines), daemon=True).start()
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            self.proc.kill()
            raise AssertionError(f"collector did not become ready:\n{self.log.read_text()[-3000:]}") from None
        if not line:
            raise AssertionError(f"collector exited early:\n{self.log.read_text()[-3000:]}")
        self.ready = json.loads(line)
        return self.ready

    @staticmethod
    def _pump(proc: subprocess.Popen, lines: queue.Queue[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put("")

    @property
    def grpc(self) -> str:
        return self.ready["grpc"]

    @property
    def http(self) -> str:
        return self.ready["http"]

    def terminate(self, timeout: float = 60.0) -> tuple[int, dict[str, Any]]:
        """SIGTERM; returns the exit code and the collector's final status line."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        final: dict[str, Any] = {}
        while True:
            try:
                line = self._lines.get(timeout=5)
            except queue.Empty:
                break
            if not line:
                break
            final = json.loads(line)
        return code, final

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)


@contextlib.contextmanager
def started_collector(workdir: Path) -> Iterator[CollectorProcess]:
    """A collector with the default test config in ``workdir``, closed on exit (module fixtures)."""
    process = CollectorProcess(workdir, write_config(workdir / "collector.yaml"))
    process.start()
    try:
        yield process
    finally:
        process.close()
