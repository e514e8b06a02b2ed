"""The one boundary where chDB and clickhouse-connect errors become tracelock errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from tracelock.errors import QueryError, StoreError, StoreUnavailable

__all__ = ["first_line", "translate_errors"]

_CODE = re.compile(r"Code:\s*(\d+)\.\s*(?:DB::Exception:\s*)?(.*)", re.S)
# Codes whose message already names the missing table/column/setting.
_NAMES_THE_THING = {16, 36, 44, 47, 53, 60, 62, 81, 115, 386}


def first_line(message: str) -> str:
    """ClickHouse messages carry stack traces and hints after the first sentence; keep the first line."""
    line = message.strip().splitlines()[0] if message.strip() else message
    return line.split(". (", 1)[0] + ("." if ". (" in line else "")


@contextmanager
def translate_errors(store: str, sql: str | None = None) -> Iterator[None]:
    """Turn a backend exception into QueryError/StoreUnavailable with a one-line message."""
    try:
        yield
    except StoreError:
        raise
    except (ConnectionError, OSError) as exc:
        raise StoreUnavailable(f"{store}: cannot reach the store: {exc}") from exc
    except Exception as exc:
        text = str(exc)
        match = _CODE.search(text)
        if match is None:
            if "connection" in text.lower() or "timed out" in text.lower():
                raise StoreUnavailable(f"{store}: {first_line(text)}") from exc
            raise QueryError(f"{store}: {first_line(text)}", sql=sql) from exc
        code = int(match.group(1))
        raise QueryError(f"{store}: {first_line(match.group(2))}", code=code, sql=sql) from exc
