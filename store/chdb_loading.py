"""How chDB is loaded: without pyarrow in the processes tracelock owns.

chDB imports pyarrow (and with it numpy) as soon as a session opens, whenever pyarrow is installed; it is
optional there, for Arrow results only, which tracelock never asks for. In the collector that is ~40 MB
of RSS it never uses, and on every command that opens chDB 100-300 ms of start-up (bench/RESULTS.md).
Only the processes tracelock owns (the CLI, and the collector it runs) opt in: in a user's own process
chDB's Arrow results keep working. pyarrow itself stays importable either way. This module imports
nothing heavy, so the CLI can opt in before it knows whether a command needs chDB at all.
"""

from __future__ import annotations

import sys
from types import ModuleType

__all__ = ["chdb_session_module", "load_chdb_without_pyarrow"]

_without_pyarrow = False


def load_chdb_without_pyarrow() -> None:
    """Have chDB, when this process first opens it, load without pyarrow."""
    global _without_pyarrow
    _without_pyarrow = True


def chdb_session_module() -> ModuleType:
    """``chdb.session``, imported without pyarrow when this process opted in and nothing loaded it yet."""
    if not _without_pyarrow or "pyarrow" in sys.modules or "chdb.state.sqlitelike" in sys.modules:
        from chdb import session
    else:
        sys.modules["pyarrow"] = None  # type: ignore[assignment]  # chDB's optional import fails, as without it
        try:
            from chdb import session
        finally:
            del sys.modules["pyarrow"]
    return session
