"""Settings of the ``clickhouse`` exporter."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ClickHouseExporterConfig"]


class ClickHouseExporterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint: str | None = Field(
        None,
        description="ClickHouse server URL; default: --clickhouse-url, else embedded chDB in --data-dir.",
    )
    database: str | None = Field(None, description="Database; default: --database (tracelock).")
