"""Factory of the ``normalize`` processor."""

from __future__ import annotations

from tracelock.collector.processors.normalize.config import NormalizeConfig
from tracelock.collector.processors.normalize.normalize import NormalizeProcessor
from tracelock.collector.registry_types import Factory

__all__ = ["FACTORY"]

FACTORY = Factory(kind="processor", type="normalize", config_model=NormalizeConfig, create=NormalizeProcessor)
