"""The registry is the schema: one short-name vocabulary, and every hand-kept map checked against it."""

from __future__ import annotations

import pytest

from tracelock.errors import ConfigError
from tracelock.evals.records import record_from_result
from tracelock.report.dimensions import DIMENSIONS, resolve_dimension
from tracelock.semconv import KEY_BY_NAME, KEY_BY_SHORT
from tracelock.semconv.columns import SPAN_COLUMNS, column_of


@pytest.mark.parametrize("short", ["retriever_version", "prompt_version", "customer_tier", "model", "intent"])
def test_the_sdk_short_names_work_in_report_and_eval_import(short: str) -> None:
    """``instrument(retriever_version=...)`` takes the registry short name; so must --by and eval import."""
    key = KEY_BY_SHORT[short]
    assert resolve_dimension(short).name == key.name
    kind = "labels" if key.category.value == "task_label" else "keys"
    row = record_from_result(
        {"run_id": "r", "case_id": "c", "passed": True, kind: {short: "x"}}, source="test"
    )
    assert row[column_of(key.name)] == "x"


def test_unknown_short_names_are_still_rejected() -> None:
    with pytest.raises(ConfigError, match="unknown key"):
        resolve_dimension("retreiver_version")


def test_report_dimensions_are_the_registry_columns() -> None:
    for name, dimension in DIMENSIONS.items():
        assert dimension.column == column_of(name), name
        assert dimension.short == KEY_BY_NAME[name].short


def test_every_column_is_a_registry_key_or_derived() -> None:
    derived = {c.name for c in SPAN_COLUMNS if not c.key}
    assert derived == {"OperationKind"}
    for column in SPAN_COLUMNS:
        if column.key:
            assert KEY_BY_NAME[column.key].column == column.name


def test_the_column_maps_of_other_modules_are_the_registry_columns() -> None:
    """lock, sampler and eval-import maps are built with columns_of(): they name registry columns."""
    from tracelock.lock.records import _KEY_COLUMNS, _LABEL_COLUMNS
    from tracelock.sampler.seeds import KEY_COLUMNS
    from tracelock.sampler.variables import SUMMARY_COLUMNS

    for mapping in (_KEY_COLUMNS, _LABEL_COLUMNS, SUMMARY_COLUMNS, {v: k for k, v in KEY_COLUMNS.items()}):
        for key, column in mapping.items():
            assert column_of(key) == column, key


def test_response_model_is_accepted_by_eval_import_under_its_short_name() -> None:
    row = record_from_result(
        {"run_id": "r", "case_id": "c", "passed": True, "keys": {"response_model": "m", "model": "x"}},
        source="test",
    )
    assert row["RequestModel"] == "x"
