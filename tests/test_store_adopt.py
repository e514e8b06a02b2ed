"""Adopting a database the OpenTelemetry Collector contrib ClickHouse exporter created.

Issue 15 (checked failing on main a11d664): ``tracelock init`` on it failed ("Unknown identifier
Origin"), trace_summaries had no backfill, ``otel_traces_trace_id_ts`` got no TTL from
``--retention-days``. The exporter's own DDL (tests/fixtures, rendered from its released templates) and
its INSERT's columns make the database; the same spans through tracelock's collector must give the same
divergence report.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.adopt_support import make_contrib_database, story
from tests.collector_support import CollectorProcess, write_config

STORY_NS = (time.time_ns() // 60_000_000_000 - 60) * 60_000_000_000  # an hour ago, on a minute
REPORT = (
    "report", "divergence", "--baseline", "prompt.version=v1", "--candidate", "prompt.version=v2",
    "--by", "intent", "--min-traces", "0", "--min-eval-cases", "0", "--format", "json",
)  # fmt: skip


def tracelock(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracelock", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=180,
    )


def _ok(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def _rows(data_dir: Path, sql: str) -> list[dict[str, Any]]:
    return json.loads(_ok(tracelock(data_dir, "query", sql, "--format", "json")))


@pytest.fixture(scope="module")
def adopted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("contrib") / "data"
    make_contrib_database(data_dir, story(STORY_NS))
    return data_dir


def test_init_adopts_the_exporters_table_without_touching_its_columns(adopted: Path) -> None:
    before = _columns_after_contrib_setup(adopted.parent)
    out = tracelock(adopted, "init")
    assert out.returncode == 0, out.stderr[-3000:]
    after = {r["name"]: r for r in _rows(adopted, _COLUMNS_SQL)}
    for name, column in before.items():
        assert after[name] == column, name  # the exporter's columns, unchanged
    assert after["Origin"]["default_kind"] == "MATERIALIZED"
    assert _rows(adopted, "SELECT count() AS n FROM tracelock.otel_traces")[0]["n"] == 80


_COLUMNS_SQL = (
    "SELECT name, type, default_kind, default_expression, compression_codec FROM system.columns "
    "WHERE database = 'tracelock' AND table = 'otel_traces' ORDER BY position"
)


def _columns_after_contrib_setup(workdir: Path) -> dict[str, dict[str, Any]]:
    fresh = workdir / "contrib-only"
    if not fresh.exists():
        make_contrib_database(fresh, story(STORY_NS))
    code = (
        "import json, sys; from tracelock.store.chdb_store import ChdbStore; "
        "s = ChdbStore(sys.argv[1], 'default'); r = s.query(sys.argv[2]); "
        "print(json.dumps([dict(zip(r.columns, row)) for row in r.rows])); s.close()"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(fresh), _COLUMNS_SQL], capture_output=True, text=True
    )
    return {r["name"]: r for r in json.loads(_ok(out))}


def test_backfill_gives_the_same_divergence_report_as_tracelocks_collector(
    adopted: Path, tmp_path: Path
) -> None:
    _ok(tracelock(adopted, "init", "--backfill"))
    summaries = _rows(
        adopted, "SELECT count() AS n, sum(SpanCount) AS spans FROM tracelock.trace_summaries_final"
    )
    assert summaries == [{"n": 80, "spans": 80}]
    evals = _rows(adopted, "SELECT count() AS n FROM tracelock.eval_records FINAL")
    assert evals == [{"n": 20}]
    again = tracelock(adopted, "init", "--backfill")  # idempotent: nothing twice
    assert again.returncode == 0, again.stderr
    assert _rows(adopted, "SELECT sum(SpanCount) AS spans FROM tracelock.trace_summaries_final") == [
        {"spans": 80}
    ]
    assert json.loads(_ok(tracelock(adopted, *REPORT))) == _report_through_the_collector(tmp_path)


def _report_through_the_collector(workdir: Path) -> Any:
    import grpc
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

    collector = CollectorProcess(workdir, write_config(workdir / "collector.yaml"))
    collector.start()
    try:
        with grpc.insecure_channel(collector.grpc) as channel:
            TraceServiceStub(channel).Export(story(STORY_NS), timeout=30)
        code, _ = collector.terminate()
        assert code == 0
    finally:
        collector.close()
    return json.loads(_ok(tracelock(collector.data_dir, *REPORT)))


def test_retention_sets_a_ttl_on_the_trace_id_table_too(adopted: Path) -> None:
    _ok(tracelock(adopted, "init", "--retention-days", "30"))
    ddl = _rows(adopted, "SELECT create_table_query AS q FROM system.tables WHERE database = 'tracelock' "
                "AND name = 'otel_traces_trace_id_ts'")[0]["q"]  # fmt: skip
    assert "TTL" in ddl and "toIntervalDay(30)" in ddl


def test_hour_level_retention_is_accepted(adopted: Path) -> None:
    _ok(tracelock(adopted, "init", "--retention", "72h"))
    ddl = _rows(adopted, "SELECT create_table_query AS q FROM system.tables WHERE database = 'tracelock' "
                "AND name = 'otel_traces'")[0]["q"]  # fmt: skip
    assert "toIntervalHour(72)" in ddl
    bad = tracelock(adopted, "init", "--retention", "3 weeks")
    assert bad.returncode != 0 and "retention" in bad.stderr


# --- in process: resumable, --since -----------------------------------------------------------------------
DAY_NS = 86_400 * 10**9


def _contrib_store_with_days(store: Any, days: int) -> int:
    """The exporter's DDL and ``days`` days of the story in ``store``'s (empty) database."""
    from tests.adopt_support import FIXTURE, exporter_columns
    from tracelock.store.schema import split_statements

    for statement in split_statements(FIXTURE.read_text().replace("${DATABASE}", store.database)):
        store.command(statement)
    spans = 0
    for day in range(days):
        columns = exporter_columns(story(STORY_NS - (day + 1) * DAY_NS, first_id=1000 * day))
        store.insert("otel_traces", columns)
        spans += len(columns["TraceId"])
    return spans


def test_an_interrupted_backfill_resumes_without_folding_twice(bare_store: Any) -> None:
    from tracelock.store import apply_migrations
    from tracelock.store.backfill import backfill

    spans = _contrib_store_with_days(bare_store, 3)
    apply_migrations(bare_store)

    def stop_after_one(_view: Any, _window: Any, done: int, _total: int) -> None:
        if done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        backfill(bare_store, progress=stop_after_one)
    resumed = backfill(bare_store)
    assert resumed.windows_skipped >= 1 and resumed.windows_done >= 2
    total = bare_store.query("SELECT sum(SpanCount) FROM trace_summaries_final").rows[0][0]
    assert total == spans
    assert backfill(bare_store).windows_done == 0  # idempotent


def test_backfill_since_leaves_older_spans_out(bare_store: Any) -> None:
    from datetime import datetime, timezone

    from tracelock.store import apply_migrations
    from tracelock.store.backfill import backfill

    _contrib_store_with_days(bare_store, 3)
    apply_migrations(bare_store)
    since = datetime.fromtimestamp((STORY_NS - DAY_NS - 3600 * 10**9) / 1e9, timezone.utc)
    backfill(bare_store, since)
    traces = bare_store.query("SELECT count() FROM trace_summaries_final").rows[0][0]
    assert traces == 80  # the last day's story only
