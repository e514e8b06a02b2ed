"""The applied schema is the registry's rendering, rows of other writers get canonical columns where the
table has other writers, and the migrations upgrade a store that already holds spans."""

from __future__ import annotations

import json

import pytest

from tracelock.semconv.columns import (
    SPAN_COLUMNS,
    SUMMARY_COLUMNS,
    Writers,
    render_column_migration,
    render_writers_change,
)
from tracelock.store import Store, apply_migrations, load_migrations
from tracelock.store.schema import has_other_writers, set_writers, split_statements, writers_of


def _columns(store: Store, table: str) -> dict[str, tuple[str, str, str]]:
    rows = store.query(
        "SELECT name, type, default_kind, default_expression FROM system.columns "
        "WHERE database = currentDatabase() AND table = {t:String}",
        {"t": table},
    )
    return {name: (kind, default_kind, expression) for name, kind, default_kind, expression in rows}


def test_the_migrated_schema_is_what_the_registry_renders(store: Store) -> None:
    """A registry change without a migration fails here: the probe tables get today's rendering."""
    store.command("CREATE TABLE probe_traces AS otel_traces")
    store.command("CREATE TABLE probe_summaries AS trace_summaries")
    rendered = [*split_statements(render_column_migration()), render_writers_change(Writers.TRACELOCK)]
    for statement in rendered:
        if statement.startswith("ALTER TABLE"):
            probe = statement.replace("ALTER TABLE otel_traces", "ALTER TABLE probe_traces", 1)
            store.command(probe.replace("ALTER TABLE trace_summaries", "ALTER TABLE probe_summaries", 1))
    assert _columns(store, "otel_traces") == _columns(store, "probe_traces")
    assert _columns(store, "trace_summaries") == _columns(store, "probe_summaries")
    summary = _columns(store, "trace_summaries")
    assert {c.name for c in SUMMARY_COLUMNS} <= set(summary)
    assert {c.name for c in SPAN_COLUMNS} <= set(_columns(store, "otel_traces"))


def _insert_as_contrib_exporter(store: Store, attributes: dict[str, str], resource: dict[str, str]) -> None:
    """A row the way the OTel Collector's ClickHouse exporter writes it: its 22 columns, values as sent."""
    store.command(
        "INSERT INTO otel_traces (Timestamp, TraceId, SpanId, ParentSpanId, SpanName, SpanKind, "
        "ServiceName, ResourceAttributes, SpanAttributes, Duration, StatusCode) "
        "VALUES (now64(9), 'aa', '01', 'ff', 'chat', 'Client', 'svc', "
        "{r:Map(String, String)}, {s:Map(String, String)}, 1000, 'Unset')",
        {"s": attributes, "r": resource},
    )


def test_migration_0090_is_the_rendering_of_tracelock_only_columns() -> None:
    (migration,) = [m for m in load_migrations() if m.version == 90]
    (statement,) = migration.statements
    sql = "\n".join(line for line in statement.splitlines() if not line.startswith("--"))
    assert sql == render_writers_change(Writers.TRACELOCK)


def test_a_table_only_tracelock_writes_reads_canonical_keys_alone(store: Store) -> None:
    """The fallbacks cost every row on insert: a fresh store has none, so a foreign row gets no keys."""
    assert writers_of(store) is Writers.TRACELOCK and not has_other_writers(store)
    _insert_as_contrib_exporter(store, {"llm.token_count.prompt": "120", "langfuse.session.id": "s-1"}, {})
    assert store.query("SELECT InputTokens, SessionId FROM otel_traces").dicts() == [
        {"InputTokens": 0, "SessionId": ""}
    ]
    assert has_other_writers(store)


def test_rows_of_other_writers_fall_back_to_the_aliases(store: Store) -> None:
    set_writers(store, Writers.ANY)
    assert writers_of(store) is Writers.ANY
    _insert_as_contrib_exporter(
        store,
        {
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4o-2024-08-06",
            "llm.invocation_parameters": json.dumps({"model": "gpt-4o"}),
            "llm.token_count.prompt": "120",
            "langfuse.observation.usage_details": json.dumps({"output": 30}),
            "langfuse.observation.cost_details": json.dumps({"input": 0.25, "output": 0.5}),
            "langfuse.trace.metadata.customer_tier": '"enterprise"',
            "metadata": json.dumps({"intent": "refund"}),
            "langfuse.session.id": "s-1",
            "traceloop.association.properties.user_id": "u-1",
            "gen_ai.system": "Anthropic",
        },
        {"tracelock.retriever.version": "r-7"},
    )
    row = store.query(
        "SELECT RequestModel, ResponseModel, InputTokens, OutputTokens, CostUsd, CustomerTier, Intent, "
        "SessionId, UserId, ProviderName, RetrieverVersion, OperationKind, Origin FROM otel_traces"
    ).dicts()[0]
    assert row == {
        "RequestModel": "gpt-4o",
        "ResponseModel": "gpt-4o-2024-08-06",
        "InputTokens": 120,
        "OutputTokens": 30,
        "CostUsd": 0.75,
        "CustomerTier": "enterprise",
        "Intent": "refund",
        "SessionId": "s-1",
        "UserId": "u-1",
        "ProviderName": "anthropic",
        "RetrieverVersion": "r-7",
        "OperationKind": "llm",
        "Origin": "live",
    }
    summary = store.query("SELECT RequestModel, InputTokens, SessionId FROM trace_summaries_final").dicts()
    assert summary == [{"RequestModel": "gpt-4o", "InputTokens": 120, "SessionId": "s-1"}]


@pytest.mark.parametrize("writers", list(Writers))
def test_rows_stamped_by_tracelock_read_only_canonical_keys(store: Store, writers: Writers) -> None:
    """tracelock's collector already copied the aliases: its rows are not second-guessed from them."""
    set_writers(store, writers)
    _insert_as_contrib_exporter(
        store, {"tracelock.origin": "live", "llm.invocation_parameters": json.dumps({"model": "x"})}, {}
    )
    assert store.query("SELECT RequestModel FROM otel_traces").scalar() == ""


def test_upgrade_of_a_store_holding_spans(bare_store: Store) -> None:
    """Applied on a store at the schema before it (with rows): old rows stay, new rows fold the new way."""
    migrations = load_migrations()
    apply_migrations(bare_store, [m for m in migrations if m.version < 40])
    _insert_as_contrib_exporter(bare_store, {"gen_ai.request.model": "old-model"}, {})
    apply_migrations(bare_store, migrations)
    bare_store.command(
        "INSERT INTO otel_traces (Timestamp, TraceId, SpanId, SpanName, ServiceName, SpanAttributes) VALUES "
        "(now64(9), 'aa', '02', 'embed', 'svc', map('gen_ai.operation.name', 'embeddings', "
        "'gen_ai.request.model', 'text-embedding-3-small', 'gen_ai.usage.input_tokens', '9'))"
    )
    row = bare_store.query(
        "SELECT RequestModel, InputTokens, EmbeddingTokens, SpanCount FROM trace_summaries_final"
    ).dicts()
    assert row == [{"RequestModel": "old-model", "InputTokens": 0, "EmbeddingTokens": 9, "SpanCount": 2}]
    assert writers_of(bare_store) is Writers.ANY  # it held a span tracelock did not stamp: 0090 skipped


def test_upgrade_of_a_store_only_tracelock_wrote_drops_the_fallbacks(bare_store: Store) -> None:
    migrations = load_migrations()
    apply_migrations(bare_store, [m for m in migrations if m.version < 90])
    assert writers_of(bare_store) is Writers.ANY
    _insert_as_contrib_exporter(bare_store, {"tracelock.origin": "live", "gen_ai.request.model": "m"}, {})
    newer = [m.version for m in migrations if m.version >= 90]
    assert [m.version for m in apply_migrations(bare_store, migrations)] == newer
    assert writers_of(bare_store) is Writers.TRACELOCK
    assert bare_store.query("SELECT RequestModel FROM otel_traces").scalar() == "m"
