"""The tracelock collector: OTLP receivers -> processors -> ClickHouse writer, durable before it acks.

In-process entry point for code that already holds spans: :func:`load_request`.
"""

from tracelock.collector.component import AttributeRewrite, SpanBatch
from tracelock.collector.load import load_request

__all__ = ["AttributeRewrite", "SpanBatch", "load_request"]
