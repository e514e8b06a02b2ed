"""The exit codes of every ``tracelock`` command: one contract, written down here and in docs/cli.md.

    0  done
    1  the command ran and failed: data refused, the store said no, a lock regressed or is missing
    2  usage: an unknown or malformed option, options missing or in conflict, an invalid config, rules
       or lock file. Nothing was read or written.
    3  ``lock check`` only: the eval runner or the store failed, so the gate could not decide

Click's own usage errors exit 2 as well, so every mistake in a command line gives the same code.
"""

from __future__ import annotations

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_RUNNER", "EXIT_USAGE"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_RUNNER = 3
