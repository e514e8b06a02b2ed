"""Bad values are reported once per key, counted always, and never raised into the request path."""

from __future__ import annotations

import logging
import threading
from collections import Counter

from tracelock.semconv import Violation

__all__ = ["PROBLEMS", "ProblemLog"]

logger = logging.getLogger("tracelock.processors")


class ProblemLog:
    """Counts problems by (kind, key) and logs the first of each as a warning.

    ``counts`` is a :class:`collections.Counter`; read it (or :meth:`snapshot`) to export a metric.
    """

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self._warned: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def report(self, kind: str, key: str, message: str, *, span_name: str | None = None) -> None:
        ident = (kind, key)
        with self._lock:
            self.counts[ident] += 1
            first = ident not in self._warned
            if first:
                self._warned.add(ident)
        if first:
            where = f" on span {span_name!r}" if span_name is not None else ""
            logger.warning("tracelock: %s%s: %s (reported once per key; counted)", key, where, message)

    def violation(self, violation: Violation, *, span_name: str | None = None) -> None:
        self.report(violation.kind.value, violation.key, violation.message, span_name=span_name)

    def snapshot(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self.counts)

    def clear(self) -> None:
        with self._lock:
            self.counts.clear()
            self._warned.clear()


PROBLEMS = ProblemLog()
