"""Permanent or retryable: whose fault a failed write is.

Permanent errors are the data's: bytes the store cannot parse, a value of the wrong type, a row too
large. Writing the same batch again fails the same way, so it must be split and the culprit set
aside. Retryable errors are the store's: unreachable, timed out, out of memory, too many parts. The
same batch succeeds later. An error this module does not know is retryable: nothing acknowledged is
ever set aside on a guess (a data error the list misses is still caught, since its retries never end
while the other batches are written, and shows as a stalled writer on ``/readyz``).
"""

from __future__ import annotations

from tracelock.errors import InputError, QueryError, TracelockError

__all__ = ["PERMANENT_CODES", "PermanentWriteError", "is_permanent"]

#: ClickHouse error codes caused by the data of an insert.
PERMANENT_CODES = frozenset(
    {
        6,  # CANNOT_PARSE_TEXT
        27,  # CANNOT_PARSE_INPUT_ASSERTION_FAILED
        32,  # ATTEMPT_TO_READ_AFTER_EOF
        33,  # CANNOT_READ_ALL_DATA
        41,  # CANNOT_PARSE_DATETIME
        53,  # TYPE_MISMATCH
        69,  # ARGUMENT_OUT_OF_BOUND
        70,  # CANNOT_CONVERT_TYPE
        72,  # CANNOT_PARSE_NUMBER
        117,  # INCORRECT_DATA
        128,  # TOO_LARGE_ARRAY_SIZE
        131,  # TOO_LARGE_STRING_SIZE
        190,  # SIZES_OF_ARRAYS_DONT_MATCH
        321,  # VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
        396,  # TOO_MANY_ROWS_OR_BYTES
        436,  # PROTOBUF_BAD_CAST
        437,  # PROTOBUF_FIELD_NOT_REPEATED
        444,  # UNKNOWN_PROTOBUF_FORMAT ("messages are corrupted or don't match the schema")
    }
)


class PermanentWriteError(TracelockError):
    """An exporter's own verdict that a batch can never be written (e.g. a row over a size limit)."""


def is_permanent(exc: BaseException) -> bool:
    if isinstance(exc, PermanentWriteError | InputError):
        return True
    return isinstance(exc, QueryError) and exc.code in PERMANENT_CODES
