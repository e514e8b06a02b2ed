"""Overload, short version: a real collector subprocess is sent 3x its measured capacity.

Clients must get the retryable OTLP answer (RESOURCE_EXHAUSTED with retry-after on gRPC, 429 with
Retry-After on HTTP), RSS must stay near the memory_limiter's cap, the collector must accept everything
again once the load drops, and every acknowledged span must be stored exactly once.
Long run: ``bench/overload.py``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "soak"))
from crash_harness import collector_process
from overload_harness import run_overload

RSS_LIMIT_MIB = 640  # memory_limiter.limit_mib; an idle chDB collector is ~340 MiB here, ~480-540 at 3x
RSS_OVERSHOOT = 1.2  # requests already past the limiter when RSS crosses the limit still complete


@pytest.mark.exclusive  # its load is 3x the capacity it measures: another test beside it skews that figure
@pytest.mark.timeout(240)
def test_three_times_capacity_is_refused_retryably_and_nothing_acknowledged_is_lost(tmp_path: Path) -> None:
    collector = collector_process(
        tmp_path, batch="{max_queue_spans: 50000}", memory_limiter=f"{{limit_mib: {RSS_LIMIT_MIB}}}"
    )
    report = run_overload(
        collector, capacity_seconds=2, overload_seconds=5, recovery_seconds=6, spans_per_request=200, seed=3
    )
    text = "\n".join(report.lines())
    print(text)
    capacity, overload, recovery = report.phases
    assert overload.codes["RESOURCE_EXHAUSTED"] > 0, text
    assert overload.retry_after_seen == overload.codes["RESOURCE_EXHAUSTED"], text
    assert set(overload.codes) <= {"OK", "RESOURCE_EXHAUSTED", "UNAVAILABLE"}, text
    assert report.http_probe["http_429"] == report.http_probe["http_retry_after"], text
    assert report.peak_rss_mib < RSS_LIMIT_MIB * RSS_OVERSHOOT, text
    assert report.recovery_windows_ok[-2:] == [True, True], text  # accepting everything again
    assert set(recovery.codes) <= {"OK", "RESOURCE_EXHAUSTED"}, text
    assert report.lost == 0 and report.duplicates == 0, text
    assert report.acknowledged >= capacity.acked_spans + overload.acked_spans, text


def test_memory_limiter_refuses_over_the_cap_while_busy_never_a_replay_and_never_while_idle() -> None:
    from tracelock.collector.component import Settings, SpanBatch
    from tracelock.collector.host import Host
    from tracelock.collector.processors.memory_limiter.config import MemoryLimiterConfig
    from tracelock.collector.processors.memory_limiter.memory_limiter import MemoryLimiter, resident_bytes
    from tracelock.errors import Overloaded
    from tracelock.store import StoreSettings

    assert (resident_bytes() or 0) > 64 << 20  # this pytest process is over a 64 MiB cap
    batch = SpanBatch(bodies=(b"",), span_count=3)
    host = Host(StoreSettings())
    settings = Settings.create("processor", "memory_limiter")
    tight = MemoryLimiter(settings, MemoryLimiterConfig(limit_mib=64, spike_limit_mib=16))
    roomy = MemoryLimiter(settings, MemoryLimiterConfig(limit_mib=1 << 20))
    for limiter in (tight, roomy):
        limiter.start(host)
    try:
        time.sleep(0.5)
        # idle (nothing in flight or queued): over the cap, yet admitted - no refusal loop while idle
        assert tight.consume(batch) is batch
        with host.memory.reserve(1 << 20):  # a request in flight: now the cap holds
            time.sleep(0.5)
            refusal = r"memory near its limit of 64 MiB \(refusing above 48 MiB: resident memory is over"
            with pytest.raises(Overloaded, match=refusal) as info:
                tight.consume(batch)
            assert info.value.retry_after == 1.0
            with pytest.raises(Overloaded, match=refusal), host.memory.reserve(1 << 20):
                pass
            assert tight.consume(SpanBatch(bodies=(b"",), span_count=3, replay=True)).span_count == 3
            assert roomy.consume(batch) is batch
        time.sleep(0.5)
        assert tight.consume(batch) is batch  # idle again: recovered
    finally:
        tight.shutdown()
        roomy.shutdown()
    tight.shutdown()  # idempotent
    assert MemoryLimiterConfig(limit_mib=1000, spike_limit_mib=100).refuse_above_mib == 900
    with pytest.raises(ValueError, match=r"spike_limit_mib \(64\) must be below limit_mib \(64\)"):
        MemoryLimiterConfig(limit_mib=64, spike_limit_mib=64)


def test_request_bytes_are_counted_before_decoding_and_refused_when_they_would_not_fit() -> None:
    """A request's reserved bytes, plus what is in flight and the baseline, must fit under the limit."""
    from tracelock.collector.component import Settings
    from tracelock.collector.host import Host
    from tracelock.collector.processors.memory_limiter.config import MemoryLimiterConfig
    from tracelock.collector.processors.memory_limiter.memory_limiter import MemoryLimiter, resident_bytes
    from tracelock.errors import Overloaded
    from tracelock.store import StoreSettings

    host = Host(StoreSettings())
    rss_mib = (resident_bytes() or 0) >> 20
    limiter = MemoryLimiter(
        Settings.create("processor", "memory_limiter"), MemoryLimiterConfig(limit_mib=rss_mib + 200)
    )
    limiter.start(host)
    try:
        with host.memory.reserve(20 << 20), host.memory.reserve(100 << 20):  # 120 MiB in flight fit
            with pytest.raises(Overloaded, match=r"MiB with this request"), host.memory.reserve(100 << 20):
                pass  # 220 MiB would not
            with host.memory.reserve(10 << 20):
                pass
        with host.memory.reserve(300 << 20):  # idle: one request always fits, however large
            pass
    finally:
        limiter.shutdown()
