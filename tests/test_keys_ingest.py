"""Keys from other clients' spans, through the collector's normalise step and writer into real chDB.

Each test is one defect of issue 15 (checked failing on main a11d664 before the fix): what other
instrumentation sends must come out under tracelock's keys without losing what was sent.
"""

from __future__ import annotations

import json
import logging

import pytest

from tests.keys_support import TestSpan, ingest, new_processor, span_attributes, span_columns, summary
from tracelock.collector.processors.normalize.config import NormalizeConfig

# --- Langfuse metadata -------------------------------------------------------------------------------


def test_langfuse_json_quoted_metadata_values_are_decoded(store) -> None:
    """Langfuse SDKs json.dumps metadata values: '"enterprise"' must slice as enterprise."""
    ingest(
        store,
        [
            TestSpan(
                {
                    "langfuse.observation.type": "generation",
                    "langfuse.trace.metadata.customer_tier": '"enterprise"',
                    "langfuse.observation.metadata.intent": '"refund"',
                    "langfuse.trace.metadata.region": '"eu-west"',
                    "langfuse.trace.metadata.retries": "3",
                }
            )
        ],
    )
    row = summary(store)
    assert row["CustomerTier"] == "enterprise"
    assert row["Intent"] == "refund"
    assert row["Labels"] == {"region": "eu-west", "retries": "3"}
    attrs = span_attributes(store)[0]
    assert attrs["langfuse.trace.metadata.customer_tier"] == '"enterprise"'  # the source stays as sent


def test_langfuse_plain_metadata_values_stay_plain(store) -> None:
    """Older SDK versions send str metadata unquoted: nothing to decode, and nothing is mangled."""
    ingest(
        store, [TestSpan({"langfuse.trace.metadata.customer_tier": "pro", "langfuse.trace.metadata.x": "[1"})]
    )
    row = summary(store)
    assert row["CustomerTier"] == "pro"
    assert row["Labels"] == {"x": "[1"}


# --- normalisation keeps the source attributes ---------------------------------------------------------

OPENINFERENCE_LLM = {
    "openinference.span.kind": "LLM",
    "llm.model_name": "gpt-4o-2024-08-06",
    "llm.invocation_parameters": json.dumps({"model": "gpt-4o", "temperature": 0}),
    "llm.token_count.prompt": 120,
    "llm.token_count.completion": 30,
    "input.value": json.dumps({"messages": [{"role": "user", "content": "hi"}], "model": "gpt-4o"}),
    "input.mime_type": "application/json",
    "output.value": json.dumps({"choices": [{"message": {"content": "hello"}}]}),
    "output.mime_type": "application/json",
    "metadata": json.dumps({"intent": "refund", "team": "billing", "attempt": 2}),
}


def test_source_attributes_are_kept(store) -> None:
    ingest(
        store,
        [
            TestSpan(OPENINFERENCE_LLM),
            TestSpan(
                {
                    "langfuse.observation.usage_details": json.dumps(
                        {"input": 10, "output": 5, "cache_read": 2}
                    ),
                    "langfuse.observation.cost_details": json.dumps({"input": 0.001, "output": 0.002}),
                }
            ),
            TestSpan({"traceloop.entity.input": '{"q": 1}', "traceloop.entity.output": '{"a": 2}'}),
        ],
    )
    oi, lf, tl = span_attributes(store)
    for name in ("input.value", "output.value", "llm.model_name", "metadata", "llm.token_count.prompt"):
        assert oi[name] == str(OPENINFERENCE_LLM[name]), name
    assert json.loads(lf["langfuse.observation.usage_details"])["cache_read"] == 2
    assert "langfuse.observation.cost_details" in lf
    assert float(lf["tracelock.cost.usd"]) == pytest.approx(0.003)
    assert lf["gen_ai.usage.input_tokens"] == "10"
    assert tl["traceloop.entity.input"] == '{"q": 1}' and tl["traceloop.entity.output"] == '{"a": 2}'
    assert oi["gen_ai.usage.input_tokens"] == "120"  # the canonical key is added next to the source


def test_openinference_metadata_keys_become_labels(store) -> None:
    ingest(store, [TestSpan(OPENINFERENCE_LLM)])
    row = summary(store)
    assert row["Intent"] == "refund"
    assert row["Labels"] == {"team": "billing", "attempt": "2"}


def test_foreign_labels_are_bounded_and_the_overflow_counted(store) -> None:
    metadata = {f"k{i:03d}": "v" * 10 for i in range(100)} | {"big": "x" * 5000}
    ingest(store, [TestSpan({"metadata": json.dumps(metadata)})])
    attrs = span_attributes(store)[0]
    labels = {k: v for k, v in attrs.items() if k.startswith("tracelock.label.")}
    assert 0 < len(labels) <= 32
    assert all(len(v) <= 256 for v in labels.values())
    assert int(attrs["tracelock.labels.dropped"]) == 101 - len(labels)


def test_traceloop_association_properties_become_keys_and_labels(store) -> None:
    ingest(
        store,
        [
            TestSpan(
                {
                    "traceloop.association.properties.session_id": "s-1",
                    "traceloop.association.properties.user_id": "u-1",
                    "traceloop.association.properties.tenant": "acme",
                }
            )
        ],
    )
    row = summary(store)
    assert (row["SessionId"], row["UserId"], row["Labels"]) == ("s-1", "u-1", {"tenant": "acme"})


# --- the model key and the trace fold ------------------------------------------------------------------


def test_openinference_model_name_is_the_response_model(store) -> None:
    ingest(store, [TestSpan(OPENINFERENCE_LLM)])
    row = span_columns(store, "RequestModel, ResponseModel")[0]
    assert row == {"RequestModel": "gpt-4o", "ResponseModel": "gpt-4o-2024-08-06"}


def test_rag_trace_reports_the_chat_model_and_keeps_embedding_tokens_apart(store) -> None:
    ingest(
        store,
        [
            TestSpan(
                {
                    "gen_ai.operation.name": "embeddings",
                    "gen_ai.request.model": "text-embedding-3-small",
                    "gen_ai.usage.input_tokens": 50,
                }
            ),
            TestSpan(
                {
                    "openinference.span.kind": "EMBEDDING",
                    "embedding.model_name": "text-embedding-3-small",
                    "llm.token_count.prompt": 7,
                }
            ),
            TestSpan({"openinference.span.kind": "RETRIEVER", "retrieval.documents.0.document.content": "d"}),
            TestSpan(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": "gpt-4o",
                    "gen_ai.provider.name": "openai",
                    "gen_ai.usage.input_tokens": 100,
                    "gen_ai.usage.output_tokens": 20,
                }
            ),
        ],
    )
    row = summary(store)
    assert row["RequestModel"] == "gpt-4o"
    assert row["ProviderName"] == "openai"
    assert (row["InputTokens"], row["OutputTokens"], row["EmbeddingTokens"]) == (100, 20, 57)


# --- mappings assert only what the source said ---------------------------------------------------------


def test_json_mime_type_and_raw_request_json_are_not_relabelled(store) -> None:
    ingest(store, [TestSpan(OPENINFERENCE_LLM)])
    attrs = span_attributes(store)[0]
    assert "gen_ai.output.type" not in attrs
    assert "gen_ai.input.messages" not in attrs and "gen_ai.output.messages" not in attrs
    assert span_columns(store, "OutputFormat")[0]["OutputFormat"] == ""


# --- session, user, prompt name ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "attributes",
    [
        {
            "session.id": "s-9",
            "user.id": "u-9",
            "gen_ai.prompt.name": "refund",
        },  # OTel, OpenInference, Langfuse v3
        {
            "langfuse.session.id": "s-9",
            "langfuse.user.id": "u-9",
            "langfuse.observation.prompt.name": "refund",
        },
        {"session.id": "s-9", "user.id": "u-9", "traceloop.prompt.key": "refund"},
    ],
)
def test_session_user_and_prompt_name_have_columns(store, attributes) -> None:
    ingest(store, [TestSpan(attributes)])
    row = summary(store)
    assert (row["SessionId"], row["UserId"], row["PromptName"]) == ("s-9", "u-9", "refund")


# --- signals for any client ------------------------------------------------------------------------------


def test_cost_is_computed_from_the_price_table(store, tmp_path) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"gpt-4o": {"input_per_million": 2.5, "output_per_million": 10.0}}))
    config = NormalizeConfig(prices=str(prices))  # type: ignore[call-arg]
    ingest(
        store,
        [
            TestSpan({"gen_ai.request.model": "gpt-4o-2024-08-06", "gen_ai.usage.input_tokens": 1000,
                      "gen_ai.usage.output_tokens": 100}),
            TestSpan({"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 1000,
                      "tracelock.cost.usd": 1.0}),
            TestSpan({"gen_ai.request.model": "claude-x", "gen_ai.usage.input_tokens": 1000}),
        ],
        config=config,
    )  # fmt: skip
    costs = [r["CostUsd"] for r in span_columns(store, "CostUsd")]
    assert costs == pytest.approx([0.0035, 1.0, 0.0])


def test_empty_retrieval_from_openinference_and_langfuse(store) -> None:
    ingest(
        store,
        [
            TestSpan({"openinference.span.kind": "RETRIEVER", "input.value": "q"}),
            TestSpan({"openinference.span.kind": "RETRIEVER", "retrieval.documents.0.document.id": "7"}),
            TestSpan({"langfuse.observation.type": "retriever", "langfuse.observation.output": "[]"}),
            TestSpan(
                {"langfuse.observation.type": "retriever", "langfuse.observation.output": '[{"id": 1}]'}
            ),
        ],
    )
    assert [r["EmptyRetrieval"] for r in span_columns(store, "EmptyRetrieval")] == [1, 0, 1, 0]
    assert summary(store)["EmptyRetrievals"] == 2


def test_parse_failure_from_exception_events_of_known_types(store) -> None:
    ingest(
        store,
        [
            TestSpan({}, events=[("exception", {"exception.type": "json.decoder.JSONDecodeError"})]),
            TestSpan(
                {}, events=[("exception", {"exception.type": "pydantic_core._pydantic_core.ValidationError"})]
            ),
            TestSpan({}, events=[("exception", {"exception.type": "TimeoutError"})]),
        ],
    )
    assert [r["ParseFailure"] for r in span_columns(store, "ParseFailure")] == [1, 1, 0]


# --- truncation -----------------------------------------------------------------------------------------


def test_truncated_values_are_marked_and_warned_once_per_key(store, caplog) -> None:
    processor = new_processor(NormalizeConfig(max_attribute_value_chars=64))
    long = "x" * 500
    with caplog.at_level(logging.WARNING):
        ingest(store, [TestSpan({"input.value": long, "ok": "short"})], processor=processor)
        ingest(store, [TestSpan({"input.value": long}, trace=2)], processor=processor)
    attrs = span_attributes(store)[0]
    assert len(attrs["input.value"]) == 64
    assert attrs["tracelock.truncated"] == "input.value"
    warnings = [r for r in caplog.records if "input.value" in r.getMessage() and r.levelno == logging.WARNING]
    assert len(warnings) == 1
