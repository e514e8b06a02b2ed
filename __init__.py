"""tracelock: shared keys for LLM evals and production traces, joined in ClickHouse.

The names users call live here; each is imported on first use so ``import tracelock`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it (filled in as components land)
_EXPORTS: dict[str, str] = {
    "eval_context": "tracelock.processors",
    "instrument": "tracelock.processors",
    "labels": "tracelock.processors",
    "normalize_attributes": "tracelock.semconv",
}

__all__ = sorted(["__version__", *_EXPORTS])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tracelock' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
