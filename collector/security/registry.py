"""The Prometheus registry of the security and limits metrics (process-wide; ``/metrics`` appends it)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

__all__ = ["SECURITY_REGISTRY"]

SECURITY_REGISTRY = CollectorRegistry()
