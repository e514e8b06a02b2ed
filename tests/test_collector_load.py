"""``tracelock.collector.load_request`` on real chDB: the in-process path the demo and other tests use,
doing what the collector does (validation, aliases, origin stamp, limits, ClickHouse-side flattening)."""

from __future__ import annotations

import os

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList

from tracelock.collector import AttributeRewrite, load_request
from tracelock.collector.exporters.clickhouse.writer import SpanWriter
from tracelock.errors import InputError
from tracelock.store import Store

TRACE = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")


def _attr(key: str, **value: object) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(**value))


def build(spans: list[dict], resource: dict | None = None) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    for key, value in {"service.name": "svc", **(resource or {})}.items():
        rs.resource.attributes.append(_attr(key, string_value=value))
    ss = rs.scope_spans.add()
    ss.scope.name, ss.scope.version = "scope", "1.0"
    for i, spec in enumerate(spans):
        span = ss.spans.add(
            trace_id=spec.get("trace_id", TRACE),
            span_id=spec.get("span_id", os.urandom(8)),
            name=spec.get("name", f"span{i}"),
            kind=spec.get("kind", 1),
            start_time_unix_nano=1_700_000_000_000_000_000 + i,
            end_time_unix_nano=1_700_000_000_000_000_000 + i + 10,
        )
        if "parent" in spec:
            span.parent_span_id = spec["parent"]
        span.attributes.extend(spec.get("attrs", []))
    return request


def test_values_of_every_type_become_text(store: Store) -> None:
    attrs = [
        _attr("s", string_value="text"),
        _attr("i", int_value=-42),
        _attr("d", double_value=0.25),
        _attr("b", bool_value=True),
        _attr("bytes", bytes_value=b"\x00\x01"),
        _attr("arr", array_value=ArrayValue(values=[AnyValue(string_value='a"b'), AnyValue(int_value=3)])),
        _attr("map", kvlist_value=KeyValueList(values=[_attr("x", bool_value=False)])),
    ]
    assert load_request(store, build([{"attrs": attrs}])) == 1
    row = store.query(
        "SELECT SpanAttributes, ScopeName, ScopeVersion, SpanKind, Duration FROM otel_traces"
    ).dicts()[0]
    assert row["SpanAttributes"] == {
        "s": "text",
        "i": "-42",
        "d": "0.25",
        "b": "true",
        "bytes": "AAE=",
        "arr": '["a\\"b",3]',
        "map": '{"x":false}',
        "tracelock.origin": "live",
    }
    assert (row["ScopeName"], row["ScopeVersion"], row["SpanKind"], row["Duration"]) == (
        "scope",
        "1.0",
        "Internal",
        10,
    )


def test_aliases_become_canonical_and_the_canonical_key_wins(store: Store) -> None:
    spans = [
        {
            "attrs": [
                _attr("llm.request.model_name", string_value="alias-model"),
                _attr("gen_ai.request.model", string_value="canonical-model"),
            ]
        },
        {
            "attrs": [
                _attr("llm.request.model_name", string_value="oi"),
                _attr("langfuse.observation.model.name", string_value="lf"),
            ]
        },
        {
            "attrs": [
                _attr("gen_ai.usage.prompt_tokens", int_value=10),
                _attr("tracelock.eval.run_id", string_value="r"),
            ]
        },
    ]
    load_request(store, build(spans, {"tracelock.retriever.version": "r-7"}).SerializeToString())
    rows = store.query(
        "SELECT RequestModel, InputTokens, Origin, RetrieverVersion, mapKeys(SpanAttributes) AS k "
        "FROM otel_traces ORDER BY SpanName"
    ).dicts()
    assert [r["RequestModel"] for r in rows] == ["canonical-model", "oi", ""]
    assert rows[2]["InputTokens"] == 10 and rows[2]["Origin"] == "eval"
    assert {r["RetrieverVersion"] for r in rows} == {"r-7"}
    # the canonical keys are added; the source attributes stay (issue 15)
    assert "llm.request.model_name" in rows[0]["k"] and "gen_ai.usage.prompt_tokens" in rows[2]["k"]


def test_summaries_stay_right_across_batches(store: Store) -> None:
    root = os.urandom(8)
    load_request(
        store,
        build(
            [
                {
                    "span_id": root,
                    "name": "root",
                    "attrs": [
                        _attr("gen_ai.prompt.version", string_value="v4"),
                        _attr("gen_ai.usage.input_tokens", int_value=5),
                    ],
                }
            ]
        ),
    )
    load_request(
        store,
        build(
            [
                {
                    "parent": root,
                    "name": "child",
                    "attrs": [
                        _attr("gen_ai.usage.input_tokens", int_value=7),
                        _attr("tracelock.intent", string_value="refund"),
                    ],
                }
            ]
        ),
    )
    row = store.query("SELECT * FROM trace_summaries_final").dicts()
    assert len(row) == 1
    assert (
        row[0]["SpanCount"],
        row[0]["InputTokens"],
        row[0]["PromptVersion"],
        row[0]["Intent"],
        row[0]["RootSpanName"],
    ) == (2, 12, "v4", "refund", "root")


def test_rewrite_limits_and_origin_from_resource(store: Store) -> None:
    spans = [{"attrs": [_attr("input.value", string_value="x" * 500)]}]
    rewrite = AttributeRewrite(aliases={"input.value": "gen_ai.input.messages"}, max_value_chars=100)
    load_request(store, build(spans, {"tracelock.origin": "eval"}), rewrite=rewrite)
    row = store.query("SELECT SpanAttributes AS a, Origin FROM otel_traces").dicts()[0]
    assert row["a"]["gen_ai.input.messages"] == "x" * 100
    assert row["a"]["tracelock.origin"] == "eval" and row["Origin"] == "eval"


def test_a_batch_written_again_with_its_token_is_stored_once(store: Store, tmp_path) -> None:
    body = build([{}, {}, {}]).SerializeToString()
    writer = SpanWriter(store)
    writer.write([body], AttributeRewrite(), token="batch-1")
    writer.write([body], AttributeRewrite(), token="batch-1")
    assert store.query("SELECT count() FROM otel_traces").scalar() == 3


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"trace_id": b"\x01" * 15}, "spans[1].trace_id: 15 bytes, expected 16"),
        ({"span_id": b""}, "spans[1].span_id: 0 bytes, expected 8"),
        ({"parent": b"\x01" * 3}, "spans[1].parent_span_id: 3 bytes, expected 0 or 8"),
    ],
)
def test_bad_ids_are_refused_before_anything_is_written(store: Store, spec: dict, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_request(store, build([{}, spec]))
    assert store.query("SELECT count() FROM otel_traces").scalar() == 0


def test_malformed_bytes_and_empty_requests(store: Store) -> None:
    with pytest.raises(InputError, match="malformed protobuf"):
        load_request(store, b"\xff\xff\xff")
    assert load_request(store, ExportTraceServiceRequest()) == 0


def test_langfuse_json_details_and_provider_values_are_expanded(store: Store) -> None:
    spans = [
        {
            "attrs": [
                _attr("langfuse.observation.usage_details", string_value='{"input": 31, "output": 9}'),
                _attr("langfuse.observation.cost_details", string_value='{"total": 0.0042}'),
                _attr("langfuse.trace.metadata", string_value='{"intent": "refund", "customer_tier": "pro"}'),
                _attr("gen_ai.system", string_value="mistralai"),
                _attr("notes", string_value="metadata mentioned in text stays on the fast path"),
            ]
        }
    ]
    load_request(store, build(spans))
    row = store.query(
        "SELECT InputTokens, OutputTokens, CostUsd, Intent, CustomerTier, "
        "SpanAttributes['gen_ai.provider.name'] AS provider FROM otel_traces"
    ).dicts()[0]
    assert row == {
        "InputTokens": 31,
        "OutputTokens": 9,
        "CostUsd": 0.0042,
        "Intent": "refund",
        "CustomerTier": "pro",
        "provider": "mistral_ai",
    }


def _large_batch(requests: int = 8, spans: int = 512) -> list[bytes]:
    """``requests`` requests of ``spans`` spans, ~1.5 MB each: over MergeTree's 10 MB
    min_bytes_for_wide_part once converted, and over the writer's 1 MiB parsing blocks one by one."""
    span = {"attrs": [_attr("input.value", string_value="v" * 3000)]}
    return [build([span] * spans).SerializeToString() for _ in range(requests)]


def _part_types(store: Store) -> list[tuple[str, int]]:
    return [
        (kind, rows)
        for kind, rows in store.query(
            "SELECT part_type, rows FROM system.parts WHERE database = currentDatabase() "
            "AND table = 'otel_traces' AND active ORDER BY modification_time, name"
        ).rows
    ]


def test_a_batch_is_written_as_one_compact_part(any_store: Store, tmp_path, monkeypatch) -> None:
    """A Wide part is a file pair per column and substream (215 files); the INSERT's parts are Compact
    (migration 0100), which costs a fifth less CPU per INSERT."""
    monkeypatch.chdir(tmp_path)  # in-process, the server store's schema cache lands in the cwd
    SpanWriter(any_store).write(_large_batch(), AttributeRewrite())
    assert _part_types(any_store) == [("Compact", 4096)]


def test_a_batch_parsed_in_several_blocks_is_one_part_and_stored_once(
    any_store: Store, tmp_path, monkeypatch
) -> None:
    """The writer parses a batch in blocks (here 1 MiB: less memory at once); the rows reach the table as
    one block, so the batch is one part, and written again under its token it is skipped as a whole."""
    monkeypatch.chdir(tmp_path)
    writer = SpanWriter(any_store, parse_block_bytes=1 << 20)
    batch = _large_batch(requests=12, spans=256)
    writer.write(batch, AttributeRewrite(), token="batch-7")
    writer.write(batch, AttributeRewrite(), token="batch-7")
    assert _part_types(any_store) == [("Compact", 3072)]
    assert any_store.query("SELECT count() FROM trace_summaries_final").scalar() == 1


def test_migration_0100_on_an_older_schema_keeps_its_parts_and_compacts_new_ones(bare_store: Store) -> None:
    from tracelock.store import apply_migrations, load_migrations

    shipped = load_migrations()
    apply_migrations(bare_store, [m for m in shipped if m.version < 100])
    writer = SpanWriter(bare_store)
    writer.write(_large_batch(), AttributeRewrite())
    assert _part_types(bare_store) == [("Wide", 4096)]
    assert [m.version for m in apply_migrations(bare_store, shipped)] == [
        m.version for m in shipped if m.version >= 100
    ]
    writer.write(_large_batch(), AttributeRewrite())
    assert _part_types(bare_store) == [("Wide", 4096), ("Compact", 4096)]
    assert bare_store.query("SELECT count() FROM otel_traces").scalar() == 8192


def test_migration_0110_on_an_older_schema_merges_in_small_blocks_and_keeps_every_row(
    bare_store: Store,
) -> None:
    from tracelock.store import apply_migrations, load_migrations

    def table_settings() -> str:
        return str(
            bare_store.query(
                "SELECT create_table_query FROM system.tables WHERE name = 'otel_traces'"
            ).scalar()
        )

    shipped = load_migrations()
    apply_migrations(bare_store, [m for m in shipped if m.version < 110])
    writer = SpanWriter(bare_store)
    writer.write(_large_batch(), AttributeRewrite())
    assert "merge_max_block_size" not in table_settings()
    assert [m.version for m in apply_migrations(bare_store, shipped)] == [
        m.version for m in shipped if m.version >= 110
    ]
    assert "merge_max_block_size = 1024" in table_settings()
    writer.write(_large_batch(), AttributeRewrite())
    bare_store.command("OPTIMIZE TABLE otel_traces FINAL")
    assert [rows for _, rows in _part_types(bare_store)] == [8192]  # two parts merged, 1 024 rows at a time
    assert bare_store.query("SELECT count() FROM otel_traces").scalar() == 8192
