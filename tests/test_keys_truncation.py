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


def test_names_already_warned_do_not_make_every_request_parse_again(monkeypatch, caplog) -> None:
    """A client that sends the same over-limit attribute on every request (a long RAG context) got it
    parsed on every request, long after its one warning: a whole protobuf parse per request, for nothing."""
    from tracelock.collector.processors.normalize import truncation

    parsed: list[int] = []
    real = truncation._long_keys
    monkeypatch.setattr(truncation, "_long_keys", lambda body, n: parsed.append(1) or real(body, n))
    warnings = truncation.TruncationWarnings(200)
    body = _body("x" * 201)
    for _ in range(50):
        warnings.check(body)
    assert len(parsed) <= 2
    assert [r.getMessage().split(" ")[1] for r in caplog.records] == ["input.value"]


def test_a_new_long_attribute_is_still_warned_after_the_pause() -> None:
    from tracelock.collector.processors.normalize import truncation

    now = [100.0]
    warned: list[str] = []

    class Log:
        def warning(self, message: str, name: str, limit: int) -> None:
            warned.append(name)

    warnings = truncation.TruncationWarnings(200, Log(), clock=lambda: now[0])  # type: ignore[arg-type]
    warnings.check(_body("x" * 201))
    warnings.check(_body("x" * 201))  # nothing new: pauses parsing
    other = request_of([TestSpan({"output.value": "y" * 201})]).SerializeToString()
    warnings.check(other)  # inside the pause: not parsed yet
    now[0] += truncation.PARSE_PAUSE_SECONDS + 0.01
    warnings.check(other)
    assert warned == ["input.value", "output.value"]
