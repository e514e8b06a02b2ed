"""The differential check behind the parser-of-record promise: for every OTLP request a client could
send, either the receiver's decoding refuses it (before any acknowledgement) or ClickHouse stores
exactly the spans Python validated, with the same ids and names.

Inputs are mutated valid requests: each seed is an OTLP request built with the official classes, then
its spans get fields appended with any field number and wire type (varints where OTLP has bytes,
fixed64 or strings; lengths where it has varints), duplicated singular fields, hostile AnyValues, and
some requests get random bytes flipped, cut or inserted. Mutations are drawn from a ``random.Random``
so the hypothesis test (a seed per example) and ``bench/fuzz_differential.py``'s long run share them.

Requests are checked in batches, as the collector writes them: the acknowledged requests of a batch
are written in one insert into a scratch copy of ``otel_traces`` and the stored (TraceId, SpanId,
SpanName) multiset must equal what Python saw.
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from tracelock.collector.component import AttributeRewrite
from tracelock.collector.exporters.clickhouse.writer import SpanWriter
from tracelock.collector.receivers.otlp.decode import decode_protobuf, validated_body
from tracelock.errors import InputError
from tracelock.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from otlp_wire import BYTES, VARINT, hostile, request_of_span_bytes

__all__ = ["Differential", "mutated_request"]

SpanKey = tuple[str, str, str]
# A few days only: each day is a partition of otel_traces, and an insert over a thousand days costs
# seconds (the writer accepts it, see writer._ANY_TIMESTAMPS), which would starve the fuzzer.
_TIMES = (0, 1, 1_700_000_000_000_000_000, 2**63 - 1, 2**64 - 1)


def _seed_span(rng: random.Random) -> Span:
    span = Span(
        trace_id=rng.randbytes(16),
        span_id=rng.randbytes(8),
        parent_span_id=rng.choice([b"", rng.randbytes(8)]),
        name=rng.choice(["llm", "retrieval", "guardrail", "ü" * rng.randint(0, 5)]),
        kind=rng.randint(0, 5),
        start_time_unix_nano=rng.choice(_TIMES),
        end_time_unix_nano=rng.choice(_TIMES),
        status=Status(code=rng.randint(0, 2), message="m"),
    )
    values = [
        AnyValue(string_value="v"),
        AnyValue(bool_value=rng.random() < 0.5),
        AnyValue(int_value=rng.randint(-(2**63), 2**63 - 1)),
        AnyValue(double_value=rng.random()),
        AnyValue(bytes_value=rng.randbytes(3)),
        AnyValue(array_value=ArrayValue(values=[AnyValue(int_value=1), AnyValue(string_value="x")])),
        AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key="k", value=AnyValue(bool_value=True))])),
    ]
    for i in range(rng.randint(0, 4)):
        span.attributes.append(KeyValue(key=f"a{i}", value=rng.choice(values)))
    if rng.random() < 0.3:
        span.events.add(time_unix_nano=rng.choice(_TIMES), name="e").attributes.add(key="x")
    if rng.random() < 0.3:
        span.links.add(trace_id=rng.randbytes(16), span_id=rng.randbytes(8))
    return span


def _field(rng: random.Random, number: int | None = None) -> bytes:
    """One field with a random (or given) number and a random wire type and value."""
    number = number if number is not None else rng.randint(1, 20)
    if rng.random() < 0.5:
        return hostile(f=(number, VARINT, rng.choice([0, 1, 2, 5, 255, 2**32, 2**64 - 1])))
    return hostile(f=(number, BYTES, rng.choice([b"", rng.randbytes(rng.choice([1, 8, 16, 17]))])))


def _mutated_span(rng: random.Random) -> bytes:
    span = _seed_span(rng)
    out = span.SerializeToString()
    for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
        kind = rng.random()
        if kind < 0.4:  # a field of any number, any wire type
            out += _field(rng)
        elif kind < 0.7:  # a singular field sent twice, with another value
            out += Span(
                trace_id=rng.randbytes(16), span_id=rng.randbytes(8), name=rng.choice(["", "dup"])
            ).SerializeToString()
        else:  # an attribute whose AnyValue has a field of another wire type
            any_value = _field(rng, rng.randint(1, 7))
            key_value = hostile(key=(1, BYTES, b"hostile"), value=(2, BYTES, any_value))
            out += hostile(attributes=(9, BYTES, [key_value]))
    return out


def mutated_request(rng: random.Random) -> bytes:
    body = request_of_span_bytes([_mutated_span(rng) for _ in range(rng.randint(1, 3))], "fuzz")
    if rng.random() < 0.15:  # byte-level damage on top
        data = bytearray(body)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(data))
            choice = rng.random()
            if choice < 0.5:
                data[at] = rng.randrange(256)
            elif choice < 0.75:
                data.insert(at, rng.randrange(256))
            else:
                del data[at:]
                if not data:
                    break
        body = bytes(data)
    return body


def _python_view(body: bytes) -> tuple[bytes, list[SpanKey]] | None:
    """What the receiver acknowledges (canonical bytes, spans) or None when it refuses the request."""
    try:
        checked = validated_body(decode_protobuf(body), body, None)
    except InputError:
        return None
    if checked.span_count == 0:
        return b"", []
    stored = ExportTraceServiceRequest.FromString(checked.body)
    return checked.body, [
        (s.trace_id.hex(), s.span_id.hex(), s.name)
        for rs in stored.resource_spans
        for ss in rs.scope_spans
        for s in ss.spans
    ]


@dataclass
class Differential:
    """Checks batches of requests against a scratch table ``fuzz_traces`` of ``store``."""

    store: Store
    inputs: int = 0
    acknowledged: int = 0
    refused: int = 0
    spans: int = 0
    failures: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.store.command("CREATE TABLE IF NOT EXISTS fuzz_traces AS otel_traces")
        self.store.command("TRUNCATE TABLE fuzz_traces")
        self.writer = SpanWriter(self.store, table="fuzz_traces")

    def check(self, bodies: Sequence[bytes]) -> None:
        acked: list[bytes] = []
        expected: Counter[SpanKey] = Counter()
        for body in bodies:
            self.inputs += 1
            view = _python_view(body)
            if view is None:
                self.refused += 1
                continue
            self.acknowledged += 1
            if view[0]:
                acked.append(view[0])
                expected.update(view[1])
        try:
            self.writer.write(acked, AttributeRewrite())
        except Exception as exc:
            self.failures.append(f"acknowledged batch refused by ClickHouse: {exc}")
            return
        finally:
            rows = self.store.query("SELECT TraceId, SpanId, SpanName FROM fuzz_traces").rows
            self.store.command("TRUNCATE TABLE fuzz_traces")
        stored = Counter((str(t), str(s), str(n)) for t, s, n in rows)
        self.spans += sum(expected.values())
        if stored != expected:
            missing, extra = expected - stored, stored - expected
            self.failures.append(
                f"stored != acknowledged: missing {list(missing)[:3]}, extra {list(extra)[:3]}"
            )
