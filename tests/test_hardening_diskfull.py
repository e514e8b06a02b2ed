"""Disk full under the write-ahead log: refuse new data with a clear retryable error, keep what was stored,
accept again when space returns, and still replay correctly after a SIGKILL.

The WAL directory is a 4 MiB tmpfs mounted for the test (skipped where mounting is not allowed).
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

sys.path.insert(0, str(Path(__file__).parent / "soak"))
from crash_harness import collector_process, stored_span_counts
from overload_harness import SERVICE, make_requests

_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


@pytest.fixture
def tiny_fs(tmp_path: Path):
    mount = tmp_path / "walfs"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(path: Path) -> None:
    with open(path, "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass


@pytest.mark.timeout(180)
def test_wal_on_a_full_disk_refuses_retryably_and_loses_nothing(tmp_path: Path, tiny_fs: Path) -> None:
    collector = collector_process(tmp_path, service_extra=f"  wal: {{directory: '{tiny_fs / 'wal'}'}}\n")
    collector.start()
    export = grpc.insecure_channel(f"127.0.0.1:{collector.grpc_port}").unary_unary(_METHOD)
    rng = random.Random(5)
    acked: set[str] = set()

    def send(requests) -> list[tuple[grpc.StatusCode, str]]:
        answers = []
        for body, ids in requests:
            try:
                export(body, timeout=20)
                acked.update(ids)
                answers.append((grpc.StatusCode.OK, ""))
            except grpc.RpcError as exc:
                answers.append((exc.code(), exc.details()))
        return answers

    try:
        assert {code for code, _ in send(make_requests(5, 50, rng))} == {grpc.StatusCode.OK}
        _fill(tiny_fs / "filler")
        refused = send(make_requests(5, 50, rng))
        assert all(
            code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED) for code, _ in refused
        )
        assert all("No space left on device" in details for _, details in refused), refused
        (tiny_fs / "filler").unlink()
        assert {code for code, _ in send(make_requests(5, 50, rng))} == {grpc.StatusCode.OK}
        collector.kill()  # replay must cope with whatever the full disk left in the log
        collector.start()
        assert {code for code, _ in send(make_requests(3, 50, rng))} == {grpc.StatusCode.OK}
    finally:
        assert collector.stop() == 0, collector.log_tail()
    stored = stored_span_counts(collector.data_dir, service=SERVICE)
    lost = acked - stored.keys()
    assert not lost, f"{len(lost)} acknowledged spans lost\n{collector.log_tail()}"
    assert [n for n in stored.values() if n > 1] == []
    assert len(acked) == 13 * 50
