"""Every error tracelock raises, in one tree.

    TracelockError                 base; str() is one line that names the problem
    ├── ConfigError                a setting or file is wrong; names the field (and its path)
    │   ├── LockFileError          a lock file is invalid; names file, line, case and field
    │   └── RulesError             a sampler rules file is invalid; names file, line, rule and field
    ├── InputError                 data sent to us is bad (a 4xx / INVALID_ARGUMENT); names the problem
    │   ├── PayloadTooLarge        a request over a size or count limit (HTTP 413); names the limit
    │   ├── UnsupportedMediaType   a request body of a Content-Type we do not take (HTTP 415)
    │   └── ResultsError           an eval-results file/stream is malformed; names source and line
    ├── Overloaded                 the collector is full (queue/WAL); retry later (429 / RESOURCE_EXHAUSTED)
    ├── RunnerError                `lock check --runner` command crashed, timed out or gave no results
    └── StoreError                 the database said no
        ├── StoreUnavailable       cannot reach the server, or the chDB directory is held elsewhere
        │   └── DataDirLocked      another process owns the chDB data directory
        ├── QueryError             ClickHouse rejected a statement (unknown table/column, syntax, ...)
        └── SchemaError            the stored schema is newer than this code, or a migration failed

Third-party errors (chDB, clickhouse-connect) are translated at one boundary,
:func:`tracelock.store.errors.translate_errors`, with the original chained as ``__cause__``.
Later components add their own subclasses here so the tree stays drawn in one place.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DataDirLocked",
    "InputError",
    "LockFileError",
    "Overloaded",
    "PayloadTooLarge",
    "QueryError",
    "ResultsError",
    "RulesError",
    "RunnerError",
    "SchemaError",
    "StoreError",
    "StoreUnavailable",
    "TracelockError",
    "UnsupportedMediaType",
]


class TracelockError(Exception):
    """Base of all tracelock errors."""


class ConfigError(TracelockError):
    """A configuration value is wrong. ``field`` is its dotted/YAML path when known."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class InputError(TracelockError):
    """Data sent to tracelock is malformed; permanent, never worth retrying."""


class StoreError(TracelockError):
    """The store (chDB or ClickHouse server) failed."""


class StoreUnavailable(StoreError):
    """The store cannot be reached or opened."""


class DataDirLocked(StoreUnavailable):
    """Another process holds the embedded chDB data directory."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(
            f"chDB data directory {path} is in use by another process. One process owns a chDB directory "
            "at a time; a running `tracelock collector` serves every command once it is ready (it writes "
            "collector.json into the directory)."
        )


class QueryError(StoreError):
    """ClickHouse rejected a statement. ``code`` is ClickHouse's error code when known."""

    def __init__(self, message: str, *, code: int | None = None, sql: str | None = None) -> None:
        self.code = code
        self.sql = sql
        super().__init__(message)


class SchemaError(StoreError):
    """The schema cannot be brought to the version this code expects."""


class LockFileError(ConfigError):
    """A lock file is invalid. The message names the file, the line when known, the case and the field."""

    def __init__(
        self,
        path: str,
        message: str,
        *,
        line: int | None = None,
        case: str | None = None,
        field: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.case = case
        where = f"{path}:{line}" if line else path
        if case:
            where += f": case {case!r}"
        self.where = where
        ConfigError.__init__(self, message, field=None)
        self.field = field
        self.args = (f"{where}: {field}: {message}" if field else f"{where}: {message}",)

    def __str__(self) -> str:
        return str(self.args[0])


class PayloadTooLarge(InputError):
    """A request over a size or count limit; permanent (HTTP 413 / INVALID_ARGUMENT)."""


class UnsupportedMediaType(InputError):
    """A request body of a Content-Type the endpoint does not take; permanent (HTTP 415)."""


class ResultsError(InputError):
    """Eval results (JSONL) are malformed; the message names the source and line."""


class RunnerError(TracelockError):
    """The command given to ``lock check --runner`` failed, timed out or produced no results."""


class RulesError(ConfigError):
    """A sampler rules file is invalid. ``problems`` lists each as ``file:line: rule 'x': field: message``."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = list(problems)
        count = f"{len(problems)} problems" if len(problems) > 1 else "1 problem"
        ConfigError.__init__(self, f"invalid rules file {path} ({count}):\n  " + "\n  ".join(problems))


class Overloaded(TracelockError):
    """The collector cannot take more data right now (queue or WAL full); retryable.

    Maps to gRPC ``RESOURCE_EXHAUSTED`` / HTTP 429 with ``Retry-After: retry_after`` seconds.
    """

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        self.retry_after = retry_after
        super().__init__(message)
