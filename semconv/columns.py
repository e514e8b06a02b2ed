"""The registry's storage facts rendered as DDL: the ``otel_traces`` MATERIALIZED columns and the
``trace_summaries`` fold.

Why generated: the columns must agree with the alias table, and a hand-typed copy drifted (issue 15).
Migrations stay plain SQL files (applied once, checksummed); a test applies them to chDB and compares
the resulting schema with what this module renders, so a registry change without a migration fails.

Two kinds of rows reach ``otel_traces``. tracelock's collector adds the canonical keys at ingest and
stamps ``tracelock.origin`` on every span, so for those rows a column reads the canonical key (span, then
resource). Rows of other writers (the contrib ClickHouse exporter) carry only what the instrumentation
sent: for them a column falls back to the aliases, converted, and to the JSON members the expanders read.

The fallbacks are rendered only for a table that has other writers (:class:`Writers`). ClickHouse
evaluates every branch of a MATERIALIZED expression on insert, for every row, so the ~200 expression nodes
of the fallback chains cost tracelock's own rows ~3.7 µs a span although they never take them
(``bench/registry_columns.py``): a table only tracelock's collector writes reads the canonical keys alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from tracelock.semconv.index import KEY_BY_NAME, READ_FALLBACKS
from tracelock.semconv.model import Category, Fold, Key, Side, ValueType
from tracelock.semconv.registry import KEYS
from tracelock.semconv.sql import value_sql

__all__ = [
    "PARSE_FAILURE_EXCEPTION_TYPES",
    "SPAN_COLUMNS",
    "SUMMARY_COLUMNS",
    "SpanColumn",
    "SummaryColumn",
    "Writers",
    "column_of",
    "columns_of",
    "render_column_migration",
    "render_summary_select",
    "render_writers_change",
    "span_columns",
]

_S, _R = "SpanAttributes", "ResourceAttributes"
_STAMPED = f"mapContains({_S}, 'tracelock.origin')"  # written (normalised) by tracelock's collector

#: ``exception`` event types that mean the model's output did not parse (Python json / pydantic /
#: LangChain parsers, JavaScript's JSON.parse).
PARSE_FAILURE_EXCEPTION_TYPES = (
    "json.decoder.JSONDecodeError",
    "JSONDecodeError",
    "pydantic_core._pydantic_core.ValidationError",
    "pydantic.ValidationError",
    "ValidationError",
    "langchain_core.exceptions.OutputParserException",
    "OutputParserException",
    "SyntaxError",
)


class Writers(Enum):
    """Who writes ``otel_traces``, which decides what its registry columns read."""

    TRACELOCK = "tracelock"  # only tracelock's collector: the canonical keys it added at ingest
    ANY = "any"  # other writers too (the contrib exporter): the aliases and JSON members as fallbacks


@dataclass(frozen=True, slots=True)
class SpanColumn:
    """One MATERIALIZED column of ``otel_traces``: ``key`` is its registry key ('' when derived)."""

    name: str
    key: str
    type: str
    expression: str
    comment: str


@dataclass(frozen=True, slots=True)
class SummaryColumn:
    """One column of ``trace_summaries``: ``fold`` is the expression of the materialized view over a
    block of spans, ``merge`` the aggregate that folds partial rows (its SimpleAggregateFunction)."""

    name: str
    type: str
    fold: str
    merge: str
    comment: str


def _q(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _at(attrs: str, name: str) -> str:
    return f"{attrs}[{_q(name)}]"


# ---- expanders as SQL: the JSON members other writers' rows are read from -----------------------------


def _first_member(names: tuple[str, ...]) -> Callable[[str], str]:
    def sql(v: str) -> str:
        branches = ", ".join(f"JSONHas({v}, {_q(n)}), JSONExtractRaw({v}, {_q(n)})" for n in names)
        return f"multiIf({branches}, '')"

    return sql


def _string_member(name: str) -> Callable[[str], str]:
    return lambda v: f"JSONExtractString({v}, {_q(name)})"


def _cost_total(v: str) -> str:
    parts = f"arraySum(arrayMap(p -> toFloat64OrZero(p.2), JSONExtractKeysAndValuesRaw({v})))"
    return f"if(JSONHas({v}, 'total'), JSONExtractRaw({v}, 'total'), if({parts} > 0, toString({parts}), ''))"


_METADATA = ("metadata", "langfuse.trace.metadata", "langfuse.observation.metadata")
#: canonical key -> ((expander attribute, SQL reading the key from its value), ...), in precedence order
_EXPANDER_SQL: dict[str, tuple[tuple[str, Callable[[str], str]], ...]] = {
    "gen_ai.request.model": (("llm.invocation_parameters", _string_member("model")),),
    "gen_ai.usage.input_tokens": (
        ("langfuse.observation.usage_details", _first_member(("input", "input_tokens", "prompt_tokens"))),
    ),
    "gen_ai.usage.output_tokens": (
        (
            "langfuse.observation.usage_details",
            _first_member(("output", "output_tokens", "completion_tokens")),
        ),
    ),
    "tracelock.cost.usd": (("langfuse.observation.cost_details", _cost_total),),
    **{
        key: tuple((attr, _string_member(member)) for attr in _METADATA)
        for key, member in (
            ("tracelock.intent", "intent"),
            ("tracelock.feature", "feature"),
            ("tracelock.language", "language"),
            ("tracelock.customer.tier", "customer_tier"),
            ("session.id", "session_id"),
            ("user.id", "user_id"),
        )
    },
}


def _candidates(key: Key, attrs: str) -> list[str]:
    """SQL expressions of the key's text from one attribute map, in precedence order."""
    out = [_at(attrs, key.name)]
    out += [value_sql(alias, _at(attrs, alias)) for alias in READ_FALLBACKS.get(key.name, ())]
    out += [sql(_at(attrs, attr)) for attr, sql in _EXPANDER_SQL.get(key.name, ())]
    return out


def _first_text(candidates: list[str]) -> str:
    if len(candidates) == 1:
        return candidates[0]
    branches = ", ".join(f"{c} != '', {c}" for c in candidates)
    return f"multiIf({branches}, '')"


def _text_expression(key: Key, writers: Writers) -> str:
    """The key's text: canonical (span, then resource) for tracelock's rows, every fallback for others."""
    maps = (_S,) if key.side is Side.SPAN else (_S, _R)
    canonical = _first_text([_at(m, key.name) for m in maps])
    fallbacks = [c for m in maps for c in _candidates(key, m)]
    if writers is Writers.TRACELOCK or len(fallbacks) == len(maps):
        return canonical
    return f"if({_STAMPED}, {canonical}, {_first_text(fallbacks)})"


_FLAG_TRUE = "IN ('true', '1')"
_DERIVED_FLAGS = {
    "tracelock.parse_failure": (
        "arrayExists((n, a) -> n = 'exception' AND a['exception.type'] IN ("
        + ", ".join(_q(t) for t in PARSE_FAILURE_EXCEPTION_TYPES)
        + "), `Events.Name`, `Events.Attributes`)"
    ),
    "tracelock.retrieval.empty": (
        f"({_at(_S, 'gen_ai.operation.name')} = 'retrieval' "
        f"AND mapContains({_S}, 'gen_ai.retrieval.documents') "
        f"AND replaceAll({_at(_S, 'gen_ai.retrieval.documents')}, ' ', '') IN ('', '[]')) OR "
        f"({_at(_S, 'openinference.span.kind')} = 'RETRIEVER' AND NOT arrayExists("
        f"k -> startsWith(k, 'retrieval.documents.'), mapKeys({_S}))) OR ("
        f"lower({_at(_S, 'langfuse.observation.type')}) = 'retriever' AND "
        f"replaceAll({_at(_S, 'langfuse.observation.output')}, ' ', '') IN ('[]', 'null'))"
    ),
}
_ORIGIN_SQL = (
    f"if({_at(_S, 'tracelock.origin')} != '', {_at(_S, 'tracelock.origin')}, "
    f"if({_at(_R, 'tracelock.origin')} != '', {_at(_R, 'tracelock.origin')}, 'live'))"
)


def _span_column(key: Key, writers: Writers) -> SpanColumn:
    assert key.column is not None
    comment = f"{key.name}: {key.brief}"
    if key.name == "tracelock.origin":
        return SpanColumn(key.column, key.name, "LowCardinality(String)", _ORIGIN_SQL, comment)
    if key.type is ValueType.BOOL:
        flag = f"{_text_expression(key, writers)} {_FLAG_TRUE}"
        derived = _DERIVED_FLAGS.get(key.name)
        return SpanColumn(key.column, key.name, "UInt8", f"{flag} OR {derived}" if derived else flag, comment)
    if key.type is ValueType.INT:
        return SpanColumn(
            key.column, key.name, "UInt64", f"toUInt64OrZero({_text_expression(key, writers)})", comment
        )
    if key.type is ValueType.FLOAT:
        return SpanColumn(
            key.column, key.name, "Float64", f"toFloat64OrZero({_text_expression(key, writers)})", comment
        )
    kind = "String" if key.category is Category.IDENTITY else "LowCardinality(String)"
    return SpanColumn(key.column, key.name, kind, _text_expression(key, writers), comment)


def _is(attr: str, values: tuple[str, ...]) -> str:
    return f"{_at(_S, attr)} IN ({', '.join(_q(v) for v in values)})"


#: (kind, the spans of that kind) for ``OperationKind``, first match wins; a span that says nothing of
#: its operation is '' (tracelock's own SDK spans need not name it).
_OPERATION_KINDS = (
    ("embedding", (("gen_ai.operation.name", ("embeddings",)), ("openinference.span.kind", ("EMBEDDING",)),
                   ("langfuse.observation.type", ("embedding",)), ("llm.request.type", ("embedding",)))),
    ("retrieval", (("gen_ai.operation.name", ("retrieval",)), ("openinference.span.kind", ("RETRIEVER",)),
                   ("langfuse.observation.type", ("retriever",)))),
    ("tool", (("gen_ai.operation.name", ("execute_tool",)), ("openinference.span.kind", ("TOOL",)),
              ("langfuse.observation.type", ("tool",)))),
    ("llm", (("gen_ai.operation.name", ("chat", "text_completion", "generate_content")),
             ("openinference.span.kind", ("LLM",)), ("langfuse.observation.type", ("generation",)),
             ("llm.request.type", ("chat", "completion")))),
)  # fmt: skip


def _operation_kind() -> SpanColumn:
    branches = [
        f"{' OR '.join(_is(attr, values) for attr, values in tests)}, {_q(kind)}"
        for kind, tests in _OPERATION_KINDS
    ]
    expression = f"multiIf({', '.join(branches)}, '')"
    comment = "llm, embedding, retrieval, tool or '': what the span does (trace summaries fold LLM spans)."
    return SpanColumn("OperationKind", "", "LowCardinality(String)", expression, comment)


def span_columns(writers: Writers) -> tuple[SpanColumn, ...]:
    """The registry columns of ``otel_traces`` for a table with these writers (same names and types)."""
    return (*(_span_column(k, writers) for k in KEYS if k.column is not None), _operation_kind())


#: the columns with every fallback, as migration 0040 defined them (names and types are the same in both)
SPAN_COLUMNS: tuple[SpanColumn, ...] = span_columns(Writers.ANY)
_COLUMN_BY_KEY = {c.key: c.name for c in SPAN_COLUMNS if c.key}


def column_of(key: str) -> str | None:
    """The ``otel_traces`` (and ``trace_summaries`` / ``eval_records``) column of a canonical key."""
    return _COLUMN_BY_KEY.get(key)


def columns_of(keys: tuple[str, ...]) -> dict[str, str]:
    """{canonical key: column} for keys that must have one (a module's column map, from the registry);
    raises at import when a key has no column, so a map cannot name one the schema lacks."""
    missing = [k for k in keys if k not in _COLUMN_BY_KEY]
    if missing:
        raise KeyError(f"no registry column for {', '.join(missing)}")
    return {k: _COLUMN_BY_KEY[k] for k in keys}


# ---- trace_summaries ------------------------------------------------------------------------------------

# An LLM-operation span is one not known to be something else: an embedding, retrieval or tool call
# must not give the trace its model or tokens, but a span that does not name its operation (tracelock's
# SDK puts the model on the Resource) still does. Columns are qualified: the folds' aliases reuse names.
_LLM = "s.OperationKind NOT IN ('embedding', 'retrieval', 'tool')"


def _summary_column(key: Key) -> SummaryColumn:
    assert key.column is not None and key.fold is not None
    name = key.summary_column or key.column
    c = f"s.{key.column}"
    text = "LowCardinality(String)" if key.category is not Category.IDENTITY else "String"
    folds: dict[Fold, tuple[str, str, str]] = {
        Fold.MIN: (f"min(toString({c}))", "min", text),
        Fold.MAX: (f"max(toString({c}))", "max", text),
        Fold.LLM_MAX: (f"maxIf(toString({c}), {_LLM})", "max", text),
        Fold.LLM_SUM: (f"sumIf({c}, {_LLM})", "sum", "UInt64"),
        Fold.SUM: (f"sum({c})", "sum", "Float64" if key.type is ValueType.FLOAT else "UInt64"),
        Fold.LARGEST: (f"max({c})", "max", "UInt64"),
        Fold.COUNT: (f"sum({c})", "sum", "UInt64"),
    }
    fold, merge, kind = folds[key.fold]
    return SummaryColumn(name, f"SimpleAggregateFunction({merge}, {kind})", fold, merge, key.name)


SUMMARY_COLUMNS: tuple[SummaryColumn, ...] = (
    *(_summary_column(k) for k in KEYS if k.fold is not None),
    SummaryColumn(
        "EmbeddingTokens",
        "SimpleAggregateFunction(sum, UInt64)",
        "sumIf(s.InputTokens, s.OperationKind = 'embedding')",
        "sum",
        "Input tokens of the embedding calls (kept out of InputTokens).",
    ),
)

#: the summary columns that are not a registry key's (identity, spans, errors, labels), as in 0002
_FIXED_FOLDS = (
    ("Start", "min(Timestamp)", "min"),
    ("End", "max(Timestamp + toIntervalNanosecond(Duration))", "max"),
    ("ServiceName", "max(toString(ServiceName))", "max"),
    ("RootSpanName", "max(if(ParentSpanId = '', toString(SpanName), ''))", "max"),
    (
        "Labels",
        "maxMap(mapApply((k, v) -> (substring(k, 17), v), "
        "mapFilter((k, v) -> startsWith(k, 'tracelock.label.'), "
        "mapUpdate(CAST(ResourceAttributes, 'Map(String, String)'), "
        "CAST(SpanAttributes, 'Map(String, String)')))))",
        "maxMap",
    ),
    ("SpanCount", "count()", "sum"),
    ("ErrorCount", "countIf(StatusCode = 'Error')", "sum"),
)


def render_summary_select(where: str = "TraceId != ''") -> str:
    """The SELECT of ``trace_summaries_mv`` over ``otel_traces`` (also usable to backfill: pass a
    ``where`` that bounds the rows)."""
    folds = [f"{fold} AS {name}" for name, fold, _ in _FIXED_FOLDS]
    folds += [f"{c.fold} AS {c.name}" for c in SUMMARY_COLUMNS]
    return (
        "SELECT\n    TraceId,\n    "
        + ",\n    ".join(folds)
        + f"\nFROM otel_traces AS s\nWHERE {where}\nGROUP BY TraceId"
    )


def render_final_select() -> str:
    """The SELECT of ``trace_summaries_final``: partial rows folded with each column's aggregate."""
    merges = [f"{merge}({name}) AS {name}" for name, _, merge in _FIXED_FOLDS]
    merges += [f"{c.merge}({c.name}) AS {c.name}" for c in SUMMARY_COLUMNS]
    return "SELECT\n    TraceId,\n    " + ",\n    ".join(merges) + "\nFROM trace_summaries\nGROUP BY TraceId"


def render_column_migration() -> str:
    """The statements that bring ``otel_traces`` and ``trace_summaries`` to the registry's columns.

    Idempotent on any table with the contrib exporter's 22 columns: every column is added if missing,
    then (re)defined; existing parts keep their stored values.
    """
    adds = ",\n".join(
        f"    ADD COLUMN IF NOT EXISTS `{c.name}` {c.type} MATERIALIZED {c.expression}" for c in SPAN_COLUMNS
    )
    mods = ",\n".join(
        f"    MODIFY COLUMN `{c.name}` {c.type} MATERIALIZED {c.expression} COMMENT {_q(c.comment)}"
        for c in SPAN_COLUMNS
    )
    summary_adds = ",\n".join(
        f"    ADD COLUMN IF NOT EXISTS `{c.name}` {c.type} COMMENT {_q(c.comment)}" for c in SUMMARY_COLUMNS
    )
    return (
        f"ALTER TABLE otel_traces\n{adds};\n\nALTER TABLE otel_traces\n{mods};\n\n"
        f"ALTER TABLE trace_summaries\n{summary_adds};\n\n"
        "DROP VIEW IF EXISTS trace_summaries_mv;\n\n"
        "CREATE MATERIALIZED VIEW IF NOT EXISTS trace_summaries_mv\nTO trace_summaries\n"
        f"AS {render_summary_select()};\n\n"
        "DROP VIEW IF EXISTS trace_summaries_final;\n\n"
        f"CREATE VIEW IF NOT EXISTS trace_summaries_final\nAS {render_final_select()};\n"
    )


def render_writers_change(writers: Writers) -> str:
    """The statement that redefines the registry columns for ``writers``: the columns whose expression
    differs between the two, each MODIFY a metadata change (rows already stored keep their values)."""
    other = Writers.ANY if writers is Writers.TRACELOCK else Writers.TRACELOCK
    mods = ",\n".join(
        f"    MODIFY COLUMN `{c.name}` {c.type} MATERIALIZED {c.expression} COMMENT {_q(c.comment)}"
        for c, o in zip(span_columns(writers), span_columns(other), strict=True)
        if c.expression != o.expression
    )
    return f"ALTER TABLE otel_traces\n{mods}"


for _key in KEY_BY_NAME.values():  # a fold needs a column to fold
    if _key.fold is not None and _key.column is None:
        raise AssertionError(f"{_key.name} has a fold but no column")
