"""Write OTLP spans into a Store in-process, exactly as the running collector does (no server needed).

Used by the demo, by tests and by anything that has an ExportTraceServiceRequest in hand: the same
validation (id lengths), the same normalisation (semconv aliases, origin stamp, value limits) and the
same ClickHouse-side flattening as the collector's pipeline.
"""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tracelock.collector.component import AttributeRewrite, Settings, SpanBatch
from tracelock.collector.exporters.clickhouse.writer import SpanWriter
from tracelock.collector.processors.normalize.config import NormalizeConfig
from tracelock.collector.processors.normalize.normalize import NormalizeProcessor
from tracelock.collector.receivers.otlp.decode import (
    canonical_bytes,
    count_and_check_spans,
    decode_protobuf,
)
from tracelock.store import Store

__all__ = ["load_request"]


def load_request(
    store: Store,
    request: ExportTraceServiceRequest | bytes,
    *,
    rewrite: AttributeRewrite | None = None,
) -> int:
    """Validate, normalise and insert the spans of ``request`` (a message or its serialized bytes).

    Returns the number of spans written. Raises InputError (bad ids, malformed bytes) before writing
    anything. ``trace_summaries`` follow through the schema's materialized view.
    """
    if isinstance(request, bytes | bytearray | memoryview):
        parsed = decode_protobuf(bytes(request))
    else:
        parsed = ExportTraceServiceRequest.FromString(request.SerializeToString())  # not the caller's
    count = count_and_check_spans(parsed)
    body = canonical_bytes(parsed)  # what was checked is what is stored, as in the receivers
    if count == 0:
        return 0
    normalize = NormalizeProcessor(Settings.create("processor", "normalize"), NormalizeConfig())
    batch = normalize.consume(SpanBatch(bodies=(body,), span_count=count))
    SpanWriter(store).write(batch.bodies, rewrite or batch.rewrite)
    return count
