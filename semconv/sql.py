"""The alias value conversions as ClickHouse expressions, for normalising inside the database.

The collector copies aliases while ClickHouse parses a batch (attribute values are text there), and
the ``otel_traces`` columns read them for rows of other writers. The text alone is right for most
aliases, but a few carry values in another form (``gen_ai.system = "Anthropic"``, Langfuse's JSON-quoted
metadata ``"\"enterprise\""``); :func:`value_sql` gives the expression that turns such a value into the
canonical form, the same as the Python converter in
:mod:`tracelock.semconv.aliases` (a test runs both on real chDB).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tracelock.semconv.aliases import (
    _PROVIDER_VALUES,
    json_text,
    provider_value,
    response_format_output_type,
)
from tracelock.semconv.index import ALIAS_CONVERTERS

__all__ = ["SQL_CONVERTED_ALIASES", "value_sql"]


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _provider_sql(v: str) -> str:
    keys = ", ".join(_quote(k) for k in _PROVIDER_VALUES)
    values = ", ".join(_quote(x) for x in _PROVIDER_VALUES.values())
    return f"transform(lower(trimBoth({v})), [{keys}], [{values}], {v})"


def _json_text_sql(v: str) -> str:
    return f"if(startsWith({v}, '\"') AND isValidJSON({v}), JSONExtractString({v}), {v})"


def _response_format_sql(v: str) -> str:
    k = f"if(startsWith(trimBoth({v}), '{{'), JSONExtractString({v}, 'type'), trimBoth({v}))"
    return f"multiIf({k} IN ('json_object', 'json_schema', 'json'), 'json', {k} = 'text', 'text', {v})"


# converters that change the *text* of a value; to_text/to_int/to_float are identities on text
_SQL: dict[Callable[..., Any], Callable[[str], str]] = {
    provider_value: _provider_sql,
    json_text: _json_text_sql,
    response_format_output_type: _response_format_sql,
}

SQL_CONVERTED_ALIASES: frozenset[str] = frozenset(
    name for name, convert in ALIAS_CONVERTERS.items() if convert in _SQL
)


def value_sql(alias: str, value_expr: str) -> str:
    """ClickHouse expression giving the canonical text of ``alias``'s value ``value_expr``
    (e.g. ``SpanAttributes['gen_ai.system']``); ``value_expr`` itself when a rename is enough."""
    convert = ALIAS_CONVERTERS.get(alias)
    to_sql = _SQL.get(convert) if convert is not None else None
    return to_sql(value_expr) if to_sql is not None else value_expr
