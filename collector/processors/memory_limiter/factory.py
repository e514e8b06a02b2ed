"""Factory of the ``memory_limiter`` processor."""

from __future__ import annotations

from tracelock.collector.processors.memory_limiter.config import MemoryLimiterConfig
from tracelock.collector.processors.memory_limiter.memory_limiter import MemoryLimiter
from tracelock.collector.registry_types import Factory

__all__ = ["FACTORY"]

FACTORY = Factory(
    kind="processor", type="memory_limiter", config_model=MemoryLimiterConfig, create=MemoryLimiter
)
