"""What the admin/query endpoint may run, decided by ClickHouse itself rather than by a Python lexer.

A lexer that disagrees with the engine by one token is a bypass (``SELECT $$#$$; DROP TABLE feedback``:
the old guard took ``#`` inside a dollar-quoted string for a comment). So the engine does all of it:

1. **Parse.** ``formatQuerySingleLine({sql:String})`` - the statement travels as a bound value, never
   as SQL - parses the text with ClickHouse's own parser: more than one statement, or a syntax error,
   is refused with the engine's message. Its output, the canonical text of that one statement, is what
   is checked and what runs.
2. **Inspect.** ``EXPLAIN AST <canonical>`` gives the engine's syntax tree. Allowed: one SELECT
   (``WITH``, ``UNION``, ``EXCEPT``...), SHOW, DESCRIBE, EXISTS or EXPLAIN statement whose table
   functions are all on ``allowed_table_functions`` (none by default: ``file``, ``url``, ``s3``,
   ``remote``, ``python``, ``numbers``... all refused), that calls no ``file()`` and writes no file
   (``INTO OUTFILE``, the only Literal a statement node holds directly).
3. **Enforce.** It runs in a session of its own (:func:`open_admin_session`) with ``readonly = 1`` -
   no write, DDL, SYSTEM or settings change, whatever the tree looked like - and ``max_execution_time``,
   ``max_result_rows/bytes`` and ``max_memory_usage`` set before ``readonly`` locks them. The session is
   not the writer's: a slow admin query never holds the lock the writer needs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from tracelock.collector.security.config import AdminConfig
from tracelock.errors import InputError, QueryError, StoreUnavailable
from tracelock.store import Store, StoreSettings, open_store

__all__ = ["READ_STATEMENTS", "AdminQueryGuard", "open_admin_session"]

# Root node types of EXPLAIN AST for the statements the endpoint runs.
READ_STATEMENTS = frozenset(
    {
        "SelectWithUnionQuery",
        "SelectIntersectExceptQuery",
        "ShowTables",
        "ShowColumns",
        "ShowCreateTableQuery",
        "DescribeQuery",
        "ExistsTableQuery",
        "Explain",
    }
)
# Scalar functions that reach outside the database (``file(path)`` reads a local file).
_OUTSIDE_FUNCTIONS = frozenset({"file"})


@dataclass(frozen=True)
class _Node:
    """One line of EXPLAIN AST: ``<depth spaces><kind> [<name>] [(alias a)] [(children n)]``."""

    depth: int
    kind: str
    name: str


def _nodes(lines: list[str]) -> Iterator[tuple[_Node, _Node | None]]:
    """Each node with its parent (by indentation), in tree order."""
    path: list[_Node] = []
    for line in lines:
        body = line.lstrip(" ")
        words = body.split()
        if not words:
            continue
        node = _Node(len(line) - len(body), words[0], words[1] if len(words) > 1 else "")
        del path[node.depth :]
        yield node, path[-1] if path else None
        path.append(node)


def _problem(lines: list[str], allowed_table_functions: frozenset[str]) -> str | None:
    """Why the tree may not run, or None."""
    root = next(_nodes(lines), None)
    if root is None or root[0].kind not in READ_STATEMENTS:
        kind = root[0].kind if root else "(nothing)"
        return (
            "the admin endpoint runs one read-only statement (SELECT, SHOW, DESCRIBE, EXISTS or EXPLAIN); "
            f"got {kind}"
        )
    for node, parent in _nodes(lines):
        if parent is None:
            continue
        if node.kind == "Literal" and parent.kind in READ_STATEMENTS:
            return "the admin endpoint does not write files (INTO OUTFILE)"
        if node.kind != "Function":
            continue
        if parent.kind == "TableExpression" and node.name.lower() not in allowed_table_functions:
            allowed = ", ".join(sorted(allowed_table_functions)) or "none"
            return (
                f"the admin endpoint does not run table function {node.name}() (allowed: {allowed}; "
                "see service::admin::allowed_table_functions)"
            )
        if node.name.lower() in _OUTSIDE_FUNCTIONS:
            return f"the admin endpoint does not run function {node.name}(): it reads local files"
    return None


class AdminQueryGuard:
    """Checks admin statements with the engine's parser, on the admin session it is given."""

    def __init__(self, session: Store, allowed_table_functions: tuple[str, ...] = ()) -> None:
        self.session = session
        self.allowed = frozenset(name.lower() for name in allowed_table_functions)

    def check(self, sql: str, params: Mapping[str, Any] | None = None) -> str:
        """The canonical text of ``sql`` if the endpoint may run it; else InputError saying why (the
        engine's own message for syntax errors and second statements)."""
        if not isinstance(sql, str):
            raise InputError("the admin query must be a string")
        try:
            formatted = self.session.query("SELECT formatQuerySingleLine({sql:String})", {"sql": sql})
        except QueryError as exc:  # the engine's parser said no: its message, without our wrapper query
            reason = str(exc).removeprefix(f"{self.session.description}: ").split(": In scope ")[0]
            raise InputError(f"ClickHouse refuses the statement: {reason}") from exc
        canonical = formatted.scalar()
        if not isinstance(canonical, str) or not canonical.strip():
            raise InputError("the admin query is empty")
        tree = self.session.query(f"EXPLAIN AST {canonical}", params)
        problem = _problem([str(row[0]) for row in tree.rows], self.allowed)
        if problem:
            raise InputError(problem)
        return canonical


def _session_settings(config: AdminConfig) -> dict[str, object]:
    return {
        "max_execution_time": config.max_execution_time_s,
        "max_result_rows": config.max_result_rows,
        "max_result_bytes": config.max_result_mib << 20,
        "result_overflow_mode": "throw",
        "max_memory_usage": config.max_memory_mib << 20,
    }


def open_admin_session(settings: StoreSettings, config: AdminConfig) -> Store:
    """A second connection to the collector's store, locked to read-only with the admin limits.

    chDB serves several sessions on one directory in one process; each has its own settings and its
    own lock, so the writer's session is untouched. ``readonly`` is set last (it forbids further
    changes) and read back: a session that is not read-only is not served.
    """
    session = open_store(settings)
    try:
        for name, value in {**_session_settings(config), "readonly": 1}.items():
            literal = f"'{value}'" if isinstance(value, str) else repr(value)
            session.command(f"SET {name} = {literal}")
        readonly = session.query("SELECT toString(getSetting('readonly'))").scalar()
        if readonly != "1":
            raise StoreUnavailable(f"{session.description}: the admin session is not read-only ({readonly})")
    except BaseException:
        session.close()
        raise
    return session
