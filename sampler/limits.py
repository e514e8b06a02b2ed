"""Rate limits: at most ``max_per_hour`` seeds per rule per clock hour (UTC).

A storm of identical failures should not flood the dataset with near-duplicates. The budget is per
wall-clock hour so the collector and a batch run share it: both start from the seeds already stored in
the current hour (:func:`tracelock.sampler.seeds.seeds_this_hour`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timezone

__all__ = ["RateLimiter"]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class RateLimiter:
    """Counts seeds per rule in the current hour and refuses those over the rule's limit."""

    def __init__(
        self,
        limits: Mapping[str, int | None],
        spent: Mapping[str, int] | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._limits = dict(limits)
        self._clock = clock
        self._hour = self._current_hour()
        self._counts: dict[str, int] = dict(spent or {})
        self.refused: dict[str, int] = {}

    def _current_hour(self) -> datetime:
        return self._clock().replace(minute=0, second=0, microsecond=0)

    def allow(self, rule: str) -> bool:
        """Spend one seed of ``rule``'s budget; False (and counted in ``refused``) when it is spent."""
        limit = self._limits.get(rule)
        if limit is None:
            return True
        hour = self._current_hour()
        if hour != self._hour:
            self._hour, self._counts = hour, {}
        used = self._counts.get(rule, 0)
        if used >= limit:
            self.refused[rule] = self.refused.get(rule, 0) + 1
            return False
        self._counts[rule] = used + 1
        return True
