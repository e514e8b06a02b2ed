"""Requests the store refused permanently, kept with their error: ``<data-dir>/collector/dead-letter``.

Each entry is two files: ``<id>.pb`` (the request as it was acknowledged, canonical OTLP protobuf)
and ``<id>.json`` (why, when, how many spans). The JSON is written last, through a rename, so an
entry is listed only once its bytes are durable; the WAL record is marked written only after that.
Nothing is deleted except by ``tracelock collector dead-letter drop`` (or a replay that stored it).
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from tracelock.errors import InputError

__all__ = ["DeadLetter", "DeadLetters"]

_ID = re.compile(r"^[0-9]{13}-[0-9]+$")


@dataclass(frozen=True)
class DeadLetter:
    id: str
    quarantined_at: str
    span_count: int
    bytes: int
    cause: str  # a short label, e.g. "clickhouse code 444"
    error: str  # the store's message
    wal_seq: int


class DeadLetters:
    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def put(self, payload: bytes, *, span_count: int, cause: str, error: str, wal_seq: int = 0) -> DeadLetter:
        self.directory.mkdir(parents=True, exist_ok=True)
        entry = DeadLetter(
            id=f"{time.time_ns() // 1_000_000:013d}-{wal_seq}",
            quarantined_at=datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            span_count=span_count,
            bytes=len(payload),
            cause=cause,
            error=error,
            wal_seq=wal_seq,
        )
        _write_durably(self.directory / f"{entry.id}.pb", payload)
        _write_durably(self.directory / f"{entry.id}.json", json.dumps(asdict(entry)).encode())
        return entry

    def list(self) -> list[DeadLetter]:
        if not self.directory.is_dir():
            return []
        return [self.get(p.stem) for p in sorted(self.directory.glob("*.json"))]

    def get(self, entry_id: str) -> DeadLetter:
        path = self._path(entry_id, ".json")
        return DeadLetter(**json.loads(path.read_text()))

    def payload(self, entry_id: str) -> bytes:
        return self._path(entry_id, ".pb").read_bytes()

    def drop(self, entry_id: str) -> None:
        self._path(entry_id, ".json").unlink()
        self._path(entry_id, ".pb").unlink(missing_ok=True)

    def _path(self, entry_id: str, suffix: str) -> Path:
        if not _ID.match(entry_id):
            raise InputError(f"dead-letter id {entry_id!r}: expected <milliseconds>-<wal seq>, see `list`")
        path = self.directory / f"{entry_id}{suffix}"
        if not path.exists():
            raise InputError(f"no dead-letter entry {entry_id!r} in {self.directory}")
        return path


def _write_durably(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
