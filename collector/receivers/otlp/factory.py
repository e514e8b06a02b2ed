"""Factory of the ``otlp`` receiver."""

from __future__ import annotations

from tracelock.collector.receivers.otlp.config import OTLPReceiverConfig
from tracelock.collector.receivers.otlp.otlp import OTLPReceiver
from tracelock.collector.registry_types import Factory

__all__ = ["FACTORY"]

FACTORY = Factory(kind="receiver", type="otlp", config_model=OTLPReceiverConfig, create=OTLPReceiver)
