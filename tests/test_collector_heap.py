"""Freed request buffers go back to the OS (collector/heap.py): the collector's RSS follows its load."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from tracelock.collector.heap import return_large_buffers_to_the_os

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc's allocator only"
)

# Requests of ~400 KB arrive, a few are kept a while (queued), most are freed: what stays in the heap?
_LOAD = """
import os, sys
from tracelock.collector.heap import return_large_buffers_to_the_os
def anon_mb():
    return next(int(l.split()[1]) // 1024 for l in open("/proc/self/status") if l.startswith("RssAnon"))
if sys.argv[1] == "fixed":
    assert return_large_buffers_to_the_os()
first = os.urandom(400_000)
del first  # glibc raises its mmap threshold on the first such free, unless it is fixed
before = anon_mb()
requests = [os.urandom(400_000) for _ in range(200)]
kept = requests[::20]
del requests
print(anon_mb() - before)
"""


def _retained_mb(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", _LOAD, mode], capture_output=True, text=True, check=True)
    return int(out.stdout)


def test_freed_requests_leave_the_heap_once_the_threshold_is_fixed() -> None:
    assert _retained_mb("adjusting") > 40  # glibc's default: ~70 of the 80 MB stay
    assert _retained_mb("fixed") < 15  # only the 10 kept requests (4 MB) and noise


def test_the_call_is_idempotent_in_process() -> None:
    assert return_large_buffers_to_the_os() and return_large_buffers_to_the_os()


# chDB's jemalloc keeps freed pages 5 s unless told otherwise before the library loads.
_CHDB_LOAD = """
import sys, time
from tracelock.collector.heap import return_chdb_pages_sooner
if sys.argv[1] == "sooner":
    assert return_chdb_pages_sooner()
import chdb
assert not return_chdb_pages_sooner()  # too late once chDB is loaded
def anon_mb():
    return next(int(l.split()[1]) // 1024 for l in open("/proc/self/status") if l.startswith("RssAnon"))
chdb.query("SELECT 1")
before = anon_mb()
chdb.query("SELECT length(groupArray(toString(number))) FROM numbers(4000000)")  # ~150 MB, then freed
added, freed_at = anon_mb() - before, time.monotonic()
for _ in range(20):
    chdb.query("SELECT 1")
    time.sleep(0.05)
print(added, anon_mb() - before, time.monotonic() - freed_at)
"""


def _run_without_allocator_setting(script: str, *args: str) -> str:
    """``script``'s output, run in a fresh interpreter whose environment sets no JE_MALLOC_CONF."""
    env = {k: v for k, v in os.environ.items() if k != "JE_MALLOC_CONF"}
    return subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, check=True, env=env
    ).stdout


def _chdb_retained(mode: str) -> tuple[float, float, float]:
    """(MB the query left right after it, MB left ~1 s later, seconds between the two)."""
    added, left, seconds = map(float, _run_without_allocator_setting(_CHDB_LOAD, mode).split())
    return added, left, seconds


def test_chdb_returns_a_querys_freed_pages_within_a_second_once_told_before_it_loads() -> None:
    added, left, _ = _chdb_retained("sooner")
    assert added > 60 and left < 0.15 * added, (added, left)  # 1-3 MB of ~170 in quiet and loaded runs
    # jemalloc as chDB builds it returns them over 5 s (a smooth curve: about half left after 2.7 s
    # on a loaded machine, most after 1 s on a quiet one)
    added, left, seconds = _chdb_retained("default")
    if seconds < 2.5:
        assert left > 0.3 * added, (added, left, seconds)


def test_the_collector_command_sets_it_before_anything_loads_chdb() -> None:
    probe = (
        "import sys\n"
        "from tracelock.collector.config import parse_config, read_config\n"
        "from tracelock.collector.service import run_collector\n"
        "parse_config(read_config(None), 'defaults')\n"
        "from tracelock.collector.heap import return_chdb_pages_sooner\n"
        "print('chdb' in sys.modules, return_chdb_pages_sooner())\n"
    )
    assert _run_without_allocator_setting(probe).split() == ["False", "True"]


def test_an_operators_own_allocator_setting_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JE_MALLOC_CONF", "dirty_decay_ms:2000")
    from tracelock.collector.heap import return_chdb_pages_sooner

    assert not return_chdb_pages_sooner()
    assert os.environ["JE_MALLOC_CONF"] == "dirty_decay_ms:2000"
