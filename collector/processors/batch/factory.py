"""Factory of the ``batch`` processor."""

from __future__ import annotations

from tracelock.collector.processors.batch.batch import BatchProcessor
from tracelock.collector.processors.batch.config import BatchConfig
from tracelock.collector.registry_types import Factory

__all__ = ["FACTORY"]

FACTORY = Factory(kind="processor", type="batch", config_model=BatchConfig, create=BatchProcessor)
