"""A warning, once per attribute name, when the collector truncates that attribute's values.

ClickHouse does the truncating (and names the attributes in the span's ``tracelock.truncated``), so
the collector never learns which values it cut. This module finds them in the request itself, cheaply:
a string value longer than the limit needs a long length prefix on the wire, so a byte pattern search
(C speed) rules out almost every request, and only the rest is parsed.

A client that sends the same long attribute on every request (a RAG context, a long prompt) passes the
byte search every time; once a parse finds nothing new, the check pauses for ``PARSE_PAUSE_SECONDS``
(no byte search, no parse), so such traffic costs at most one parse per pause instead of one per
request. A new long attribute is warned on the first request that carries it after the pause.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from functools import cache

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

__all__ = ["TruncationWarnings"]

_LOG = logging.getLogger("tracelock.collector.normalize")
_MAX_WARNED = 1024  # names remembered; past that, no more warnings (a flood of names is its own problem)
PARSE_PAUSE_SECONDS = 1.0


def _varint_bytes(n: int) -> int:
    return max(1, (n.bit_length() + 6) // 7)


@cache
def _long_string(max_chars: int) -> re.Pattern[bytes]:
    """KeyValue.value (field 2) holding AnyValue.string_value (field 1), both with length prefixes of at
    least as many varint bytes as ``max_chars + 1`` needs (a value over the limit has more bytes than
    characters): a necessary condition for a truncated string value."""
    more = _varint_bytes(max_chars + 1) - 1
    length = rb"[\x80-\xff]{%d,}[\x00-\x7f]" % more
    return re.compile(rb"\x12" + length + rb"\x0a" + length)


def _long_keys(body: bytes, max_chars: int) -> set[str]:
    found: set[str] = set()
    request = ExportTraceServiceRequest.FromString(body)
    for rs in request.resource_spans:
        groups = [rs.resource.attributes, *(span.attributes for ss in rs.scope_spans for span in ss.spans)]
        for attributes in groups:
            for kv in attributes:
                if kv.value.WhichOneof("value") == "string_value" and len(kv.value.string_value) > max_chars:
                    found.add(kv.key)
    return found


class TruncationWarnings:
    """Logs one warning per attribute name whose values get truncated at ``max_chars``."""

    def __init__(
        self,
        max_chars: int,
        logger: logging.Logger | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_chars = max_chars
        self._log = logger or _LOG
        self._clock = clock
        self._warned: set[str] = set()
        self._paused_until = float("-inf")
        self._lock = threading.Lock()

    def check(self, body: bytes) -> None:
        if len(body) <= self.max_chars or self._clock() < self._paused_until:
            return  # too short to hold a long value, or paused: not even the byte search
        if not _long_string(self.max_chars).search(body):
            return
        try:
            names = _long_keys(body, self.max_chars)
        except Exception:  # a body the receiver accepted always parses; never fail the batch over a warning
            return
        with self._lock:
            fresh = sorted(names - self._warned)[: max(0, _MAX_WARNED - len(self._warned))]
            self._warned.update(fresh)
            if not fresh:
                self._paused_until = self._clock() + PARSE_PAUSE_SECONDS
        for name in fresh:
            self._log.warning(
                "attribute %s has values longer than %d characters: they are truncated (spans name it in "
                "tracelock.truncated; raise normalize.max_attribute_value_chars to keep them whole)",
                name,
                self.max_chars,
            )
