"""Round trips through the Store interface on every table, the contrib exporter's exact column list,
bound parameters, and the errors a user sees."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tracelock.errors import ConfigError, DataDirLocked, QueryError, StoreUnavailable
from tracelock.store import Store
from tracelock.store.chdb_store import ChdbStore
from tracelock.store.clickhouse_store import ClickHouseStore, parse_clickhouse_url

TABLES = ["otel_traces", "trace_summaries", "eval_records", "feedback", "seeds", "locks", "lock_results"]

# The column list the OpenTelemetry Collector contrib ClickHouse exporter inserts (traces).
CONTRIB_COLUMNS = [
    "Timestamp", "TraceId", "SpanId", "ParentSpanId", "TraceState", "SpanName", "SpanKind", "ServiceName",
    "ResourceAttributes", "ScopeName", "ScopeVersion", "SpanAttributes", "Duration", "StatusCode",
    "StatusMessage", "Events.Timestamp", "Events.Name", "Events.Attributes", "Links.TraceId", "Links.SpanId",
    "Links.TraceState", "Links.Attributes",
]  # fmt: skip

T0 = datetime(2026, 11, 2, 9, 30, 15, 123456, tzinfo=timezone.utc)


def sample_value(ctype: str, seed: int) -> Any:
    """A value of ClickHouse type ``ctype`` that survives a round trip exactly (seeded by column)."""
    if ctype.startswith(("LowCardinality(", "Nullable(")):
        return sample_value(ctype[ctype.index("(") + 1 : -1], seed)
    if ctype.startswith("SimpleAggregateFunction("):
        return sample_value(ctype.split(",", 1)[1].strip()[:-1], seed)
    if ctype.startswith("Array("):
        return [sample_value(ctype[6:-1], seed), sample_value(ctype[6:-1], seed + 1)]
    if ctype.startswith("Map("):
        value_type = ctype[4:-1].split(",", 1)[1].strip()
        return {
            f"k{seed}": sample_value(value_type, seed),
            f"k{seed + 1}": sample_value(value_type, seed + 1),
        }
    if ctype in ("String",) or ctype.startswith("FixedString"):
        return f"v{seed} 'quoted' \\ é"
    if ctype == "Bool":
        return seed % 2 == 0
    if re.fullmatch(r"U?Int\d+", ctype):
        return seed % 100 + 1
    if ctype.startswith("Float"):
        return seed + 0.5
    if ctype.startswith("DateTime64"):
        precision = min(int(re.search(r"\((\d+)", ctype).group(1)), 6)
        stamp = T0 + timedelta(seconds=seed)
        return stamp.replace(microsecond=stamp.microsecond // 10 ** (6 - precision) * 10 ** (6 - precision))
    if ctype.startswith("DateTime"):
        return (T0 + timedelta(seconds=seed)).replace(microsecond=0)
    if ctype == "Date":
        return (T0 + timedelta(days=seed)).date()
    if ctype.startswith("Enum"):
        return re.search(r"'([^']*)'", ctype).group(1)
    raise AssertionError(f"no sample value for type {ctype}")


def writable_columns(store: Store, table: str) -> dict[str, str]:
    rows = store.query(
        "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {t:String} "
        "AND default_kind NOT IN ('MATERIALIZED', 'ALIAS') ORDER BY position",
        {"t": table},
    )
    return dict(rows.rows)


def normalise(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\d", value):
        return datetime.strptime(value, "%Y-%m-%d").date()
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("table", TABLES)
def test_every_table_round_trips_through_columnar_insert(any_store: Store, table: str) -> None:
    columns = writable_columns(any_store, table)
    assert columns, f"{table} has no columns"
    rows = 3
    batch = {
        name: [sample_value(ctype, i * 7 + n) for n in range(rows)]
        for i, (name, ctype) in enumerate(columns.items())
    }
    assert any_store.insert(table, batch) == rows
    order = next(iter(columns))
    result = any_store.query(f"SELECT {', '.join(f'`{c}`' for c in columns)} FROM {table} ORDER BY `{order}`")
    assert len(result) == rows
    for name, values in zip(result.columns, zip(*result.rows, strict=True), strict=True):
        assert [normalise(v) for v in values] == batch[name], f"{table}.{name}"


def test_contrib_exporter_column_list_is_accepted(any_store: Store) -> None:
    trace_id = "5b8efff798038103d269b633813fc60c"
    span = {
        "Timestamp": [T0],
        "TraceId": [trace_id],
        "SpanId": ["eee19b7ec3c1b174"],
        "ParentSpanId": [""],
        "TraceState": [""],
        "SpanName": ["chat refund"],
        "SpanKind": ["Server"],
        "ServiceName": ["support-bot"],
        "ResourceAttributes": [{"service.name": "support-bot"}],
        "ScopeName": ["openai"],
        "ScopeVersion": ["1.0"],
        # a task label is a span key in the registry (Side.SPAN): its column reads the span only
        "SpanAttributes": [
            {
                "gen_ai.prompt.version": "refund-v4",
                "gen_ai.usage.input_tokens": "812",
                "tracelock.customer.tier": "enterprise",
            }
        ],
        "Duration": [1_500_000_000],
        "StatusCode": ["Error"],
        "StatusMessage": ["parse failed"],
        "Events.Timestamp": [[T0]],
        "Events.Name": [["exception"]],
        "Events.Attributes": [[{"exception.type": "JSONDecodeError"}]],
        "Links.TraceId": [[]],
        "Links.SpanId": [[]],
        "Links.TraceState": [[]],
        "Links.Attributes": [[]],
    }
    assert list(span) == CONTRIB_COLUMNS
    any_store.insert("otel_traces", span)
    row = any_store.query(
        "SELECT PromptVersion, CustomerTier, InputTokens, Origin FROM otel_traces WHERE TraceId = {t:String}",
        {"t": trace_id},
    ).dicts()
    assert row == [
        {"PromptVersion": "refund-v4", "CustomerTier": "enterprise", "InputTokens": 812, "Origin": "live"}
    ]
    summary = any_store.query(
        "SELECT SpanCount, PromptVersion, CustomerTier FROM trace_summaries_final WHERE TraceId = {t:String}",
        {"t": trace_id},
    ).dicts()
    assert summary == [{"SpanCount": 1, "PromptVersion": "refund-v4", "CustomerTier": "enterprise"}]


def test_values_are_bound_parameters_never_sql(any_store: Store) -> None:
    hostile = "x' OR 1=1; DROP TABLE feedback; --"
    any_store.insert("feedback", {"TraceId": [hostile], "FeedbackId": ["f1"], "Kind": ["complaint"]})
    rows = any_store.query("SELECT TraceId FROM feedback WHERE TraceId = {t:String}", {"t": hostile})
    assert rows.rows == [(hostile,)]
    assert (
        any_store.query("SELECT count() FROM feedback WHERE TraceId = {t:String}", {"t": "x"}).scalar() == 0
    )
    stamp = any_store.query("SELECT {ts:DateTime64(6)} AS ts", {"ts": T0}).scalar()
    assert stamp == T0
    assert any_store.query("SELECT {xs:Array(String)}", {"xs": ["a'b", "c"]}).scalar() == ["a'b", "c"]


def test_unknown_table_and_column_errors_name_them(any_store: Store) -> None:
    with pytest.raises(QueryError, match="no_such_table") as err:
        any_store.query("SELECT * FROM no_such_table")
    assert err.value.code == 60 and "\n" not in str(err.value)
    with pytest.raises(QueryError, match="NoSuchColumn"):
        any_store.query("SELECT NoSuchColumn FROM otel_traces")
    with pytest.raises(QueryError, match="Nope"):
        any_store.insert("feedback", {"Nope": [1]})


def test_identifiers_are_checked_before_reaching_sql(any_store: Store) -> None:
    with pytest.raises(ConfigError, match="invalid table"):
        any_store.insert("feedback; DROP TABLE x", {"TraceId": ["a"]})
    with pytest.raises(ConfigError, match="invalid column"):
        any_store.insert("feedback", {"TraceId`) VALUES": ["a"]})


def test_locked_data_directory_is_reported(tmp_path: Path) -> None:
    data_dir = tmp_path / "held"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys,time; from tracelock.store.chdb_store import ChdbStore; "
         f"s = ChdbStore({str(data_dir)!r}); print('ready', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(DataDirLocked, match="in use by another process"):
            ChdbStore(data_dir)
        cli = subprocess.run(
            [sys.executable, "-m", "tracelock", "query", "--data-dir", str(data_dir), "SELECT 1"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert cli.returncode == 1
        assert "in use by another process" in cli.stderr and cli.stderr.count("\n") == 1
    finally:
        holder.communicate("", timeout=30)
    # Released: the directory opens again once the holder exits.
    deadline = time.monotonic() + 10
    while True:
        try:
            ChdbStore(data_dir).close()
            break
        except DataDirLocked:
            assert time.monotonic() < deadline
            time.sleep(0.1)


def test_unreachable_server_is_one_clear_error() -> None:
    with pytest.raises(StoreUnavailable, match=r"127\.0\.0\.1:9") as err:
        ClickHouseStore("http://127.0.0.1:9/", "tracelock")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("url", "problem"),
    [("ftp://h", "unsupported scheme 'ftp'"), ("http://", "no host"), ("https://u:p@", "no host")],
)
def test_bad_clickhouse_url_names_the_field(url: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as err:
        parse_clickhouse_url(url)
    assert err.value.field == "clickhouse_url"


def test_a_trace_with_any_eval_span_is_summarised_as_eval(store: Store) -> None:
    spans = {
        "Timestamp": [T0, T0, T0],
        "TraceId": ["t-mixed", "t-mixed", "t-live"],
        "SpanId": ["01", "02", "03"],
        "SpanAttributes": [{}, {"tracelock.origin": "eval"}, {}],
    }
    store.insert("otel_traces", spans)
    rows = store.query("SELECT TraceId, Origin FROM trace_summaries_final ORDER BY TraceId").rows
    assert rows == [("t-live", "live"), ("t-mixed", "eval")]
