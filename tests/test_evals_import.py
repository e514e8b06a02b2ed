"""``eval import``: good files land whole, bad files land not at all and name line and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tracelock.evals import EvalImportError, import_results
from tracelock.store import Store

GOOD = [
    {
        "run_id": "r1",
        "case_id": "c1",
        "dataset_id": "refund-cases",
        "dataset_version": "7",
        "score": 0.9,
        "scores": {"exact": 1.0, "judge": 0.8},
        "keys": {"gen_ai.prompt.version": "refund-v4", "gen_ai.request.model": "gpt-4o-mini"},
        "labels": {"intent": "refund", "tracelock.customer.tier": "enterprise", "region": "eu"},
        "judge_model": "gpt-4o",
        "judge_version": "2024-08-06",
        "input_tokens": 120,
        "context_tokens": 4000,
        "cost_usd": 0.002,
        "trace_id": "0af7651916cd43dd8448eb211c80319c",
        "timestamp": "2026-11-01T10:00:00Z",
        "output": {"decision": "approve"},
    },
    {
        "run_id": "r1",
        "case_id": "c1",
        "dataset_id": "refund-cases",
        "repeat": 1,
        "score": 0.2,
        "error": "timeout",
    },
    {"run_id": "r1", "case_id": "c2", "passed": True},
    {"run_id": "r1", "case_id": "c3", "score": 0.4},
]


def write_jsonl(path: Path, items: list[Any]) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in items) + "\n")
    return path


def rows(store: Store) -> list[dict[str, Any]]:
    sql = (
        "SELECT CaseId, Repeat, DatasetId, DatasetVersion, PromptVersion, RequestModel, Intent, "
        "CustomerTier, "
        "Labels, Score, Scores, Passed, Error, JudgeModel, ContextTokens, TraceId, Output, Source "
        "FROM eval_records FINAL ORDER BY CaseId, Repeat"
    )
    return store.query(sql).dicts()


def test_good_file_imports_every_field(store: Store, tmp_path: Path) -> None:
    result = import_results(store, write_jsonl(tmp_path / "results.jsonl", GOOD))
    assert (result.rows, result.runs, result.cases, result.format) == (4, ["r1"], 3, "jsonl")
    got = rows(store)
    first = got[0]
    assert first["PromptVersion"] == "refund-v4" and first["RequestModel"] == "gpt-4o-mini"
    assert (first["Intent"], first["CustomerTier"], first["Labels"]) == (
        "refund",
        "enterprise",
        {"region": "eu"},
    )
    assert (first["Score"], first["Scores"], first["Passed"]) == (0.9, {"exact": 1.0, "judge": 0.8}, 1)
    assert (first["JudgeModel"], first["ContextTokens"], first["Source"]) == ("gpt-4o", 4000, "import-jsonl")
    assert json.loads(first["Output"]) == {"decision": "approve"}
    errored, passed_only, low = got[1], got[2], got[3]
    assert (errored["Repeat"], errored["Passed"], errored["Error"]) == (1, 0, "timeout")
    assert (passed_only["Passed"], passed_only["Score"]) == (1, 1.0)  # no score: passed gives 1.0
    assert (low["Passed"], low["Score"]) == (0, 0.4)  # no passed: score < 0.5 fails


def test_reimport_does_not_double_count(store: Store, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "results.jsonl", GOOD)
    import_results(store, path)
    import_results(store, path)
    assert store.query("SELECT count() FROM eval_records FINAL").scalar() == 4


@pytest.mark.parametrize(
    ("bad_line", "expected"),
    [
        ("{not json", r"line 3: \(json\): not valid JSON"),
        ({"case_id": "x"}, "line 3: run_id: is required"),
        ({"run_id": "r", "case_id": "x", "score": "high"}, 'line 3: score: must be a number, got "high"'),
        (
            {"run_id": "r", "case_id": "x", "keys": {"prompt_verison": "v4"}},
            "line 3: keys.prompt_verison: unknown key",
        ),
        (
            {"run_id": "r", "case_id": "x", "trace_id": "xyz"},
            "line 3: trace_id: must be 32 lowercase hex digits",
        ),
        ({"run_id": "r", "case_id": "x", "colour": "red"}, "line 3: colour: unknown field"),
        (
            {"run_id": "r1", "case_id": "c2"},
            r"line 3: repeat: duplicate of line 2 \(same run_id, case_id, repeat\)",
        ),
        ({"run_id": "r", "case_id": "x", "labels": {"intent": 3}}, None),  # numbers become text: accepted
    ],
)
def test_bad_line_rejects_the_whole_file(
    store: Store, tmp_path: Path, bad_line: Any, expected: str | None
) -> None:
    items = [GOOD[0], GOOD[2], bad_line, GOOD[3]]
    path = write_jsonl(tmp_path / "results.jsonl", items)
    if expected is None:
        assert import_results(store, path).rows == 4
        return
    with pytest.raises(EvalImportError, match=expected) as info:
        import_results(store, path)
    assert "nothing imported (3 good line(s) were not imported either)" in str(info.value)
    assert [p[0] for p in info.value.problems] == [3]
    assert store.query("SELECT count() FROM eval_records").scalar() == 0


PROMPTFOO = {
    "evalId": "eval-2026-11-01T10:00:00",
    "results": {
        "version": 3,
        "timestamp": "2026-11-01T10:00:00.000Z",
        "results": [
            {
                "promptIdx": 0,
                "testIdx": 0,
                "testCase": {
                    "description": "refund ok",
                    "vars": {"q": "refund?"},
                    "metadata": {"intent": "refund"},
                },
                "prompt": {"raw": "...", "label": "refund-v4"},
                "provider": {"id": "openai:gpt-4o-mini", "label": ""},
                "response": {
                    "output": "approve",
                    "tokenUsage": {"prompt": 100, "completion": 20, "total": 120},
                },
                "success": True,
                "score": 1,
                "namedScores": {"accuracy": 1},
                "latencyMs": 850,
                "cost": 0.0001,
                "gradingResult": {"pass": True, "score": 1, "reason": "All assertions passed"},
            },
            {
                "promptIdx": 0,
                "testIdx": 1,
                "testCase": {
                    "vars": {"q": "enterprise contract"},
                    "metadata": {"customer_tier": "enterprise"},
                },
                "prompt": {"raw": "...", "label": "refund-v4"},
                "provider": "openai:gpt-4o-mini",
                "response": {"output": "deny"},
                "success": False,
                "score": 0,
                "gradingResult": {"pass": False, "score": 0, "reason": "Expected approve"},
            },
        ],
    },
}


def test_promptfoo_output_imports(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "promptfoo.json"
    path.write_text(json.dumps(PROMPTFOO))
    result = import_results(store, path)
    assert (result.format, result.rows, result.runs) == ("promptfoo", 2, ["eval-2026-11-01T10:00:00"])
    got = rows(store)
    by_case = {r["CaseId"]: r for r in got}
    assert set(by_case) == {"refund ok", "test-1"}
    ok = by_case["refund ok"]
    assert (ok["PromptVersion"], ok["RequestModel"], ok["Intent"], ok["Passed"]) == (
        "refund-v4",
        "gpt-4o-mini",
        "refund",
        1,
    )
    assert ok["Source"] == "import-promptfoo" and ok["Scores"] == {"accuracy": 1.0}
    assert (by_case["test-1"]["CustomerTier"], by_case["test-1"]["Passed"]) == ("enterprise", 0)


def test_promptfoo_without_results_is_named(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"results": {"stats": {}}}))
    with pytest.raises(Exception, match=r"no results list \(expected results.results\)"):
        import_results(store, path)
