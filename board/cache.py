"""Rendered pages, kept until the data under them changes.

A report over millions of spans costs more than a page may (300 ms), but the same URL over the same
data renders the same page. The fingerprint of "the same data" is what ClickHouse reports for the
database's active parts (rows and last modification: every insert makes a part) plus the lock files'
sizes and modification times, read once per request for a few milliseconds. A store that cannot answer
it (an old server, a guard) falls back to a short time-to-live.

A page of older data is refreshed in the background while it is served (stale-while-revalidate): one
refresh per page at a time, and none that started before a write may put its page back after the
write cleared the cache (a generation counter).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from pathlib import Path

from tracelock.errors import TracelockError
from tracelock.store import Store

__all__ = ["MAX_STALE_S", "PageCache"]

#: How old (seconds) a page of older data may be when served while it re-renders: the one default of
#: ``tracelock board --max-stale``, the collector's ``board.max_stale_s`` and :class:`BoardOptions`.
MAX_STALE_S = 60.0

_PARTS = """
SELECT count(), sum(rows), toString(max(modification_time)) FROM system.parts
WHERE database = currentDatabase() AND active
"""
_FALLBACK_TTL_S = 10.0


class PageCache:
    def __init__(self, store: Store, locks_dir: Path, size: int = 256) -> None:
        self._store, self._locks_dir, self._size = store, locks_dir, size
        self._pages: OrderedDict[str, tuple[str, float, str]] = OrderedDict()
        self._lock = threading.Lock()
        self._generation = 0  # bumped by clear()
        self._refreshing: set[str] = set()

    def fingerprint(self) -> str:
        try:
            parts = self._store.query(_PARTS).rows[0]
        except TracelockError:
            parts = ("ttl", int(time.monotonic() // _FALLBACK_TTL_S))
        files = []
        if self._locks_dir.is_dir():
            for path in sorted(self._locks_dir.glob("*.y*ml")):
                stat = path.stat()
                files.append(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}")
        return repr((parts, files))

    def get(self, key: str, fingerprint: str, max_stale_s: float = 0.0) -> tuple[str, bool] | None:
        """The page and whether it is current; a page of older data only while younger than
        ``max_stale_s`` (so a board beside a busy collector does not re-run every report per view)."""
        with self._lock:
            hit = self._pages.get(key)
            if hit is None:
                return None
            current = hit[2] == fingerprint
            if not current and time.monotonic() - hit[1] >= max_stale_s:
                return None
            self._pages.move_to_end(key)
            return hit[0], current

    def clear(self) -> None:
        """Forget every page (after the board's own writes, so the writer sees them at once)."""
        with self._lock:
            self._pages.clear()
            self._generation += 1

    def while_refreshing(self, key: str, max_stale_s: float) -> str | None:
        """The page of ``key`` while its refresh runs (and it is younger than ``max_stale_s``): served
        without a fingerprint, whose query would wait behind the refresh's own queries on the store."""
        with self._lock:
            hit = self._pages.get(key)
            if key not in self._refreshing or hit is None or time.monotonic() - hit[1] >= max_stale_s:
                return None
            return hit[0]

    def begin_refresh(self, key: str) -> int | None:
        """The generation a background refresh of ``key`` renders for, or None when one already runs."""
        with self._lock:
            if key in self._refreshing:
                return None
            self._refreshing.add(key)
            return self._generation

    def end_refresh(self, key: str) -> None:
        with self._lock:
            self._refreshing.discard(key)

    def put(self, key: str, fingerprint: str, page: str, generation: int | None = None) -> None:
        """Keep ``page``; a refresh's page (``generation`` given) only if no write cleared the cache
        since the refresh began."""
        with self._lock:
            if generation is not None and generation != self._generation:
                return
            self._pages[key] = (page, time.monotonic(), fingerprint)
            self._pages.move_to_end(key)
            while len(self._pages) > self._size:
                self._pages.popitem(last=False)
