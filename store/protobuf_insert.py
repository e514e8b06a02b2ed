"""The span-writing seam: one ``INSERT ... SELECT`` that reads protobuf messages, per backend.

A writer describes the statement once (:class:`ProtobufInsert`); each store executes it the way its
backend takes a body: chDB reads a spool file through ``file()`` (its streaming insert does not take
``INSERT ... SELECT``), a ClickHouse server reads the request body through ``input()`` with the schema
sent inline. Writers never look at which store they have or reach into its client.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from tracelock.errors import StoreError

__all__ = ["ProtobufInsert", "ProtobufWriter", "protobuf_writer"]


@dataclass(frozen=True)
class ProtobufInsert:
    """``render(source)`` is the whole statement for a source expression (a ``file(...)`` or
    ``input(...)`` call reading ``structure``); the messages are ``message`` of the ``schema`` .proto;
    ``params`` are the statement's bound parameters, ``settings`` the insert's ClickHouse settings."""

    render: Callable[[str], str]
    structure: str
    schema: Path
    message: str
    params: Mapping[str, Any] = field(default_factory=dict)
    settings: Mapping[str, object] = field(default_factory=dict)


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
