"""The gate decides: assertions, repeats and thresholds, flaky, missing, pass rate, baselines, matching."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tracelock.errors import ConfigError, ResultsError
from tracelock.lock.expect_spec import parse_expect
from tracelock.lock.gate import Baseline, BaselineEntry, run_gate
from tracelock.lock.model import Assertion, LockCase, LockFile, Provenance
from tracelock.lock.records import baseline_from_report
from tracelock.lock.render import report_markdown
from tracelock.lock.results import Attempt, parse_results

TRACE = "0123456789abcdef0123456789abcdef"


def case(
    case_id: str, *expect: Assertion, dataset: str = "refund", added_in: int = 1, **kw: object
) -> LockCase:
    return LockCase(
        id=case_id,
        dataset=dataset,
        added_in=added_in,
        input="q",
        expect=expect or (Assertion("passed"),),
        provenance=Provenance(source_trace_id=TRACE),
        **kw,
    )


def lock_file(*cases: LockCase, dataset: str = "refund", version: int = 1) -> LockFile:
    return LockFile(Path(f"locks/{dataset}.yaml"), dataset, version, cases)


def attempt(case_id: str, repeat: int = 0, **kw: object) -> Attempt:
    kw.setdefault("passed", True)
    return Attempt(run_id="run-1", case_id=case_id, repeat=repeat, **kw)


@pytest.mark.parametrize(
    ("assertion", "good", "bad", "why"),
    [
        (Assertion("passed"), {"passed": True}, {"passed": False}, "passed is False"),
        (Assertion("exact", {"value": "yes"}), {"output": "yes"}, {"output": "yes!"}, "is not exactly 'yes'"),
        (
            Assertion("exact", {"value": {"a": 1}}),
            {"output": '{"a": 1}'},
            {"output": {"a": 2}},
            "is not exactly",
        ),
        (
            Assertion("contains", {"value": "refund"}),
            {"output": "a refund"},
            {"output": "no"},
            "does not contain",
        ),
        (
            Assertion("contains", {"value": "REFUND", "ignore_case": True}),
            {"output": "a refund"},
            {"output": "no"},
            "does not contain",
        ),
        (
            Assertion("not_contains", {"value": "sorry"}),
            {"output": "ok"},
            {"output": "sorry"},
            "contains 'sorry'",
        ),
        (Assertion("regex", {"pattern": r"^\{"}), {"output": '{"a":1}'}, {"output": "x{"}, "does not match"),
        (
            Assertion("json_schema", {"schema": {"type": "object", "required": ["amount"]}}),
            {"output": '{"amount": 3}'},
            {"output": "{bad json"},
            "fails JSON Schema",
        ),
        (
            Assertion("score", {"scorer": "faithfulness", "min": 0.8}),
            {"scores": {"faithfulness": 0.9}},
            {"scores": {"faithfulness": 0.5}},
            "score faithfulness = 0.5 < 0.8",
        ),
        (
            Assertion("score", {"scorer": "f", "min": 0.8}),
            {"scores": {"f": 0.8}},
            {"scores": {}},
            "no score 'f'",
        ),
        (
            Assertion(
                "judge", {"scorer": "helpful", "min": 0.7, "judge_model": "gpt-4o", "judge_version": "j2"}
            ),
            {"scores": {"helpful": 0.9}, "judge_model": "gpt-4o", "judge_version": "j2"},
            {"scores": {"helpful": 0.9}, "judge_model": "gpt-4o", "judge_version": "j3"},
            "judge version j3, the lock requires j2",
        ),
        (
            Assertion("ceiling", {"metric": "cost_usd", "max": 0.05}),
            {"cost_usd": 0.01},
            {"cost_usd": 0.2},
            "cost_usd = 0.2 > 0.05",
        ),
        (
            Assertion("ceiling", {"metric": "total_tokens", "max": 100}),
            {"input_tokens": 50, "output_tokens": 50},
            {"input_tokens": 80, "output_tokens": 30},
            "total_tokens = 110 > 100",
        ),
    ],
)
def test_each_assertion_type_passes_and_fails(assertion: Assertion, good: dict, bad: dict, why: str) -> None:
    files = [lock_file(case("c", assertion))]
    assert run_gate(files, [attempt("c", **good)]).outcomes[0].status == "passed"
    outcome = run_gate(files, [attempt("c", **bad)]).outcomes[0]
    assert outcome.status == "regressed"
    assert why in outcome.failures[0]


def test_an_attempt_with_an_error_fails_with_it() -> None:
    outcome = run_gate([lock_file(case("c"))], [attempt("c", error="TimeoutError: upstream")]).outcomes[0]
    assert (outcome.status, outcome.failures) == ("regressed", ["error: TimeoutError: upstream"])


def test_repeats_with_a_per_case_threshold_8_of_10() -> None:
    files = [lock_file(case("c", repeats=10, min_passes=8))]

    def run(passes: int) -> tuple[str, int]:
        attempts = [attempt("c", repeat=i, passed=i < passes) for i in range(10)]
        report = run_gate(files, attempts)
        return report.outcomes[0].status, report.exit_code

    assert run(10) == ("passed", 0)
    assert run(9) == ("flaky", 0)
    assert run(8) == ("flaky", 0)
    assert run(7) == ("regressed", 1)
    assert run(0) == ("regressed", 1)
    report = run_gate(files, [attempt("c", repeat=i, passed=i < 8) for i in range(10)], fail_on_flaky=True)
    assert report.exit_code == 1


def test_missing_results_fail_the_gate_and_name_the_case() -> None:
    files = [lock_file(case("a"), case("b"))]
    report = run_gate(files, [attempt("a")])
    assert {o.case.id: o.status for o in report.outcomes} == {"a": "passed", "b": "missing"}
    assert report.exit_code == 1
    assert report.summary() == "FAILED: 2 lock cases, 1 passed, 1 missing"


def test_global_pass_rate_threshold_tolerates_some_regressions_but_never_missing() -> None:
    files = [lock_file(*(case(f"c{i}") for i in range(10)))]
    one_bad = [attempt(f"c{i}", passed=i != 0) for i in range(10)]
    assert run_gate(files, one_bad).exit_code == 1
    assert run_gate(files, one_bad, min_pass_rate=0.9).exit_code == 0
    assert run_gate(files, one_bad, min_pass_rate=0.95).exit_code == 1
    assert run_gate(files, one_bad[1:], min_pass_rate=0.5).exit_code == 1  # c0 missing
    with pytest.raises(ConfigError, match="between 0 and 1"):
        run_gate(files, one_bad, min_pass_rate=1.5)


def test_baseline_diff_shows_what_got_worse() -> None:
    files = [lock_file(case("a", repeats=4, min_passes=2), case("b"), case("c"), case("d"))]
    before = run_gate(
        files,
        [attempt("a", repeat=i) for i in range(4)] + [attempt("b"), attempt("c", passed=False)],
    )
    baseline = baseline_from_report(before, "v1.4")
    now = run_gate(
        files,
        [attempt("a", repeat=i, passed=i < 3) for i in range(4)]
        + [attempt("b", passed=False), attempt("c"), attempt("d")],
        baseline=baseline,
    )
    changes = {o.case.id: o.change for o in now.outcomes}
    # a: 4/4 -> 3/4 still holds but worse; b: held -> regressed; c: regressed -> held; d: missing -> held.
    assert changes == {"a": "worse", "b": "worse", "c": "better", "d": "better"}
    assert now.outcomes[3].baseline == BaselineEntry("missing", 0, 0)
    markdown = report_markdown(now)
    assert "**Compared with v1.4:** 2 case(s) got worse." in markdown
    assert "| `refund/b` | passed 1/1 | regressed 0/1 |" in markdown


def test_results_that_match_no_lock_are_a_usage_error_naming_them() -> None:
    files = [lock_file(case("a"))]
    with pytest.raises(
        ConfigError, match=r"none of the 2 results matches a lock case \(results have refund/x, y"
    ):
        run_gate(files, [attempt("x", dataset_id="refund"), attempt("y")])
    report = run_gate(files, [attempt("a"), attempt("y")])
    assert [a.case_id for a in report.unmatched] == ["y"]
    assert report.exit_code == 0


def test_dataset_version_selects_cases_and_must_exist() -> None:
    files = [lock_file(case("old"), case("new", added_in=2), version=2)]
    report = run_gate(files, [attempt("old", dataset_version="1")])
    assert [o.case.id for o in report.outcomes] == ["old"]
    assert report.exit_code == 0
    assert run_gate(files, [attempt("old", dataset_version="v2")]).exit_code == 1  # "new" missing at v2
    with pytest.raises(ConfigError, match="results are for version 3 of dataset 'refund'"):
        run_gate(files, [attempt("old", dataset_version="3")])
    with pytest.raises(ConfigError, match="results mix versions 1, 2"):
        run_gate(files, [attempt("old", dataset_version="1"), attempt("new", dataset_version="2")])


def test_case_ids_in_two_datasets_need_dataset_id() -> None:
    files = [lock_file(case("a")), lock_file(case("a", dataset="search"), dataset="search")]
    with pytest.raises(ConfigError, match="case id 'a' is in several lock files"):
        run_gate(files, [attempt("a", source="r.jsonl:1")])
    report = run_gate(files, [attempt("a", dataset_id="refund"), attempt("a", dataset_id="search")])
    assert [o.status for o in report.outcomes] == ["passed", "passed"]


def test_no_lock_cases_is_a_usage_error() -> None:
    with pytest.raises(ConfigError, match="no lock cases to check"):
        run_gate([lock_file()], [])
    with pytest.raises(ConfigError, match="no lock file for dataset"):
        run_gate([lock_file(case("a"))], [], datasets=["nope"])


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "r.jsonl:2: not valid JSON"),
        ('{"case_id": "a"}', "r.jsonl:2: field 'run_id' is required"),
        ('{"run_id": "r", "case_id": "a", "score": "high"}', "r.jsonl:2: field 'score' must be a number"),
        (
            '{"run_id": "r", "case_id": "a", "passed": "yes"}',
            "r.jsonl:2: field 'passed' must be true, false or null",
        ),
        ('{"run_id": "r", "case_id": "a", "repeat": 1.5}', "r.jsonl:2: field 'repeat' must be an integer"),
        ('{"run_id": "r", "case_id": "a", "scores": {"f": "x"}}', "r.jsonl:2: field 'scores' must map"),
        ("[1, 2]", "r.jsonl:2: expected a JSON object"),
    ],
)
def test_malformed_results_name_source_and_line(line: str, message: str) -> None:
    first = json.dumps({"run_id": "r", "case_id": "a"})
    with pytest.raises(ResultsError) as excinfo:
        parse_results([first, line], "r.jsonl")
    assert message in str(excinfo.value)


def test_expect_specs_parse_to_assertions() -> None:
    assert parse_expect("passed") == Assertion("passed")
    assert parse_expect("contains:refund: approved") == Assertion("contains", {"value": "refund: approved"})
    assert parse_expect("icontains:Refund") == Assertion("contains", {"value": "Refund", "ignore_case": True})
    assert parse_expect("score:faithfulness>=0.8") == Assertion(
        "score", {"scorer": "faithfulness", "min": 0.8}
    )
    assert parse_expect("cost_usd<=0.05") == Assertion("ceiling", {"metric": "cost_usd", "max": 0.05})
    assert parse_expect("latency_ms<=2000") == Assertion("ceiling", {"metric": "latency_ms", "max": 2000})
    assert parse_expect('json_schema:{"type": "object"}') == Assertion(
        "json_schema", {"schema": {"type": "object"}}
    )
    assert parse_expect("judge:helpful>=0.7", judge_model="m", judge_version="v").params["judge_model"] == "m"
    for bad, message in [
        ("judge:helpful>=0.7", "--judge-model"),
        ("frobnicate:x", "unknown assertion type 'frobnicate'"),
        ("speed<=3", "unknown metric 'speed'"),
        ("score:f>0.8", "write score:NAME>=X"),
        ("regex:(", "invalid regex"),
    ]:
        with pytest.raises(ConfigError, match=message):
            parse_expect(bad)


def test_baseline_entries_for_unknown_cases_are_new() -> None:
    report = run_gate([lock_file(case("a"))], [attempt("a")], baseline=Baseline("v1", {}))
    assert report.outcomes[0].baseline is None
    assert "nothing got worse" in report_markdown(report)


def test_attempt_records_round_trip_through_the_results_parser() -> None:
    original = Attempt(
        run_id="r",
        case_id="c",
        repeat=2,
        dataset_id="refund",
        dataset_version="3",
        scores={"f": 0.5},
        passed=False,
        output={"a": [1]},
        cost_usd=0.01,
        input_tokens=7,
    )
    (parsed,) = parse_results([json.dumps(original.to_record())], "x")
    assert parsed == Attempt(**{**original.__dict__, "source": "x:1"})


def test_an_attempt_seen_twice_counts_once_and_failing_eval_traces_are_kept() -> None:
    files = [lock_file(case("c", repeats=2, min_passes=2))]
    eval_trace = "e" * 32
    twice = [attempt("c", 0), attempt("c", 1, passed=False, trace_id=eval_trace), attempt("c", 0)]
    outcome = run_gate(files, twice).outcomes[0]
    assert (outcome.status, outcome.passes, outcome.attempts) == ("regressed", 1, 2)
    assert outcome.failing_eval_traces == [eval_trace]
