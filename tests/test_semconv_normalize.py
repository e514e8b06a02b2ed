"""The registry's alias table: three conventions' attribute sets become one canonical mapping."""

from __future__ import annotations

import json

import pytest

from tracelock.semconv import (
    ALIAS_TO_CANONICAL,
    CANONICAL_NAMES,
    KEY_BY_NAME,
    SOURCE_NAMES,
    VERSION_KEYS,
    Conflict,
    ViolationKind,
    canonical_name,
    normalize_attributes,
    validate_attributes,
)

EXPECTED = {  # what every convention below says; each adds what only it says (see _expected)
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.provider.name": "openai",
    "gen_ai.prompt.version": "4",
    "gen_ai.usage.input_tokens": 812,
    "gen_ai.usage.output_tokens": 64,
    "tracelock.intent": "refund",
    "tracelock.customer.tier": "enterprise",
    "http.route": "/chat",
}

OPENINFERENCE = {
    "openinference.span.kind": "LLM",
    "llm.model_name": "gpt-4o-mini-2024-07-18",
    "llm.invocation_parameters": json.dumps({"model": "gpt-4o-mini", "temperature": 0}),
    "llm.system": "openai",
    "llm.prompt_template.version": "4",
    "llm.token_count.prompt": 812,
    "llm.token_count.completion": 64,
    "metadata": json.dumps({"intent": "refund", "customer_tier": "enterprise", "other": 1}),
    "output.mime_type": "application/json",
    "input.value": '[{"role": "user", "content": "refund please"}]',
    "http.route": "/chat",
}
OPENLLMETRY = {  # legacy-package style: gen_ai.system with a display name, prompt/completion tokens
    "traceloop.span.kind": "task",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.system": "OpenAI",
    "traceloop.prompt.version": 4,
    "gen_ai.usage.prompt_tokens": 812,
    "gen_ai.usage.completion_tokens": 64,
    "traceloop.association.properties.intent": "refund",
    "traceloop.association.properties.customer_tier": "enterprise",
    "gen_ai.openai.request.response_format": "json_object",
    "traceloop.entity.input": '[{"role": "user", "content": "refund please"}]',
    "http.route": "/chat",
}
LANGFUSE = {
    "langfuse.observation.type": "generation",
    "langfuse.observation.model.name": "gpt-4o-mini",
    "gen_ai.provider.name": "openai",
    "langfuse.observation.prompt.version": 4,
    "langfuse.observation.usage_details": json.dumps({"input": 812, "output": 64, "total": 876}),
    "langfuse.trace.metadata.intent": "refund",
    "langfuse.observation.metadata": json.dumps({"customer_tier": "enterprise"}),
    "gen_ai.output.type": "json",
    "langfuse.observation.input": '[{"role": "user", "content": "refund please"}]',
    "http.route": "/chat",
}


_ONLY_SAID_BY = {  # what one convention says that the others do not
    "oi": {
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "tracelock.label.other": "1",
        "output.mime_type": "application/json",  # the format of output.value, not a requested output type
    },
    "openllmetry": {"gen_ai.output.type": "json"},
    "langfuse": {"gen_ai.output.type": "json"},
}


def _without_markers(mapping: dict) -> dict:
    return {
        k: v
        for k, v in mapping.items()
        if k not in ("openinference.span.kind", "traceloop.span.kind", "langfuse.observation.type")
    }


@pytest.mark.parametrize(
    "source", [OPENINFERENCE, OPENLLMETRY, LANGFUSE], ids=["oi", "openllmetry", "langfuse"]
)
def test_each_convention_normalises_to_the_same_canonical_mapping(source: dict, request) -> None:
    normalised, conflicts = normalize_attributes(source, keep_aliases=False)
    assert conflicts == []
    content = {k: v for k, v in source.items() if k.endswith((".input", "input.value"))}  # never relabelled
    assert _without_markers(normalised) == EXPECTED | _ONLY_SAID_BY[request.node.callspec.id] | content


@pytest.mark.parametrize("source", [OPENINFERENCE, OPENLLMETRY, LANGFUSE])
def test_by_default_every_source_attribute_stays(source: dict) -> None:
    normalised, _ = normalize_attributes(source)
    assert normalised.items() >= source.items()


def test_conflicting_aliases_are_reported_not_silently_resolved() -> None:
    normalised, conflicts = normalize_attributes(
        {
            "gen_ai.request.model": "gpt-4o",
            "llm.request.model_name": "gpt-4o-mini",
            "langfuse.observation.model.name": "x",
        }
    )
    assert normalised["gen_ai.request.model"] == "gpt-4o"  # the canonical name wins
    assert len(conflicts) == 1
    conflict = conflicts[0]
    assert isinstance(conflict, Conflict)
    assert conflict.key == "gen_ai.request.model"
    assert conflict.candidates == (
        ("gen_ai.request.model", "gpt-4o"),
        ("llm.request.model_name", "gpt-4o-mini"),
        ("langfuse.observation.model.name", "x"),
    )
    assert "llm.request.model_name='gpt-4o-mini'" in str(conflict)


def test_alias_and_expander_disagreeing_is_a_conflict_and_alias_precedence_holds() -> None:
    normalised, conflicts = normalize_attributes(
        {"llm.token_count.prompt": 10, "langfuse.observation.usage_details": '{"input": 11}'},
        keep_aliases=False,
    )
    assert normalised == {"gen_ai.usage.input_tokens": 10}
    assert [c.key for c in conflicts] == ["gen_ai.usage.input_tokens"]


def test_equal_values_in_different_forms_are_not_conflicts() -> None:
    normalised, conflicts = normalize_attributes(
        {
            "gen_ai.usage.input_tokens": 12,
            "llm.token_count.prompt": "12",
            "gen_ai.system": "Anthropic",
            "gen_ai.provider.name": "anthropic",
        },
        keep_aliases=False,
    )
    assert conflicts == []
    assert normalised == {"gen_ai.usage.input_tokens": 12, "gen_ai.provider.name": "anthropic"}


def test_keep_aliases_and_passthrough() -> None:
    plain = {"http.method": "GET", "gen_ai.request.model": "m"}
    assert normalize_attributes(plain) == (plain, [])
    normalised, _ = normalize_attributes({"llm.request.model_name": "m"})
    assert normalised == {"llm.request.model_name": "m", "gen_ai.request.model": "m"}
    assert normalize_attributes({"llm.request.model_name": "m"}, keep_aliases=False)[0] == {
        "gen_ai.request.model": "m"
    }


def test_langfuse_experiment_spans_become_eval_spans() -> None:
    normalised, _ = normalize_attributes(
        {
            "langfuse.experiment.id": "exp-1",
            "langfuse.experiment.item.id": "case-7",
            "langfuse.experiment.dataset.id": "refunds",
        },
        keep_aliases=False,
    )
    assert normalised == {
        "tracelock.eval.run_id": "exp-1",
        "tracelock.eval.case_id": "case-7",
        "tracelock.dataset.id": "refunds",
        "tracelock.origin": "eval",
    }


def test_bad_json_in_expanders_is_ignored_not_raised() -> None:
    normalised, conflicts = normalize_attributes(
        {"metadata": "{not json", "langfuse.observation.usage_details": 3}
    )
    assert (
        normalised == {"metadata": "{not json", "langfuse.observation.usage_details": 3} and conflicts == []
    )


def test_validation_reports_unknown_tracelock_keys_wrong_types_and_values_outside_the_set() -> None:
    violations = validate_attributes(
        {
            "tracelock.origin": "staging",
            "tracelock.intnet": "refund",
            "gen_ai.usage.input_tokens": "12",
            "tracelock.language": "english!",
            "tracelock.label.team": "payments",
            "http.route": "/x",
            "tracelock.parse_failure": True,
        }
    )
    assert [(v.key, v.kind) for v in violations] == [
        ("tracelock.origin", ViolationKind.NOT_ALLOWED),
        ("tracelock.intnet", ViolationKind.UNKNOWN_KEY),
        ("gen_ai.usage.input_tokens", ViolationKind.WRONG_TYPE),
        ("tracelock.language", ViolationKind.NOT_ALLOWED),
    ]


def test_registry_holds_the_fixed_canonical_names() -> None:
    fixed = [
        "gen_ai.request.model",
        "gen_ai.response.model",
        "gen_ai.provider.name",
        "gen_ai.prompt.name",
        "gen_ai.prompt.version",
        "tracelock.prompt.hash",
        "tracelock.retriever.version",
        "tracelock.guardrail.version",
        "tracelock.dataset.id",
        "tracelock.dataset.version",
        "tracelock.judge.model",
        "tracelock.judge.version",
        "tracelock.experiment.bucket",
    ]
    assert list(VERSION_KEYS) == fixed
    for name in [
        "tracelock.intent",
        "tracelock.feature",
        "tracelock.language",
        "tracelock.customer.tier",
        "gen_ai.output.type",
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "tracelock.usage.context_tokens",
        "tracelock.cost.usd",
        "tracelock.parse_failure",
        "tracelock.retrieval.empty",
        "tracelock.retrieval.document_count",
        "tracelock.feedback.complaint",
        "tracelock.feedback.score",
        "error.type",
        "tracelock.eval.run_id",
        "tracelock.eval.case_id",
        "tracelock.eval.repeat",
        "tracelock.eval.score",
        "tracelock.eval.passed",
        "tracelock.origin",
        "gen_ai.input.messages",
        "gen_ai.output.messages",
    ]:
        assert name in CANONICAL_NAMES, name
    assert KEY_BY_NAME["tracelock.parse_failure"].type.value == "boolean"
    # an alias is never itself a canonical name, and every alias is in SOURCE_NAMES
    assert not CANONICAL_NAMES & set(ALIAS_TO_CANONICAL)
    assert set(ALIAS_TO_CANONICAL) <= SOURCE_NAMES
    assert canonical_name("customer_tier") == "tracelock.customer.tier"
    assert canonical_name("llm.token_count.prompt") == "gen_ai.usage.input_tokens"
    assert canonical_name("nope") is None


def test_label_key_maps_short_names_and_makes_user_labels() -> None:
    from tracelock.semconv import label_key

    assert label_key("intent") == "tracelock.intent"
    assert label_key("prompt_version") == "gen_ai.prompt.version"
    assert label_key("tracelock.customer.tier") == "tracelock.customer.tier"
    assert label_key("team") == "tracelock.label.team"
