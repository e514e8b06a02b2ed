"""Give freed request buffers back to the OS, so that the collector's RSS follows its load.

Every export is a few hundred KB of bytes (a 512-span request is ~380 KB), allocated by Gzip, gRPC and
protobuf and freed a moment later. glibc maps an allocation above ``M_MMAP_THRESHOLD`` (128 KiB at start)
on its own and unmaps it on free, but the first such free raises the threshold to that size: from then
on every request lands in the heap, whose freed middle glibc keeps. Under the SDK load that kept ~55 MB
of the collector's peak (bench/RESULTS.md, issue 18). Setting the threshold once turns the adjustment
off; an mmap per request costs a few microseconds, ~0.01 µs a span.
"""

from __future__ import annotations

import ctypes
import ctypes.util

__all__ = ["MMAP_THRESHOLD_BYTES", "return_large_buffers_to_the_os"]

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
