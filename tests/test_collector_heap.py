"""Freed request buffers go back to the OS (collector/heap.py): the collector's RSS follows its load."""

from __future__ import annotations

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
