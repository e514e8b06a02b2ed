"""The span-writing seam: rows of a table from protobuf messages, through one SELECT, per backend.

A writer describes the rows once (:class:`ProtobufInsert`: the target table and the SELECT over a
source of the messages); each store runs it the way its backend takes a body. chDB reads a spool file
through ``file()`` in ``INSERT ... SELECT`` (its streaming insert does not take a SELECT). A ClickHouse
server gets a plain ``INSERT ... FORMAT Protobuf`` into a Null-engine landing table whose materialized
view is that SELECT: one statement, the same one clickhouse-connect's in-process chDB client runs in CI.
Writers never look at which store they have or reach into its client.

Both read the messages as ClickHouse's ``Protobuf`` format, one row per message, each prefixed by its
length (:func:`write_length_delimited`), not as one ``ProtobufSingle`` message of them all: ClickHouse
can then parse and convert a batch a few messages at a time (the writer's
``input_format_max_block_size_bytes``) instead of all at once, which bounds the memory an INSERT adds
(bench/RESULTS.md, issue 18).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol, runtime_checkable

from google.protobuf import proto
from google.protobuf.empty_pb2 import Empty
from google.protobuf.message import DecodeError

from tracelock.errors import InputError, StoreError
from tracelock.store.base import check_identifier

__all__ = ["ProtobufInsert", "ProtobufWriter", "protobuf_writer", "write_length_delimited"]


@dataclass(frozen=True)
class ProtobufInsert:
    """Rows of ``table`` (its ``columns``) from ``select(source)``: a SELECT over a source of the
    messages read as ``structure``, a row per message (a ``file(...)`` call, or a table of that
    structure), each column named as ``table`` names it. The messages are ``message`` of the ``schema``
    .proto; ``params`` are the SELECT's bound parameters, ``settings`` the insert's ClickHouse settings."""

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
        """Run ``insert`` over ``messages``, one source row each, as one INSERT."""


def protobuf_writer(store: object) -> ProtobufWriter:
    """``store`` as a ProtobufWriter, or a StoreError naming it (a store reached through a collector
    forwards queries, not span batches)."""
    if not isinstance(store, ProtobufWriter):
        description = getattr(store, "description", type(store).__name__)
        raise StoreError(f"{description} cannot write span batches: open the chDB directory or a server")
    return store


def write_length_delimited(messages: Iterable[bytes], out: IO[bytes]) -> None:
    """Write ``messages`` as ClickHouse's ``Protobuf`` format reads rows: each one's length as a varint,
    then its bytes. The framing is protobuf's own (``proto.serialize_length_prefixed``); an ``Empty``
    parsed from a message holds all its fields as unknown fields and serializes them back byte for byte,
    so nothing is decoded or re-encoded (~0.3 µs a span, bench/RESULTS.md). Bytes that are not a
    protobuf message at all are an InputError naming the message: the data's fault, never retried."""
    for index, message in enumerate(messages):
        try:
            framed = Empty.FromString(message)
        except DecodeError as exc:
            raise InputError(f"message {index} of the batch is not a protobuf message: {exc}") from exc
        proto.serialize_length_prefixed(framed, out)  # type: ignore[arg-type]  # typed as BytesIO only
