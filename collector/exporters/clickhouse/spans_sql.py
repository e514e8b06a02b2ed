"""The INSERT that turns raw OTLP request bytes into ``otel_traces`` rows inside ClickHouse.

Why here and not in Python: flattening 512 spans x 15 attributes through protobuf objects costs ~30 us
per span in CPython; ClickHouse's Protobuf reader does the same work in C++ while it parses. The
statement text lives in ``deploy/sql/writer/insert_spans.sql`` beside the rest of the SQL, with the
protobuf schema ClickHouse reads (``deploy/sql/writer/otlp_trace.proto``); this module fills the few
fixed expression placeholders and builds the bound parameters. Each request of a batch is one row of
the source (``store/protobuf_insert.py`` frames them), so ClickHouse converts a batch a few requests at a
time.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from tracelock.collector.component import AttributeRewrite
from tracelock.store.schema import sql_dir

__all__ = [
    "INPUT_STRUCTURE",
    "INSERTED_COLUMNS",
    "SCHEMA_MESSAGE",
    "SCHEMA_PATH",
    "insert_params",
    "render_select",
]

WRITER_SQL_DIR: Path = sql_dir() / "writer"
SCHEMA_PATH = WRITER_SQL_DIR / "otlp_trace.proto"
SCHEMA_MESSAGE = "ExportTraceServiceRequest"

_SCALAR_T = (
    "Tuple(string_value Nullable(String), bool_value Nullable(Bool), int_value Nullable(Int64), "
    "double_value Nullable(Float64), bytes_value Nullable(String))"
)
_ANY_T = (
    "Tuple(string_value Nullable(String), bool_value Nullable(Bool), int_value Nullable(Int64), "
    "double_value Nullable(Float64), bytes_value Nullable(String), "
    f"array_value Tuple(values Array({_SCALAR_T})), "
    f"kvlist_value Tuple(values Array(Tuple(key String, value {_SCALAR_T}))))"
)
_KV_T = f"Array(Tuple(key String, value {_ANY_T}))"
_SPAN_T = (
    "Tuple(trace_id String, span_id String, trace_state String, parent_span_id String, name String, "
    "kind Int32, start_time_unix_nano UInt64, end_time_unix_nano UInt64, "
    f"attributes {_KV_T}, "
    f"events Array(Tuple(time_unix_nano UInt64, name String, attributes {_KV_T})), "
    f"links Array(Tuple(trace_id String, span_id String, trace_state String, attributes {_KV_T})), "
    "status Tuple(message String, code Int32))"
)
#: The ClickHouse structure the Protobuf format reads an ExportTraceServiceRequest into (a row each).
INPUT_STRUCTURE = (
    "resource_spans Array(Tuple(resource Tuple(attributes "
    f"{_KV_T}), scope_spans Array(Tuple(scope Tuple(name String, version String), spans Array({_SPAN_T})))))"
)


def _scalar_text(v: str) -> str:
    """A scalar AnyValue as text, the way the contrib exporter prints it (NULL when unset)."""
    return (
        f"coalesce({v}.string_value, toString({v}.bool_value), toString({v}.int_value), "
        f"toString({v}.double_value), base64Encode({v}.bytes_value))"
    )


def _scalar_json(v: str) -> str:
    return (
        f"coalesce(if(isNull({v}.string_value), NULL, toJSONString(assumeNotNull({v}.string_value))), "
        f"toString({v}.bool_value), toString({v}.int_value), toString({v}.double_value), "
        f"if(isNull({v}.bytes_value), NULL, toJSONString(base64Encode(assumeNotNull({v}.bytes_value)))), "
        "'null')"
    )


def _value_text(v: str) -> str:
    """Any AnyValue as text: scalars as themselves, arrays and maps as JSON (one level deep)."""
    array_json = (
        f"if(empty({v}.array_value.values), NULL, concat('[', arrayStringConcat("
        f"arrayMap(x -> {_scalar_json('x')}, {v}.array_value.values), ','), ']'))"
    )
    map_json = (
        f"if(empty({v}.kvlist_value.values), NULL, concat('{{', arrayStringConcat("
        f"arrayMap(p -> concat(toJSONString(p.key), ':', {_scalar_json('p.value')}), "
        f"{v}.kvlist_value.values), ','), '}}'))"
    )
    return f"coalesce({_scalar_text(v)}, {array_json}, {map_json}, '')"


_MAX = "{max_value_chars:UInt32}"
_RANK = "transform({k}, {{aliases_from:Array(String)}}, {{aliases_rank:Array(UInt32)}}, toUInt32(0))"


def _over_limit(texts: str) -> str:
    """The (key, text) pairs whose value passes the limit: length() (bytes, O(1)) first, so only values
    long enough are scanned for characters."""
    return f"arrayFilter(x -> lengthUTF8(x.2) > {_MAX}, arrayFilter(x -> length(x.2) > {_MAX}, {texts}))"


def _cut(text: str) -> str:
    """``text`` cut to the limit. A value of at most that many bytes has at most that many characters,
    so only longer ones are scanned (the writer's lazy ``if``: most values are never read twice)."""
    return f"if(length({text}) > {_MAX}, leftUTF8({text}, {_MAX}), {text})"


def _texts(attributes: str) -> str:
    """(key, full text value) of every attribute, computed once (layer 2) for the pairs to share."""
    return f"arrayMap(kv -> (kv.key, {_value_text('kv.value')}), {attributes})"


def _pairs(texts: str, *, mark_truncated: bool) -> str:
    """(key, truncated text value, alias rank) for every attribute: each attribute as sent (rank 0), then
    ``tracelock.truncated`` naming the attributes whose values were cut, then a copy under its canonical
    key for every alias, sorted by the alias's precedence. Layer 4 keeps the first pair per key, so a
    canonical key the span carries itself beats every alias copy (the as-sent part needs no sort)."""
    sent = f"arrayMap(x -> (x.1, {_cut('x.2')}, toUInt32(0)), {texts})"
    rank = _RANK.format(k="x.1")
    copies = (
        "arraySort(p -> p.3, arrayMap(x -> (transform(x.1, {aliases_from:Array(String)}, "
        f"{{aliases_to:Array(String)}}, x.1), {_cut('x.2')}, {rank}), "
        f"arrayFilter(x -> {rank} > 0, {texts})))"  # transform: a hash lookup, where has() would scan
    )
    parts = [sent]
    if mark_truncated:
        names = f"arrayStringConcat(arrayMap(x -> x.1, {_over_limit(texts)}), ',')"
        named = f"arrayFilter(t -> t != '', [{names}])"
        marker = f"arrayMap(t -> ('tracelock.truncated', t, toUInt32(0)), {named})"
        long_value = f"arrayExists(x -> length(x.2) > {_MAX}, {texts})"
        parts.append(f"if({long_value}, {marker}, [])")
    parts.append(copies)
    return f"arrayConcat({', '.join(parts)})"


def _priced(span: str, resource: str) -> str:
    """``span`` (a Map) with ``tracelock.cost.usd`` = tokens x the price of its model (response model,
    else request model; exact name or longest listed prefix, as the SDK's PriceTable) when it has tokens,
    no cost, and a priced model; else ``span`` unchanged."""
    tokens_in, tokens_out = f"{span}['gen_ai.usage.input_tokens']", f"{span}['gen_ai.usage.output_tokens']"
    response, request = f"{span}['gen_ai.response.model']", f"{span}['gen_ai.request.model']"
    fallback = f"{resource}['gen_ai.request.model']"
    model = f"multiIf({response} != '', {response}, {request} != '', {request}, {fallback})"
    index = f"arrayFirstIndex(p -> startsWith({model}, p), {{price_models:Array(String)}})"
    cost = (
        f"toFloat64OrZero({tokens_in}) * {{price_in:Array(Float64)}}[{index}] + "
        f"toFloat64OrZero({tokens_out}) * {{price_out:Array(Float64)}}[{index}]"
    )
    wanted = (
        f"notEmpty({{price_models:Array(String)}}) AND NOT mapContains({span}, 'tracelock.cost.usd') "
        f"AND ({tokens_in} != '' OR {tokens_out} != '') AND {index} > 0"
    )
    return f"if({wanted}, mapUpdate({span}, map('tracelock.cost.usd', toString({cost}))), {span})"


#: The otel_traces columns the SELECT fills, in its order (the rest are MATERIALIZED).
INSERTED_COLUMNS = (
    "Timestamp", "TraceId", "SpanId", "ParentSpanId", "TraceState", "SpanName", "SpanKind", "ServiceName",
    "ResourceAttributes", "ScopeName", "ScopeVersion", "SpanAttributes", "Duration", "StatusCode",
    "StatusMessage", "Events.Timestamp", "Events.Name", "Events.Attributes",
    "Links.TraceId", "Links.SpanId", "Links.TraceState", "Links.Attributes",
)  # fmt: skip


@cache
def render_select(source: str) -> str:
    """The SELECT reading requests from ``source`` (a ``file(...)`` call, or a landing table) as
    ``otel_traces`` rows, each column named as the table names it."""
    template = (WRITER_SQL_DIR / "insert_spans.sql").read_text()
    parts = {
        "{source}": source,
        "{span_texts}": _texts("sp.attributes"),
        "{resource_texts}": _texts("rs.resource.attributes"),
        "{span_pairs}": _pairs("s_texts", mark_truncated=True),
        "{resource_pairs}": _pairs("r_texts", mark_truncated=False),
        "{priced_span_map}": _priced("s_base", "r_map"),
        "{value_kv}": _value_text("kv.value"),
    }
    body = "\n".join(line for line in template.splitlines() if not line.startswith("--"))
    for placeholder, text in parts.items():
        body = body.replace(placeholder, text)
    return body


def insert_params(rewrite: AttributeRewrite) -> dict[str, Any]:
    names = list(rewrite.aliases)
    return {
        "aliases_from": names,
        "aliases_to": [rewrite.aliases[n] for n in names],
        "aliases_rank": list(range(1, len(names) + 1)),
        "max_value_chars": int(rewrite.max_value_chars),
        "stamp_origin": bool(rewrite.stamp_origin),
        "price_models": [model for model, _, _ in rewrite.prices],
        "price_in": [per_input for _, per_input, _ in rewrite.prices],
        "price_out": [per_output for _, _, per_output in rewrite.prices],
    }
