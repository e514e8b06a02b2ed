"""Rules files: the built-in file loads; every kind of bad input is refused at load with file, line,
rule and field named; conditions are compiled once and carry the gates the collector path skips on."""

from __future__ import annotations

import textwrap

import pytest

from tracelock.cli.main import main
from tracelock.errors import ConfigError, RulesError
from tracelock.sampler.expressions import compile_condition
from tracelock.sampler.rules import load_rules
from tracelock.sampler.variables import Level, Variables


def _load(body: str):
    return load_rules(textwrap.dedent(body), path="rules.yaml")


def _problems(body: str) -> list[str]:
    with pytest.raises(RulesError) as info:
        _load(body)
    return info.value.problems


def test_builtin_rules_cover_the_six_cases_and_compile_once() -> None:
    rules = load_rules()
    assert [(r.name, r.level.value) for r in rules.rules] == [
        ("complaint-linked-trace", "trace"),
        ("thumbs-down", "trace"),
        ("empty-retrieval", "span"),
        ("high-cost-low-satisfaction", "trace"),
        ("new-feature-after-rollout", "trace"),
        ("high-complaint-slice", "slice"),
    ]
    empty = rules.get("empty-retrieval")
    assert [g.attributes for g in empty.condition.gates] == [frozenset({"tracelock.retrieval.empty"})]
    # one compiled program, reused: evaluating twice with different values needs no recompilation
    program = empty.condition.program
    assert empty.condition.evaluate(empty.condition.activation({"tracelock.retrieval.empty": "true"}))
    assert not empty.condition.evaluate(empty.condition.activation({}))
    assert empty.condition.program is program
    assert all(len(r.version) == 12 for r in rules.rules)


def test_rule_version_changes_with_the_definition_not_the_description() -> None:
    base = """
        version: 1
        rules:
          - name: r
            description: {desc}
            condition: {cond}
    """
    a = _load(base.format(desc="one", cond="span.is_root")).get("r").version
    b = _load(base.format(desc="two", cond="span.is_root")).get("r").version
    c = _load(base.format(desc="one", cond="'!span.is_root'")).get("r").version
    assert a == b != c


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "version: 1\nrules:\n  - name: a\n    condition: [x\n",
            "rules.yaml:5: not valid YAML: expected ',' or ']', but got '<stream end>'",
        ),
        (
            "version: 1\nrules:\n  - name: a\n    condition: tracelock.retrieval.empty\n    levle: span\n",
            "rules.yaml:5: rule 'a': levle: Extra inputs are not permitted",
        ),
        (
            "version: 1\nrules:\n  - name: a\n    condition: span.is_root\n    scope: prod\n",
            "rules.yaml:5: rule 'a': scope: Input should be 'live', 'eval' or 'both'",
        ),
        (
            "version: 1\nrules:\n  - name: a\n    condition: span.is_root\n    sample: 1.5\n",
            "rules.yaml:5: rule 'a': sample: Input should be less than or equal to 1",
        ),
        (
            "version: 1\nrules:\n  - name: a\n    condition: tracelock.retreival.empty\n",
            "rules.yaml:4: rule 'a': condition: unknown attribute 'tracelock.retreival.empty' "
            "(did you mean 'tracelock.retrieval.empty'?)",
        ),
        (
            "version: 1\nrules:\n  - name: a\n    condition: tracelock.feature > 3\n",
            "rules.yaml:4: rule 'a': condition: type mismatch in the condition: No such overload: "
            "the operation is not defined for the given operand types",
        ),
        (
            "version: 1\nrules:\n  - name: a\n    condition: tracelock.cost.usd\n",
            "rules.yaml:4: rule 'a': condition: the condition must be a bool, got float 0.0",
        ),
        (
            "version: 1\nrules:\n  - name: a\n    level: trace\n    condition: tracelock.cost.usd > 1.0\n",
            "rules.yaml:5: rule 'a': condition: attribute 'tracelock.cost.usd' is per span: a trace rule "
            "reads the trace summary (gen_ai.output.type, gen_ai.prompt.version, gen_ai.request.model, "
            "tracelock.customer.tier, tracelock.experiment.bucket, tracelock.feature, "
            "tracelock.guardrail.version, tracelock.intent, tracelock.language, tracelock.origin, "
            "tracelock.retriever.version, tracelock.label.*), trace.* and feedback.*",
        ),
        (
            "version: 1\nrules:\n  - name: a\n    condition: trace.cost_usd > 1.0\n",
            "rules.yaml:4: rule 'a': condition: 'trace.cost_usd' is only available to trace rules",
        ),
        (
            "version: 1\nrules:\n  - name: a\n    condition: span.is_root\n"
            "  - name: a\n    condition: span.is_root\n",
            "rules.yaml:5: rule 'a': name: duplicate rule name (first defined on line 3)",
        ),
        (
            "version: 1\nrules:\n  - name: a\n    level: slice\n    condition: slice.traces > 1\n",
            "rules.yaml:3: rule 'a': (rule): a slice rule needs a 'slice' section (by, window, ...)",
        ),
        (
            "version: 2\nrules: []\n",
            "rules.yaml:1: version: Input should be 1",
        ),
        (
            "version: 1\nrules:\n  - name: a\n    condition: span.is_root\n    condition: span.is_root\n",
            "rules.yaml:5: rule 'a': condition: duplicate key (the later value would silently win)",
        ),
    ],
    ids=[
        "bad-yaml",
        "unknown-field",
        "bad-scope",
        "bad-sample",
        "unknown-attribute",
        "type-mismatch",
        "not-bool",
        "span-attribute-in-trace-rule",
        "trace-field-in-span-rule",
        "duplicate-rule",
        "slice-without-section",
        "bad-version",
        "duplicate-key",
    ],
)
def test_bad_input_is_refused_at_load_with_line_rule_and_field(body: str, expected: str) -> None:
    problems = _problems(body)
    assert problems == [expected]


def test_a_condition_that_does_not_compile_names_the_rule_line_and_parser_error() -> None:
    (problem,) = _problems("version: 1\nrules:\n  - name: a\n    condition: tracelock.retrieval.empty &&\n")
    assert problem.startswith("rules.yaml:4: rule 'a': condition: does not compile: ")
    assert "tracelock.retrieval.empty &&" in problem  # shown as written, not as rewritten


def test_every_problem_is_reported_together() -> None:
    problems = _problems(
        """
        version: 1
        rules:
          - name: a
            condition: span.nme == "x"
          - name: b
            condition: span.is_root
            max_per_hour: 0
        """
    )
    assert len(problems) == 2
    assert problems[0].startswith("rules.yaml:8: rule 'b': max_per_hour:")
    assert problems[1].startswith("rules.yaml:5: rule 'a': condition: unknown attribute 'span.nme'")


def test_macros_methods_and_label_prefix_compile() -> None:
    rules = _load(
        """
        version: 1
        rules:
          - name: a
            condition: >-
              [1, 2].exists(x, x > 1) && tracelock.label.team.startsWith("pay")
              && span.duration_ms > 100.0 && "refund" in [tracelock.intent]
        """
    )
    condition = rules.get("a").condition
    assert [v.name for v in condition.variables] == [
        "span.duration_ms",
        "tracelock.intent",
        "tracelock.label.team",
    ]
    values = {"tracelock.label.team": "payments", "span.duration_ms": 150.0, "tracelock.intent": "refund"}
    assert condition.evaluate(condition.activation(values))


def test_string_literals_are_not_rewritten() -> None:
    condition = compile_condition('tracelock.intent == "tracelock.intent"', Variables(), Level.span)
    assert condition.evaluate(condition.activation({"tracelock.intent": "tracelock.intent"}))
    assert not condition.evaluate(condition.activation({"tracelock.intent": "refund"}))


def test_gates_only_for_conjuncts_that_are_false_without_their_attributes() -> None:
    v = Variables()
    gated = compile_condition('tracelock.intent == "refund" && gen_ai.usage.input_tokens > 10', v, Level.span)
    assert {frozenset(g.attributes) for g in gated.gates} == {
        frozenset({"tracelock.intent"}),
        frozenset({"gen_ai.usage.input_tokens"}),
    }
    ungated = compile_condition('tracelock.intent != "refund"', v, Level.span)  # true on a bare span
    assert ungated.gates == ()
    derived = compile_condition("span.duration_ms > 1000.0", v, Level.span)
    assert derived.gates == ()


def test_unreadable_file_and_empty_file() -> None:
    with pytest.raises(RulesError, match="cannot read"):
        load_rules(path="/nonexistent/rules.yaml")
    with pytest.raises(RulesError, match=r"rules.yaml:1: the file is empty"):
        _load("")


def test_seeds_check_cli_exits_2_with_the_problem(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nrules:\n  - name: a\n    condition: tracelock.feature > 3\n")
    with pytest.raises(SystemExit) as info:
        main(["seeds", "check", str(bad)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"{bad}:4: rule 'a': condition: type mismatch" in " ".join(err.split())
    assert issubclass(RulesError, ConfigError)


def test_seeds_check_cli_accepts_the_builtin_file(capsys) -> None:
    from importlib import resources

    path = resources.files("tracelock").joinpath("deploy/rules/default.yaml")
    with pytest.raises(SystemExit) as info:
        main(["seeds", "check", str(path), "--format", "json"])
    assert info.value.code in (0, None)
    out = capsys.readouterr().out
    assert '"rule": "high-complaint-slice"' in out


def test_docs_list_every_derived_field_and_builtin_rule() -> None:
    from pathlib import Path

    from tracelock.sampler.variables import FEEDBACK_FIELDS, SLICE_FIELDS, SPAN_FIELDS, TRACE_FIELDS

    docs = (Path(__file__).parent.parent / "docs" / "seeds.md").read_text()
    for fields in (SPAN_FIELDS, TRACE_FIELDS, FEEDBACK_FIELDS, SLICE_FIELDS):
        for name, (cel_type, brief) in fields.items():
            assert f"| `{name}` | {cel_type.value} | {brief} |" in docs, name
    for rule in load_rules().rules:
        assert f"| `{rule.name}` | {rule.level.value} |" in docs, rule.name
