"""Exponential backoff that a stop interrupts at once (a sleeping writer must not delay SIGTERM)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

__all__ = ["RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """Wait ``initial`` seconds after the first failure, ``multiplier`` times longer after each next
    one, never more than ``max_interval``. Retries of a retryable error do not end by themselves: the
    batch is acknowledged and in the WAL, so only a stop ends them (leaving it there)."""

    initial: float = 0.1
    max_interval: float = 5.0
    multiplier: float = 2.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return min(self.initial * self.multiplier ** max(attempt - 1, 0), self.max_interval)

    def wait(self, attempt: int, stop: threading.Event) -> bool:
        """Sleep before the next attempt; False (at once) when ``stop`` is set."""
        return not stop.wait(self.delay(attempt))
