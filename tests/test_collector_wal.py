"""The write-ahead log on its own: durable appends, group commit, torn tails, checkpoint, segments, limit."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tracelock.collector.wal import WriteAheadLog
from tracelock.errors import Overloaded


def _reopened(wal: WriteAheadLog) -> list[tuple[int, bytes]]:
    """Open ``wal`` and read back what it hands over for replay: (seq, payload), oldest first."""
    seqs = wal.open()
    return list(zip(seqs, wal.read(seqs), strict=True))


def test_unwritten_records_come_back_after_reopen(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    assert wal.open() == []
    seqs = [wal.append(f"record {i}".encode()) for i in range(5)]
    assert seqs == [1, 2, 3, 4, 5]
    wal.mark_written([1, 2, 4])  # 3 is not written yet: the checkpoint stops at 2
    assert wal.checkpoint == 2
    wal.close()
    again = WriteAheadLog(tmp_path)
    assert _reopened(again) == [(3, b"record 2"), (4, b"record 3"), (5, b"record 4")]
    assert again.append(b"next") == 6


def test_torn_tail_is_cut_and_earlier_records_survive(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    wal.open()
    wal.append(b"complete")
    wal.append(b"will be torn")
    wal.close()
    segment = next(tmp_path.glob("wal-*.log"))
    segment.write_bytes(segment.read_bytes()[:-5])  # crash in the middle of the second append
    again = WriteAheadLog(tmp_path)
    assert _reopened(again) == [(1, b"complete")]
    assert again.append(b"after") == 2


def test_segments_rotate_and_written_ones_are_deleted(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path, segment_bytes=100)
    wal.open()
    seqs = [wal.append(b"x" * 60) for _ in range(6)]
    assert len(list(tmp_path.glob("wal-*.log"))) == 3  # two 76-byte records per 100-byte segment
    wal.mark_written(seqs)
    assert len(list(tmp_path.glob("wal-*.log"))) == 1  # only the active segment is left
    wal.close()
    assert WriteAheadLog(tmp_path).open() == []


def test_full_log_refuses_with_overloaded(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path, max_bytes=1000)
    wal.open()
    first = wal.append(b"a" * 800)
    with pytest.raises(Overloaded, match="write-ahead log full"):
        wal.append(b"b" * 300)
    wal.mark_written([first])
    wal.append(b"b" * 300)


def test_concurrent_appends_share_fsyncs_and_lose_nothing(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    wal.open()
    got: list[int] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        for i in range(50):
            seq = wal.append(f"{n}-{i}".encode())
            with lock:
                got.append(seq)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wal.close()
    assert sorted(got) == list(range(1, 401))
    records = _reopened(WriteAheadLog(tmp_path))
    assert len(records) == 400 and {p for _, p in records} == {
        f"{n}-{i}".encode() for n in range(8) for i in range(50)
    }


def test_the_next_run_knows_whether_the_last_one_stopped_cleanly(tmp_path: Path) -> None:
    """After a kill, clients may resend what was acknowledged but never answered: the exporter then
    deduplicates for a while even when nothing is left to replay."""
    first = WriteAheadLog(tmp_path)
    first.open()
    assert first.previous_stop_was_clean  # a new log has no previous run
    first.mark_written([first.append(b"x")])
    first.close()  # as after SIGKILL: closed without the clean marker
    killed = WriteAheadLog(tmp_path)
    assert killed.open() == []
    assert not killed.previous_stop_was_clean
    killed.close(clean=True)  # SIGTERM after a full drain
    drained = WriteAheadLog(tmp_path)
    drained.open()
    assert drained.previous_stop_was_clean
    drained.close()
    again = WriteAheadLog(tmp_path)
    again.open()
    assert not again.previous_stop_was_clean, "the marker must be consumed by the run that read it"


def test_unwritten_records_read_back_across_segments_until_written(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path, segment_bytes=100)
    wal.open()
    seqs = [wal.append(f"record {i}".encode() * 5) for i in range(6)]  # 3 segments
    assert wal.read([seqs[4], seqs[0], seqs[2]]) == tuple(f"record {i}".encode() * 5 for i in (4, 0, 2))
    wal.mark_written(seqs[:2])
    with pytest.raises(KeyError):
        wal.read([seqs[0]])  # written: its segment may be gone
    assert wal.read([seqs[2]]) == (b"record 2" * 5,)
    wal.close()


def test_a_backlog_is_handed_over_as_record_numbers_and_read_back_from_its_segments(tmp_path: Path) -> None:
    """A crash can leave max_bytes (1 GiB) unwritten: the next start must not hold it all in memory."""
    wal = WriteAheadLog(tmp_path, segment_bytes=100)
    wal.open()
    seqs = [wal.append(f"record {i}".encode() * 5) for i in range(6)]  # 3 segments
    wal.mark_written(seqs[:1])
    wal.close()
    again = WriteAheadLog(tmp_path, segment_bytes=100)
    pending = again.open()
    assert pending == seqs[1:] and again.pending_bytes == 5 * len(b"record 0" * 5)
    assert again.read([pending[4], pending[0]]) == (b"record 5" * 5, b"record 1" * 5)
    again.mark_written(pending[:3])  # the first two segments are wholly written now
    assert again.read([pending[3]]) == (b"record 4" * 5,) and len(list(tmp_path.glob("wal-*.log"))) == 2
    again.close()


def test_a_record_moved_or_damaged_on_disk_is_an_oserror_naming_it(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    wal.open()
    first, second = wal.append(b"first"), wal.append(b"second")
    segment = next(tmp_path.glob("wal-*.log"))
    data = bytearray(segment.read_bytes())
    data[-1] ^= 0x01
    segment.write_bytes(bytes(data))
    assert wal.read([first]) == (b"first",)
    with pytest.raises(OSError, match=f"record {second} .* fails its checksum"):
        wal.read([second])
    segment.write_bytes(bytes(data[:20]))
    with pytest.raises(OSError, match=f"record {second} .* is not where it was written"):
        wal.read([second])
    wal.close()
