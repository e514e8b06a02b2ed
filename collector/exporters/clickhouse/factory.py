"""Factory of the ``clickhouse`` exporter."""

from __future__ import annotations

from tracelock.collector.exporters.clickhouse.clickhouse import ClickHouseExporter
from tracelock.collector.exporters.clickhouse.config import ClickHouseExporterConfig
from tracelock.collector.registry_types import Factory

__all__ = ["FACTORY"]

FACTORY = Factory(
    kind="exporter", type="clickhouse", config_model=ClickHouseExporterConfig, create=ClickHouseExporter
)
