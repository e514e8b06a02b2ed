"""The span-writing seam: rows of a table from protobuf messages, through one SELECT, per backend.

A writer describes the rows once (:class:`ProtobufInsert`: the target table and the SELECT over a
source of the messages); each store runs it the way its backend takes a body. chDB reads a spool file
through ``file()`` in ``INSERT ... SELECT`` (its streaming insert does not take a SELECT). A ClickHouse
server gets a plain ``INSERT ... FORMAT ProtobufSingle`` into a Null-engine landing table whose
materialized view is that SELECT: one statement, the same one clickhouse-connect's in-process chDB
client runs in CI. Writers never look at which store they have or reach into its client.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from tracelock.errors import StoreError
from tracelock.store.base import check_identifier

__all__ = ["ProtobufInsert", "ProtobufWriter", "protobuf_writer"]


@dataclass(frozen=True)
class ProtobufInsert:
    """Rows of ``table`` (its ``columns``) from ``select(source)``: a SELECT over a source of the
    messages read as ``structure`` (a ``file(...)`` call, or a table of that structure), each column
    named as ``table`` names it. The messages are ``message`` of the ``schema`` .proto; ``params`` are the
    SELECT's bound parameters, ``settings`` the insert's ClickHouse settings."""

    table: str
    columns: tuple[str, ...]
    select: Callable[[str], str]
    structure: str
    schema: Path
    message: str
    params: Mapping[str, Any] = field(default_factory=dict)
    settings: Mapping[str, object] = field(default_factory=dict)

    def statement(self, source: str) -> str:
        """``INSERT INTO table (columns) SELECT ...`` reading ``source``."""
        columns = ", ".join(f"`{check_identifier(c, 'column')}`" for c in self.columns)
        return f"INSERT INTO {check_identifier(self.table, 'table')}\n({columns})\n{self.select(source)}"


@runtime_checkable
class ProtobufWriter(Protocol):
    def insert_protobuf(self, insert: ProtobufInsert, messages: Sequence[bytes]) -> None:
        """Run ``insert`` over the concatenation of ``messages`` (one ProtobufSingle message)."""


def protobuf_writer(store: object) -> ProtobufWriter:
    """``store`` as a ProtobufWriter, or a StoreError naming it (a store reached through a collector
    forwards queries, not span batches)."""
    if not isinstance(store, ProtobufWriter):
        description = getattr(store, "description", type(store).__name__)
        raise StoreError(f"{description} cannot write span batches: open the chDB directory or a server")
    return store
