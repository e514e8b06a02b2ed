"""The ClickHouse forms of the alias value conversions agree with the Python converters, on real chDB."""

from __future__ import annotations

import pytest

from tracelock.semconv import ALIAS_CONVERTERS
from tracelock.semconv.sql import SQL_CONVERTED_ALIASES, value_sql

SAMPLES = {
    "gen_ai.system": ["Anthropic", "MistralAI", "az.ai.openai", "openai", "AWS", "some_new_vendor", ""],
    "llm.system": ["OpenAI", "Google"],
    "langfuse.trace.metadata.customer_tier": [
        '"enterprise"',
        "pro",
        '"a\\"b"',
        "3",
        "true",
        '{"x": 1}',
        '"',
        "",
    ],
    "gen_ai.openai.request.response_format": [
        "json_object",
        "json_schema",
        "text",
        "xml",
        '{"type": "json_schema", "json_schema": {}}',
    ],
}


def test_every_text_changing_converter_has_samples() -> None:
    assert set(SAMPLES) <= SQL_CONVERTED_ALIASES
    assert {ALIAS_CONVERTERS[a] for a in SAMPLES} == {ALIAS_CONVERTERS[a] for a in SQL_CONVERTED_ALIASES}


@pytest.mark.parametrize("alias", sorted(SAMPLES))
def test_sql_matches_python(bare_store, alias: str) -> None:
    expr = value_sql(alias, "{v:String}")
    for raw in SAMPLES[alias]:
        got = bare_store.query(f"SELECT {expr}", {"v": raw}).scalar()
        assert got == ALIAS_CONVERTERS[alias](raw), (alias, raw)


def test_plain_renames_pass_the_value_through() -> None:
    assert (
        value_sql("llm.model_name", "SpanAttributes['llm.model_name']") == "SpanAttributes['llm.model_name']"
    )
    assert value_sql("llm.token_count.prompt", "x") == "x"
