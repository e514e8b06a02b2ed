"""Settings of the ``clickhouse`` exporter, checked when the config loads (``--check`` included): a
database name ClickHouse would refuse or an endpoint that is not a ClickHouse URL fails there, named
by its YAML path, not at start."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tracelock.collector.exporters.clickhouse.writer import DEFAULT_PARSE_BLOCK_BYTES
from tracelock.errors import ConfigError
from tracelock.store.base import check_identifier
from tracelock.store.clickhouse_store import parse_clickhouse_url

__all__ = ["ClickHouseExporterConfig"]


def _reason(exc: ConfigError) -> str:
    """The message of ``exc`` without its field prefix: pydantic adds the YAML path itself."""
    return str(exc).removeprefix(f"{exc.field}: ") if exc.field else str(exc)


class ClickHouseExporterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint: str | None = Field(
        None,
        description="ClickHouse server URL; default: --clickhouse-url, else embedded chDB in --data-dir.",
    )
    database: str | None = Field(None, description="Database; default: --database (tracelock).")
    num_consumers: int = Field(
        1,
        ge=1,
        le=16,
        description="Batches written at once, each by its own writer thread and store session (as the "
        "OpenTelemetry Collector's sending_queue.num_consumers). More than 1 lets inserts use several "
        "cores; each batch in flight holds its own insert memory (~7 KB a span with chDB).",
    )
    parse_block_mib: int = Field(
        DEFAULT_PARSE_BLOCK_BYTES >> 20,
        ge=1,
        le=1024,
        description="ClickHouse parses and converts a batch in blocks of this many MiB before writing it as "
        "one part: smaller holds less memory at once and costs more CPU (a 32 768-span batch adds ~160 MB "
        "at 1, ~230 MB at 16, ~400 MB unbounded; 2 costs ~13 % more INSERT instructions than 16).",
    )
    dedup_after_replay_s: float = Field(
        300.0,
        ge=0,
        description="After an unclean stop, how long (s) a request whose bytes equal a record still in "
        "the WAL is taken for a client resending what the crash left unanswered, and stored once (a "
        "digest lookup in memory, no table scan). Replays themselves are deduplicated by insert token.",
    )

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_clickhouse_url(value)
            except ConfigError as exc:
                raise ValueError(_reason(exc)) from None
        return value

    @field_validator("database")
    @classmethod
    def _database(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                check_identifier(value, "database")
            except ConfigError as exc:
                raise ValueError(_reason(exc)) from None
        return value
