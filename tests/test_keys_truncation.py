"""The truncation warning's pre-check: ordinary large requests are not parsed, long values are found."""

from __future__ import annotations

from tests.keys_support import TestSpan, request_of
from tracelock.collector.processors.normalize.truncation import _long_keys, _long_string


def _body(*values: str) -> bytes:
    return request_of([TestSpan({"input.value": v, "n": 3}) for v in values]).SerializeToString()


def test_a_large_request_of_short_values_is_ruled_out_without_parsing() -> None:
    body = _body(*["p" * 300] * 600)  # ~200 kB: bigger than the limit, no value near it
    assert len(body) > 65536
    assert _long_string(65536).search(body) is None


def test_values_over_the_limit_are_found_at_any_limit() -> None:
    for limit in (64, 200, 16383, 16384, 65536):
        body = _body("short", "x" * (limit + 1))
        assert _long_string(limit).search(body) is not None, limit
        assert _long_keys(body, limit) == {"input.value"}
        assert _long_keys(_body("y" * limit), limit) == set()
