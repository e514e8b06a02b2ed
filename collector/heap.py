"""Give freed memory back to the OS, so that the collector's RSS follows its load.

Every export is a few hundred KB of bytes (a 512-span request is ~380 KB), allocated by Gzip, gRPC and
protobuf and freed a moment later. glibc maps an allocation above ``M_MMAP_THRESHOLD`` (128 KiB at start)
on its own and unmaps it on free, but the first such free raises the threshold to that size: from then
on every request lands in the heap, whose freed middle glibc keeps. Under the SDK load that kept ~55 MB
of the collector's peak (bench/RESULTS.md, issue 18). Setting the threshold once turns the adjustment
off; an mmap per request costs a few microseconds, ~0.01 µs a span.

chDB allocates through its own jemalloc, built to keep freed pages for 5 s (``dirty_decay_ms:5000``) for
the next query to reuse: after each INSERT (~150 MB) and merge that is memory the collector no longer
uses and still holds. Returning it after 100 ms took another 15-20 MB off the peak for ~9 % more
collector CPU (page faults); at once (0 ms) cost 70 % more. ``JE_MALLOC_CONF=dirty_decay_ms:5000`` in
the collector's environment restores chDB's own setting (bench/RESULTS.md, issue 18).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

__all__ = [
    "CHDB_DIRTY_DECAY_MS",
    "MMAP_THRESHOLD_BYTES",
    "return_chdb_pages_sooner",
    "return_large_buffers_to_the_os",
]

#: Allocations at least this large get their own mapping, unmapped on free (glibc's starting value).
MMAP_THRESHOLD_BYTES = 128 << 10
_M_MMAP_THRESHOLD = -3  # glibc's malloc.h


def return_large_buffers_to_the_os(threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Fix glibc's mmap threshold at ``threshold`` for this process; False where the C library is not
    glibc (musl, macOS), whose allocators have no such adjustment to turn off."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
    except OSError:
        return False
    if not hasattr(libc, "gnu_get_libc_version"):
        return False
    libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, threshold))


#: How long (ms) chDB's allocator keeps freed pages before returning them to the OS.
CHDB_DIRTY_DECAY_MS = 100
_CHDB_ALLOCATOR_ENV = "JE_MALLOC_CONF"  # the variable chDB's jemalloc reads when the library loads


def return_chdb_pages_sooner(decay_ms: int = CHDB_DIRTY_DECAY_MS) -> bool:
    """Have chDB's jemalloc return freed pages after ``decay_ms``. It reads its configuration once, when
    chDB loads, so this only works before the first ``import chdb``; an operator's own
    ``JE_MALLOC_CONF`` is kept. True when this call set it."""
    if "chdb" in sys.modules or _CHDB_ALLOCATOR_ENV in os.environ:
        return False
    os.environ[_CHDB_ALLOCATOR_ENV] = f"dirty_decay_ms:{int(decay_ms)}"
    return True
