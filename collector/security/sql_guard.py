"""What the admin/query endpoint may run: one read-only statement that touches no file, URL or program.

ClickHouse's ``readonly`` setting cannot be used here: the admin endpoint shares the collector's one
store connection with the writer. So the statement is lexed the way ClickHouse lexes it (string literals,
quoted identifiers, ``--``/``#`` and nested ``/* */`` comments) and refused when it
- is not exactly one statement starting with SELECT, WITH, SHOW, DESCRIBE/DESC, EXPLAIN or EXISTS;
- writes a file (``INTO OUTFILE``) or reads one (``FROM INFILE``);
- calls a table function that reaches outside the database (``file``, ``url``, ``s3``, ``remote``,
  ``executable``, ``mysql``, ...), which would read local files or turn the collector into a proxy.
Quoted identifiers are unquoted before the check (``"file"(...)`` is ``file(...)``); anything the lexer
cannot close (an unterminated literal or comment) is refused rather than guessed at.
"""

from __future__ import annotations

import re

from tracelock.errors import InputError

__all__ = ["EXTERNAL_TABLE_FUNCTIONS", "READ_STATEMENTS", "check_read_only_sql"]

READ_STATEMENTS = ("SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "EXISTS")
EXTERNAL_TABLE_FUNCTIONS = frozenset(
    name.lower()
    for name in [
        "file",
        "fileCluster",
        "url",
        "urlCluster",
        "s3",
        "s3Cluster",
        "gcs",
        "azureBlobStorage",
        "azureBlobStorageCluster",
        "hdfs",
        "hdfsCluster",
        "remote",
        "remoteSecure",
        "cluster",
        "clusterAllReplicas",
        "executable",
        "mysql",
        "postgresql",
        "sqlite",
        "mongodb",
        "redis",
        "jdbc",
        "odbc",
        "input",
        "iceberg",
        "icebergS3",
        "icebergAzure",
        "icebergHDFS",
        "icebergLocal",
        "deltaLake",
        "deltaLakeAzure",
        "hudi",
        "paimon",
        "hive",
        "ytsaurus",
        "fuzzJSON",
        "fuzzQuery",
    ]
)
_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(")
_WORDS = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _strip(sql: str) -> str:
    """``sql`` with literals emptied, comments turned into spaces and quoted identifiers unquoted."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch == "'":
            j = i + 1
            while True:
                if j >= n:
                    raise InputError("unterminated string literal in the admin query")
                if sql[j] == "\\":
                    j += 2
                    continue
                if sql[j] == "'":
                    if j + 1 < n and sql[j + 1] == "'":
                        j += 2
                        continue
                    break
                j += 1
            out.append("''")
            i = j + 1
        elif ch in '"`':
            j = i + 1
            chunk: list[str] = []
            while True:
                if j >= n:
                    raise InputError("unterminated quoted identifier in the admin query")
                if sql[j] == "\\" and j + 1 < n:
                    chunk.append(sql[j + 1])
                    j += 2
                    continue
                if sql[j] == ch:
                    if j + 1 < n and sql[j + 1] == ch:
                        chunk.append(ch)
                        j += 2
                        continue
                    break
                chunk.append(sql[j])
                j += 1
            out.append("".join(chunk))
            i = j + 1
        elif sql.startswith("--", i) or ch == "#":
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
            out.append(" ")
        elif sql.startswith("/*", i):
            depth, j = 1, i + 2
            while depth:
                if j >= n:
                    raise InputError("unterminated /* comment */ in the admin query")
                if sql.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif sql.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(" ")
            i = j
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def check_read_only_sql(sql: str) -> str:
    """Return ``sql`` (without a trailing ``;``) if the admin endpoint may run it, else raise InputError."""
    if not isinstance(sql, str) or not sql.strip():
        raise InputError("the admin query is empty")
    bare = _strip(sql).strip()
    if bare.endswith(";"):
        bare = bare[:-1].rstrip()
        sql = sql.rstrip().removesuffix(";")
    if ";" in bare:
        raise InputError("the admin endpoint runs one statement; found ';' between statements")
    first = _WORDS.search(bare.lstrip("( \t\r\n"))
    if first is None or first.group(0).upper() not in READ_STATEMENTS:
        got = first.group(0).upper() if first else "(nothing)"
        raise InputError(
            f"the admin endpoint runs read-only statements ({'/'.join(READ_STATEMENTS)}); got {got}"
        )
    words = {w.upper() for w in _WORDS.findall(bare)}
    if "OUTFILE" in words or "INFILE" in words:
        raise InputError("the admin endpoint does not read or write files (INTO OUTFILE / FROM INFILE)")
    for match in _CALL.finditer(bare):
        if match.group(1).lower() in EXTERNAL_TABLE_FUNCTIONS:
            raise InputError(
                f"the admin endpoint does not run table function {match.group(1)}(): it reaches files, "
                "URLs or programs outside the database"
            )
    return sql
