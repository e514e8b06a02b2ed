"""The receivers' side of the memory limit: room for a request's bytes, asked before it is read or decoded.

A receiver wraps each request in ``host.memory.reserve(nbytes)``: every ``memory_limiter`` in the
collector counts those bytes as in flight until the request is answered, or refuses (Overloaded: the OTLP
retryable answer) when they would not fit. Without a memory_limiter the gate admits everything.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

__all__ = ["DECODED_COST", "RECEIVED_COST", "MemoryBudget", "MemoryGate"]

#: Resident bytes an HTTP body costs per byte while it is received (its chunks, then the joined body).
RECEIVED_COST = 2

#: Resident bytes a decoded protobuf request costs per byte while it is parsed, checked and queued
#: (the bytes, upb's message, a re-serialisation when limits change it); with RECEIVED_COST and the
#: memory limiter's QUEUED_COST tuned with bench/overload.py --large-request-mib (bench/RESULTS.md).
DECODED_COST = 3


class MemoryBudget(Protocol):
    def reserve(self, nbytes: int) -> None:
        """Count ``nbytes`` in flight, or raise Overloaded."""

    def release(self, nbytes: int) -> None:
        """The request is answered: its bytes are no longer in flight."""


class MemoryGate:
    def __init__(self) -> None:
        self._budgets: list[MemoryBudget] = []
        self._lock = threading.Lock()

    def add(self, budget: MemoryBudget) -> None:
        with self._lock:
            self._budgets.append(budget)

    def remove(self, budget: MemoryBudget) -> None:
        with self._lock:
            if budget in self._budgets:
                self._budgets.remove(budget)

    @contextmanager
    def reserve(self, nbytes: int) -> Iterator[None]:
        """Hold ``nbytes`` against every budget for the ``with`` block; Overloaded when one is full."""
        with self._lock:
            budgets = list(self._budgets)
        taken: list[MemoryBudget] = []
        try:
            for budget in budgets:
                budget.reserve(nbytes)
                taken.append(budget)
            yield
        finally:
            for budget in taken:
                budget.release(nbytes)
