"""The CLI as a user runs it: a real subprocess per command, a fresh data directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tracelock.cli.main import hoist_global_options


def tracelock(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracelock", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


def test_init_then_query_prints_zero(tmp_path: Path) -> None:
    data = str(tmp_path / "d")
    first = tracelock("init", "--data-dir", data)
    assert first.returncode == 0, first.stderr
    assert "0001_otel_traces.sql" in first.stdout
    second = tracelock("init", "--data-dir", data)
    assert second.returncode == 0 and "none (schema already current)" in second.stdout
    count = tracelock("query", "--data-dir", data, "SELECT count() FROM tracelock.otel_traces")
    assert (count.returncode, count.stdout) == (0, "0\n")


def test_query_formats_and_environment_data_dir(tmp_path: Path) -> None:
    env = {"TRACELOCK_DATA_DIR": str(tmp_path / "d")}
    sql = "SELECT number AS n, toString(number * 2) AS s FROM numbers(2)"
    as_json = tracelock("query", sql, "--format", "json", env=env)
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == [{"n": 0, "s": "0"}, {"n": 1, "s": "2"}]
    as_csv = tracelock("query", sql, "--format", "csv", env=env)
    assert as_csv.stdout.splitlines() == ["n,s", "0,0", "1,2"]
    table = tracelock("query", sql, env=env)
    assert table.returncode == 0 and "┃ n" in table.stdout
    assert (tmp_path / "d").is_dir(), "TRACELOCK_DATA_DIR was not used"


def test_query_errors_are_one_line_and_exit_one(tmp_path: Path) -> None:
    data = str(tmp_path / "d")
    unknown = tracelock("--data-dir", data, "query", "SELECT * FROM no_such_table")
    assert unknown.returncode == 1
    assert unknown.stderr.count("\n") == 1 and "no_such_table" in unknown.stderr
    syntax = tracelock("--data-dir", data, "query", "SELEC 1")
    assert syntax.returncode == 1 and "Syntax error" in syntax.stderr


def test_bad_configuration_exits_two_naming_the_field(tmp_path: Path) -> None:
    bad_db = tracelock("query", "SELECT 1", "--data-dir", str(tmp_path), "--database", "x;drop")
    assert bad_db.returncode == 2 and "database" in bad_db.stderr
    bad_url = tracelock("query", "SELECT 1", "--clickhouse-url", "ftp://h")
    assert bad_url.returncode == 2 and "clickhouse_url: unsupported scheme 'ftp'" in bad_url.stderr


def test_help_lists_the_commands() -> None:
    shown = tracelock("--help")
    assert shown.returncode == 0
    for command in ("init", "query"):
        assert f" {command} " in shown.stdout


def test_global_options_are_accepted_after_the_subcommand() -> None:
    argv = ["query", "SELECT 1", "--data-dir", "D", "--format=json", "--database=x"]
    assert hoist_global_options(argv) == [
        "--data-dir",
        "D",
        "--database=x",
        "query",
        "SELECT 1",
        "--format=json",
    ]
    assert hoist_global_options(["--data-dir", "D", "init"]) == ["--data-dir", "D", "init"]


def test_retention_sets_and_removes_the_ttl(tmp_path: Path) -> None:
    data = str(tmp_path / "d")
    sql = (
        "SELECT name, engine_full LIKE '%TTL toDateTime(%) + toIntervalDay(30)%' AS ttl FROM system.tables "
        "WHERE database = 'tracelock' AND name IN ('otel_traces', 'trace_summaries') ORDER BY name"
    )
    assert tracelock("init", "--data-dir", data, "--retention-days", "30").returncode == 0
    assert json.loads(tracelock("query", "--data-dir", data, sql, "--format", "json").stdout) == [
        {"name": "otel_traces", "ttl": 1},
        {"name": "trace_summaries", "ttl": 1},
    ]
    assert tracelock("init", "--data-dir", data, "--retention-days", "0").returncode == 0
    plain = tracelock("query", "--data-dir", data, sql, "--format", "csv").stdout.splitlines()[1:]
    assert plain == ["otel_traces,0", "trace_summaries,0"]


def test_cluster_ddl_is_printed_and_refused_on_chdb(tmp_path: Path) -> None:
    printed = tracelock("init", "--cluster", "prod", "--print-ddl", "--retention-days", "7")
    assert printed.returncode == 0
    assert "CREATE TABLE IF NOT EXISTS otel_traces_local ON CLUSTER 'prod'" in printed.stdout
    assert "ALTER TABLE otel_traces_local ON CLUSTER 'prod' MODIFY TTL" in printed.stdout
    refused = tracelock("init", "--data-dir", str(tmp_path / "d"), "--cluster", "prod")
    assert refused.returncode == 2 and "cluster: needs a ClickHouse server" in refused.stderr


def test_commands_that_report_what_they_did_speak_json(tmp_path: Path) -> None:
    data = str(tmp_path / "d")
    added = tracelock("feedback", "add", "--data-dir", data, "--trace-id", "ab" * 16, "--format", "json")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["unknown_trace_ids"] == ["ab" * 16]
    results = tmp_path / "r.jsonl"
    results.write_text('{"run_id": "r1", "case_id": "c1", "score": 1.0}\n{"run_id": "r1", "case_id": "c2"}\n')
    imported = tracelock("eval", "import", str(results), "--data-dir", data, "--format", "json")
    assert imported.returncode == 0, imported.stderr
    facts = json.loads(imported.stdout)
    assert (facts["rows"], facts["cases"], facts["runs"], facts["format"]) == (2, 2, ["r1"], "jsonl")


def test_init_switches_what_the_shared_key_columns_read(tmp_path: Path) -> None:
    """A fresh store reads canonical keys only; --other-writers adds the alias fallbacks, and says so."""
    data = str(tmp_path / "d")
    first = tracelock("init", "--data-dir", data)
    assert "canonical keys only" in first.stdout, first.stdout
    shared = tracelock("init", "--data-dir", data, "--other-writers")
    assert shared.returncode == 0 and "else the alias names" in shared.stdout, shared.stderr
    sql = (
        "SELECT default_expression LIKE '%llm.token_count.prompt%' FROM system.columns "
        "WHERE database = 'tracelock' AND table = 'otel_traces' AND name = 'InputTokens'"
    )
    assert tracelock("query", "--data-dir", data, sql).stdout == "1\n"
    back = tracelock("init", "--data-dir", data, "--tracelock-only")
    assert "canonical keys only" in back.stdout
    assert tracelock("query", "--data-dir", data, sql).stdout == "0\n"
