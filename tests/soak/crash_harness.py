"""Kill the collector with SIGKILL while the real OTel SDK streams spans at it; count what survived.

Used by ``tests/test_hardening_crash.py`` (a few kills, default run) and ``bench/crash_soak.py`` (>= 20).
The one number that matters is precise: a span is *acknowledged* when the SDK exporter returned SUCCESS
for the batch holding it (:class:`AckRecordingExporter` records span ids per result). After the last
restart the collector is stopped cleanly and the store is read in a separate process:
``lost`` = acknowledged but not stored, ``duplicates`` = span ids stored more than once.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

__all__ = [
    "AckRecordingExporter",
    "CollectorProcess",
    "CrashReport",
    "SpanStream",
    "collector_process",
    "free_port",
    "run_crash_soak",
    "stored_span_counts",
    "wait_for_port",
]

TRACELOCK = [sys.executable, "-m", "tracelock"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"collector exited with {proc.returncode} before listening on {port}")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


class AckRecordingExporter(SpanExporter):
    """Wraps a real exporter; remembers which span ids were in a batch that got SUCCESS."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.acked: set[str] = set()
        self.failed: set[str] = set()
        self.batches_ok = 0
        self.batches_failed = 0
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self.inner.export(spans)
        ids = {format(s.context.span_id, "016x") for s in spans}
        with self._lock:
            if result is SpanExportResult.SUCCESS:
                self.acked |= ids
                self.batches_ok += 1
            else:
                self.failed |= ids
                self.batches_failed += 1
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class SpanStream:
    """A thread creating spans at ``rate`` per second through TracerProvider + BatchSpanProcessor."""

    def __init__(self, exporter: SpanExporter, *, rate: float, run_id: str, batch: int = 64) -> None:
        self.ack = AckRecordingExporter(exporter)
        resource = Resource.create({"service.name": "crash-soak", "tracelock.soak.run": run_id})
        self.provider = TracerProvider(resource=resource)
        self.provider.add_span_processor(
            BatchSpanProcessor(
                self.ack, max_queue_size=100_000, max_export_batch_size=batch, schedule_delay_millis=50
            )
        )
        self.created = 0
        self._rate = rate
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="span-stream", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        tracer = self.provider.get_tracer("tracelock.soak")
        interval, next_at = 1.0 / self._rate, time.monotonic()
        while not self._stop.is_set():
            with tracer.start_as_current_span("llm.call") as span:
                span.set_attribute("gen_ai.request.model", "gpt-soak")
                span.set_attribute("tracelock.intent", "refund")
                span.set_attribute("gen_ai.usage.input_tokens", self.created % 1000)
            self.created += 1
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def stop(self, flush_timeout_s: float = 60) -> None:
        """Stop creating spans and wait until everything queued was exported (or given up on)."""
        self._stop.set()
        self._thread.join()
        self.provider.force_flush(int(flush_timeout_s * 1000))
        self.provider.shutdown()


@dataclass
class CollectorProcess:
    """One collector subprocess, restartable after SIGKILL on the same ports and data directory."""

    argv: list[str]
    port: int
    log_path: Path
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    ready_timeout_s: float = 60
    proc: subprocess.Popen | None = None
    starts: int = 0
    grpc_port: int = 0
    http_port: int = 0
    data_dir: Path | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        log.write(f"\n--- start #{self.starts + 1} ---\n".encode())
        log.flush()
        self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        log.close()
        self.starts += 1
        wait_for_port(self.port, self.ready_timeout_s, self.proc)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self, timeout_s: float = 60) -> int:
        """Graceful stop (SIGTERM); returns the exit code. Falls back to SIGKILL after ``timeout_s``."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


def collector_process(
    workdir: Path,
    *,
    batch: str = "{}",
    normalize: str = "{}",
    exporter: str = "{}",
    grpc_extra: str = "",
    http_extra: str = "",
    service_extra: str = "",
    memory_limiter: str | None = None,
    name: str = "collector",
) -> CollectorProcess:
    """A ``tracelock collector`` on fresh loopback ports with its data directory in ``workdir/data``.

    ``batch`` / ``normalize`` are the processors' YAML flow mappings, ``exporter`` the clickhouse
    exporter's; ``*_extra`` are appended to the
    grpc and http protocol mappings (``", max_workers: 2"``) and under ``service:`` (indented YAML
    lines); ``memory_limiter`` (a flow mapping) adds that processor first in the pipeline. Ports are in
    ``.grpc_port`` and ``.http_port``, the data directory in ``.data_dir``.
    """
    grpc_port, http_port = free_port(), free_port()
    limiter = f"memory_limiter: {memory_limiter}, " if memory_limiter else ""
    listed = "memory_limiter, " if memory_limiter else ""
    config = workdir / f"{name}.yaml"
    config.write_text(
        "receivers:\n"
        "  otlp:\n"
        "    protocols:\n"
        f"      grpc: {{endpoint: '127.0.0.1:{grpc_port}'{grpc_extra}}}\n"
        f"      http: {{endpoint: '127.0.0.1:{http_port}'{http_extra}}}\n"
        f"processors: {{{limiter}normalize: {normalize}, batch: {batch}}}\n"
        f"exporters: {{clickhouse: {exporter}}}\n"
        "service:\n"
        "  pipelines:\n"
        f"    traces: {{receivers: [otlp], processors: [{listed}normalize, batch], "
        "exporters: [clickhouse]}\n" + service_extra
    )
    data_dir = workdir / "data"
    argv = [*TRACELOCK, "--data-dir", str(data_dir), "collector", "--config", str(config)]
    process = CollectorProcess(argv, port=http_port, log_path=workdir / f"{name}.log")
    process.grpc_port, process.http_port, process.data_dir = grpc_port, http_port, data_dir
    return process


def stored_span_counts(
    data_dir: Path, service: str = "crash-soak", env: dict[str, str] | None = None
) -> dict[str, int]:
    """span id -> rows stored, read by a separate ``tracelock query`` process (chDB: one dir per process)."""
    script = (
        "import json, sys; from pathlib import Path; from tracelock.store.chdb_store import ChdbStore\n"
        "store = ChdbStore(Path(sys.argv[1]), 'tracelock')\n"
        "rows = store.query('SELECT SpanId, count() FROM otel_traces WHERE ServiceName = {s:String} "
        "GROUP BY SpanId', {'s': sys.argv[2]}).rows\n"
        "print('\\n'.join(json.dumps({'SpanId': r[0], 'n': r[1]}) for r in rows))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(data_dir), service],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"reading the store failed: {out.stderr.strip()[-2000:]}")
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    return {row["SpanId"]: int(row["n"]) for row in rows}


@dataclass
class CrashReport:
    """The figures a crash-soak run reports."""

    runs: int
    kills: int
    created: int
    acknowledged: int
    found: int
    lost: int
    duplicates: int
    stored_not_acknowledged: int
    failed_batches: int
    seconds: float
    kills_with_unwritten: int = 0
    lost_ids: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"runs={self.runs} kills={self.kills} created={self.created} acknowledged={self.acknowledged} "
            f"found={self.found} lost={self.lost} duplicates={self.duplicates} "
            f"stored_not_acknowledged={self.stored_not_acknowledged} failed_batches={self.failed_batches} "
            f"kills_with_acked_unwritten={self.kills_with_unwritten} seconds={self.seconds:.1f}"
        )


def _queued_spans(http_port: int) -> int:
    """Acknowledged spans the collector has not written yet (its /readyz), just before a kill; -1 unknown."""
    try:
        with socket.create_connection(("127.0.0.1", http_port), timeout=0.5) as sock:
            sock.sendall(b"GET /readyz HTTP/1.0\r\nHost: x\r\n\r\n")
            reply = b""
            while chunk := sock.recv(4096):
                reply += chunk
        return int(json.loads(reply.split(b"\r\n\r\n", 1)[1]).get("queued_spans", -1))
    except (OSError, ValueError, IndexError):
        return -1


def run_crash_soak(
    collector: CollectorProcess,
    make_exporter: Callable[[], SpanExporter],
    *,
    data_dir: Path,
    kills: int,
    rate: float = 400,
    up_seconds: tuple[float, float] = (0.3, 2.5),
    seed: int = 0,
    log: Callable[[str], None] = lambda _m: None,
) -> CrashReport:
    """Stream spans, SIGKILL the collector ``kills`` times at random moments, then count what is stored."""
    rng = random.Random(seed)
    started = time.monotonic()
    unwritten: list[int] = []
    collector.start()
    stream = SpanStream(make_exporter(), rate=rate, run_id=f"seed-{seed}")
    stream.start()
    try:
        for kill in range(1, kills + 1):
            time.sleep(rng.uniform(*up_seconds))
            queued = _queued_spans(collector.http_port)
            collector.kill()
            unwritten.append(queued)
            log(f"kill {kill}/{kills}: acked so far {len(stream.ack.acked)}, unwritten at the kill: {queued}")
            time.sleep(rng.uniform(0.0, 0.5))  # the sender keeps retrying into a closed port
            collector.start()
        time.sleep(rng.uniform(*up_seconds))
    finally:
        stream.stop()
    code = collector.stop()
    log(f"collector stopped cleanly with exit code {code}")
    stored = stored_span_counts(data_dir, env=collector.env)
    acked = stream.ack.acked
    lost = sorted(acked - stored.keys())
    return CrashReport(
        runs=collector.starts,
        kills=kills,
        created=stream.created,
        acknowledged=len(acked),
        found=len(stored),
        lost=len(lost),
        duplicates=sum(n - 1 for n in stored.values() if n > 1),
        stored_not_acknowledged=len(stored.keys() - acked),
        failed_batches=stream.ack.batches_failed,
        seconds=time.monotonic() - started,
        kills_with_unwritten=sum(1 for n in unwritten if n > 0),
        lost_ids=lost[:20],
    )
