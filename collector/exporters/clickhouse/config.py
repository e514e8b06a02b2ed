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
    dedup_after_replay_s: float = Field(
        300.0,
        ge=0,
        description="After a WAL replay (the previous run crashed) every batch skips spans already stored "
        "for "
        "this long: a client retrying a request whose acknowledgement the crash swallowed resends spans "
        "the replay also writes (0: deduplicate only replays and failed-insert retries).",
    )
