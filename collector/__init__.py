"""The tracelock collector: OTLP receivers -> processors -> ClickHouse writer, durable before it acks.

In-process entry point for code that already holds spans: :func:`load_request`.
The names below are imported on first use, so a module of the package (``collector.feedback``, which
``tracelock feedback add`` uses) loads without the OTLP decoder and the writer.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["AttributeRewrite", "SpanBatch", "load_request"]

_EXPORTS = {
    "AttributeRewrite": "tracelock.collector.component",
    "SpanBatch": "tracelock.collector.component",
    "load_request": "tracelock.collector.load",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tracelock.collector' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
