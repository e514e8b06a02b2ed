"""Write-ahead log: an export is acknowledged only after its bytes are here and fsync'd.

Records are ``<length u32><crc32 u32><seq u64><payload>`` appended to segment files ``wal-<first seq>.log``.
Appends from many receiver threads share fsyncs (group commit): whoever syncs covers every record
written before it. When the writer has stored a record it is marked written; the contiguous low-water
mark is kept in ``checkpoint`` and segments wholly below it are deleted. On start every record above
the checkpoint is handed back for replay.

Exactly once across a crash, at a cost independent of the table size: before the writer inserts a
batch it records the batch's records and a fresh token in ``inflight-<token>`` (:meth:`begin`), and the
insert carries that token (ClickHouse ``insert_deduplication_token``). A batch stored just before a
crash (checkpoint not yet advanced) is replayed as the same records under the same token, and ClickHouse
skips it. A client that resends a request it never saw acknowledged sends the same bytes: after an
unclean stop :attr:`recent_digests` holds a digest of every record still in the log, and of those
seen in the last ``RESEND_WINDOW_S`` by earlier runs (``recent-digests``: a client may retry into the
run after next when the collector is killed again), so the pipeline recognises such a resend without
a query.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

from tracelock.errors import Overloaded

__all__ = ["RESEND_WINDOW_S", "WriteAheadLog", "digest"]

_HEADER = struct.Struct("<IIQ")


class WriteAheadLog:
    def __init__(
        self,
        directory: str | Path,
        *,
        max_bytes: int = 1 << 30,
        segment_bytes: int = 64 << 20,
        fsync: bool = True,
    ) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.fsync = fsync
        self._lock = threading.Lock()  # file writes, sequence numbers, accounting
        self._sync_lock = threading.Lock()  # one fsync at a time; waiters reuse its result
        self._file: io.FileIO | None = None
        self._segment_size = 0
        self._next_seq = 1
        self._synced = 0
        self._checkpoint = 0
        self._done: set[int] = set()
        self._sizes: dict[int, int] = {}
        self._where: dict[int, tuple[Path, int]] = {}  # unwritten records: segment, offset
        self._segments: list[tuple[int, Path]] = []  # (first seq, path), oldest first
        self.pending_bytes = 0
        self._damaged = False
        self.previous_stop_was_clean = True
        self.inflight: list[tuple[str, list[int]]] = []  # (token, seqs) of batches a crash interrupted
        self._intents: dict[str, int] = {}  # token of a batch being (or just) inserted -> its last seq
        self.recent_digests: set[bytes] = set()  # after an unclean stop: every record still in the log

    # -- start: recover ------------------------------------------------------------------------------
    def open(self) -> list[int]:
        """Open the log and return the sequence numbers of the records not yet marked written, oldest
        first; :meth:`read` reads them. Only their places are kept: a backlog of up to ``max_bytes``
        (1 GiB by default) left by a crash would otherwise be in memory all at once at the next start.

        Also sets :attr:`previous_stop_was_clean`: False when an earlier run used this log and did not
        close it after writing everything (killed, crashed, or stopped before its queue drained).
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        marker = self.directory / _CLEAN_STOP
        first_run = not any(self.directory.iterdir())
        self.previous_stop_was_clean = first_run or marker.exists()
        marker.unlink(missing_ok=True)
        checkpoint_file = self.directory / "checkpoint"
        if checkpoint_file.exists():
            text = checkpoint_file.read_text().strip()
            self._checkpoint = int(text) if text.isdigit() else 0
        pending: list[int] = []
        last_seq = self._checkpoint
        for path in sorted(self.directory.glob("wal-*.log")):
            records, good_end = _read_segment(path)
            if good_end < path.stat().st_size:  # torn tail from a crash mid-append: never acknowledged
                with open(path, "r+b") as fh:
                    fh.truncate(good_end)
            first = records[0][0] if records else last_seq + 1
            self._segments.append((first, path))
            for seq, payload, offset in records:
                last_seq = max(last_seq, seq)
                if not self.previous_stop_was_clean:
                    self.recent_digests.add(digest(payload))
                if seq > self._checkpoint:
                    pending.append(seq)
                    self._sizes[seq] = len(payload)
                    self._where[seq] = (path, offset)
                    self.pending_bytes += len(payload)
        self._next_seq = last_seq + 1
        self._synced = last_seq
        self._read_inflight(set(pending))
        self._remember_digests()
        self._open_segment()
        return pending

    def _read_inflight(self, pending: set[int]) -> None:
        """Batches that were being inserted at the crash: replay their pending records under their
        token (stored or not, all of a batch's records are pending unless ClickHouse committed it)."""
        for path in sorted(self.directory.glob("inflight-*")):
            try:
                seqs = [int(s) for s in json.loads(path.read_text())]
            except (ValueError, TypeError):  # torn by the crash before its fsync: never inserted
                seqs = []
            left = [s for s in seqs if s in pending]
            if left:
                token = path.name.removeprefix("inflight-")
                self.inflight.append((token, left))
                self._intents[token] = max(seqs)
            else:
                path.unlink(missing_ok=True)

    def _open_segment(self) -> None:
        path = self.directory / f"wal-{self._next_seq:020d}.log"
        self._file = open(path, "ab", buffering=0)  # noqa: SIM115 - kept open; unbuffered: no half frame in memory
        self._segment_size = path.stat().st_size
        if not self._segments or self._segments[-1][1] != path:
            self._segments.append((self._next_seq, path))

    # -- append: the acknowledgement point -----------------------------------------------------------
    def append(self, payload: bytes) -> int:
        """Append one record and return its sequence number once it is durable (fsync'd)."""
        size = len(payload)
        with self._lock:
            if self._file is None:
                raise RuntimeError("write-ahead log is closed")
            if self.pending_bytes + size > self.max_bytes and self.pending_bytes > 0:
                raise Overloaded(
                    f"write-ahead log full ({self.pending_bytes} of {self.max_bytes} bytes unwritten)",
                    retry_after=2.0,
                )
            if self._segment_size >= self.segment_bytes:
                self._rotate()
            if self._damaged:
                raise OSError(f"write-ahead log segment in {self.directory} could not be repaired; restart")
            seq = self._next_seq
            header = _HEADER.pack(size, zlib.crc32(payload), seq)
            where = (self._segments[-1][1], self._segment_size)
            try:  # two writes, not header + payload: that copies every request (~0.4 MB) once more
                _write_all(self._file, header)
                _write_all(self._file, payload)
            except OSError:
                self._cut_back()  # a half-written frame would hide every later record from replay
                raise
            self._next_seq += 1
            self._segment_size += len(header) + size
            self._sizes[seq] = size
            self._where[seq] = where
            self.pending_bytes += size
        try:
            self._sync(seq)
        except OSError:
            self.mark_written([seq])  # never acknowledged: let the checkpoint move past it
            raise
        return seq

    def read(self, seqs: Iterable[int]) -> tuple[bytes, ...]:
        """The payloads of records not yet marked written (replayed or appended by this run).

        The queue holds a batch's sequence numbers, not its bytes: a full queue (100 000 spans, ~75 MB
        of requests) would otherwise stay in the process's heap as well as in the log, and glibc keeps
        such a peak long after the queue empties. A record that does not read back as it was written (a
        damaged disk) is an OSError naming it.
        """
        with self._lock:
            places = [(seq, *self._where[seq], self._sizes[seq]) for seq in seqs]
        payloads: list[bytes] = []
        with contextlib.ExitStack() as stack:
            handles: dict[Path, io.BufferedReader] = {}
            for seq, path, offset, size in places:
                if path not in handles:
                    handles[path] = stack.enter_context(open(path, "rb"))
                handles[path].seek(offset)
                try:
                    found, payload, _ = _unframe(handles[path].read(_HEADER.size + size), 0)
                except _BadFrame as exc:
                    raise OSError(f"write-ahead log record {seq} in {path} {exc}") from None
                if found != seq or len(payload) != size:
                    raise OSError(f"write-ahead log record {seq} in {path} {_MOVED}")
                payloads.append(payload)
        return tuple(payloads)

    def _open_file(self) -> io.FileIO:
        if self._file is None:
            raise RuntimeError("write-ahead log is closed")
        return self._file

    def _cut_back(self) -> None:
        try:
            os.ftruncate(self._open_file().fileno(), self._segment_size)
        except OSError:
            self._damaged = True

    def _sync(self, seq: int) -> None:
        with self._sync_lock:
            if self._synced >= seq:
                return
            with self._lock:
                file = self._open_file()
                file.flush()
                target = self._next_seq - 1
                fd = os.dup(file.fileno())
            try:
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            self._synced = target

    def _rotate(self) -> None:
        file = self._open_file()
        file.flush()
        if self.fsync:
            os.fsync(file.fileno())
        file.close()
        self._open_segment()

    def _remember_digests(self) -> None:
        """Keep this run's digests with those of earlier runs still inside the window, on disk."""
        path, now = self.directory / _RECENT, time.time()
        kept: dict[bytes, float] = {}
        if path.exists():
            for line in path.read_text().splitlines():
                hex_digest, _, seen = line.partition(" ")
                try:
                    if now - float(seen) < RESEND_WINDOW_S:
                        kept[bytes.fromhex(hex_digest)] = float(seen)
                except ValueError:
                    continue
        for d in self.recent_digests:
            kept.setdefault(d, now)
        self.recent_digests = set(kept)
        if kept or path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_text("".join(f"{d.hex()} {seen}\n" for d, seen in kept.items()))
            os.replace(tmp, path)

    # -- a batch about to be inserted ----------------------------------------------------------------
    def begin(self, seqs: tuple[int, ...]) -> str:
        """Record durably that the records ``seqs`` are being inserted under a new token; return it."""
        token = uuid.uuid4().hex
        with open(self.directory / f"inflight-{token}", "w") as out:
            out.write(json.dumps(list(seqs)))
            out.flush()
            if self.fsync:
                os.fsync(out.fileno())
        with self._lock:
            self._intents[token] = max(seqs, default=0)
        return token

    # -- written: move the checkpoint ----------------------------------------------------------------
    def mark_written(self, seqs: Iterable[int]) -> None:
        """Record that these records are stored (or quarantined); advances the checkpoint, drops old
        segments, and drops in-flight records once the checkpoint has passed all of their records
        (until then a crash would replay them, and their token is what deduplicates them)."""
        with self._lock:
            for seq in seqs:
                if seq > self._checkpoint:
                    self._done.add(seq)
                self.pending_bytes -= self._sizes.pop(seq, 0)
                self._where.pop(seq, None)
            moved = False
            while self._checkpoint + 1 in self._done:
                self._checkpoint += 1
                self._done.discard(self._checkpoint)
                moved = True
            if not moved:
                return
            tmp = self.directory / "checkpoint.tmp"
            tmp.write_text(str(self._checkpoint))
            os.replace(tmp, self.directory / "checkpoint")
            for token in [t for t, last in self._intents.items() if last <= self._checkpoint]:
                del self._intents[token]
                (self.directory / f"inflight-{token}").unlink(missing_ok=True)
            while len(self._segments) > 1 and self._segments[1][0] - 1 <= self._checkpoint:
                _, path = self._segments.pop(0)
                path.unlink(missing_ok=True)

    @property
    def checkpoint(self) -> int:
        return self._checkpoint

    def close(self, *, clean: bool = False) -> None:
        """Close the log; ``clean`` (everything acknowledged is written) leaves a marker for the next run."""
        with self._lock:
            if self._file is not None:
                self._file.flush()
                self._file.close()
                self._file = None
            if clean:
                (self.directory / _CLEAN_STOP).touch()


_CLEAN_STOP = "clean-stop"
_RECENT = "recent-digests"
#: How long (s) a request equal to a record of a run that stopped uncleanly counts as a client's resend.
RESEND_WINDOW_S = 300.0


def digest(payload: bytes | memoryview) -> bytes:
    """A record's identity for resend detection (128-bit BLAKE2b)."""
    return hashlib.blake2b(payload, digest_size=16).digest()


def _write_all(file: io.FileIO, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = file.write(view) or 0
        view = view[written:]


class _BadFrame(ValueError):
    """A record frame that is cut short or fails its checksum (its message says which)."""


_MOVED = "is not where it was written"


_Buffer = TypeVar("_Buffer", bytes, memoryview)


def _unframe(data: _Buffer, pos: int) -> tuple[int, _Buffer, int]:
    """(seq, payload, end) of the record framed at ``pos`` in ``data``, or _BadFrame."""
    if pos + _HEADER.size > len(data):
        raise _BadFrame(_MOVED)
    size, crc, seq = _HEADER.unpack_from(data, pos)
    end = pos + _HEADER.size + size
    if end > len(data):
        raise _BadFrame(_MOVED)
    payload = data[pos + _HEADER.size : end]
    if zlib.crc32(payload) != crc:
        raise _BadFrame("fails its checksum")
    return seq, payload, end


def _read_segment(path: Path) -> tuple[list[tuple[int, memoryview, int]], int]:
    """Records of one segment (seq, payload, offset of its frame) and the offset where the last intact
    record ends. Payloads are views of the segment's bytes, gone with them once the caller is done."""
    data = memoryview(path.read_bytes())
    records: list[tuple[int, memoryview, int]] = []
    pos = 0
    while True:
        try:
            seq, payload, end = _unframe(data, pos)
        except _BadFrame:  # a torn tail (or damage): nothing after it was acknowledged intact
            return records, pos
        records.append((seq, payload, pos))
        pos = end
