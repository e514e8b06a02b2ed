"""Property tests: the rules loader answers any input with a RuleSet or a RulesError naming the problem.

Hypothesis builds arbitrary text, arbitrary YAML trees and near-valid rules files (one field mutated);
anything other than ``RulesError`` (a ``ConfigError``: exit 2 at the CLI, a 4xx at an endpoint) is a bug.
"""

from __future__ import annotations

import re

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracelock.errors import RulesError
from tracelock.sampler.rules import RuleSet, load_rules

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_PROBLEM = re.compile(r"^<rules>:\d+: ")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
)
trees = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)

VALID_RULE = {
    "name": "empty-retrieval",
    "level": "span",
    "scope": "live",
    "condition": "tracelock.retrieval.empty",
    "sample": 0.5,
    "max_per_hour": 200,
}


def _load(text: str) -> RuleSet | RulesError:
    try:
        return load_rules(text)
    except RulesError as exc:
        assert exc.problems, "a RulesError must list at least one problem"
        assert all(_PROBLEM.match(p) for p in exc.problems), exc.problems
        return exc


@FUZZ
@given(st.text(max_size=300))
def test_any_text_is_a_ruleset_or_a_rules_error(text: str) -> None:
    _load(text)


@pytest.mark.parametrize("text", ["{[a]: 1}", "? {a: 1}\n: x", "rules:\n  - {[name]: 1}"])
def test_complex_yaml_keys_are_a_rules_error(text: str) -> None:
    """Found by bench/fuzz_otlp.py (atheris): a list/mapping as a YAML key escaped as TypeError."""
    result = _load(text)
    assert isinstance(result, RulesError) and "a key must be a plain value" in str(result)


@FUZZ
@given(trees)
def test_any_yaml_tree_is_a_ruleset_or_a_rules_error(tree: object) -> None:
    _load(yaml.safe_dump({"version": 1, "rules": tree}, allow_unicode=True))
    _load(yaml.safe_dump(tree, allow_unicode=True))


@FUZZ
@given(st.sampled_from(sorted(VALID_RULE)), st.one_of(scalars, trees))
def test_one_mutated_field_is_named_in_the_error(field: str, value: object) -> None:
    rule = dict(VALID_RULE, **{field: value})
    result = _load(yaml.safe_dump({"version": 1, "rules": [rule]}, allow_unicode=True))
    if isinstance(result, RulesError):
        assert any(field in p or "rule" in p for p in result.problems), result.problems


@FUZZ
@given(st.text(min_size=1, max_size=60))
def test_hostile_rule_names_and_conditions_never_escape_the_loader(text: str) -> None:
    for rule in (dict(VALID_RULE, name=text), dict(VALID_RULE, condition=text)):
        _load(yaml.safe_dump({"version": 1, "rules": [rule]}, allow_unicode=True))


def test_duplicate_key_in_a_rule_then_rules_redefined_as_a_mapping() -> None:
    """Found by bench/fuzz_otlp.py --target rules (atheris, after ~300 000 inputs): raised KeyError."""
    result = _load("rules:\n  - name: a\n    name: b\nrules:\n  x: 1\n")
    assert isinstance(result, RulesError) and "duplicate" in str(result)


def test_an_absurd_slice_window_is_a_rules_error() -> None:
    """Found by bench/fuzz_otlp.py --target rules (atheris, after ~554 000 inputs): OverflowError."""
    text = (
        "version: 1\nrules:\n  - name: slice-x\n    level: slice\n    condition: slice.traces > 1\n"
        "    slice: {by: [tracelock.intent], window: 99999999999999999999d}\n"
    )
    result = _load(text)
    assert isinstance(result, RulesError) and "longer than 100 years" in str(result)
