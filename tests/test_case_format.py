"""The one case format: seeds export, lock export, Dataset.from_jsonl, the replay runner and eval import
read and write the same objects, and provenance survives the whole loop.

Checked failing on a11d664 (before the case format): from_jsonl refused both exports ("not a case object
('id')"), the replay runner called ``task(input)`` only, a default lock failed with "passed is None",
run_eval dropped expected/artifacts/task-span signals.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

from tracelock.cases import check_case, read_cases
from tracelock.collector.feedback import parse_feedback, store_feedback
from tracelock.collector.load import load_request
from tracelock.errors import InputError
from tracelock.evals import Case, Dataset, EvalOutput, run_eval
from tracelock.lock.export import case_records_jsonl
from tracelock.lock.gate import run_gate
from tracelock.lock.model import Assertion, LockCase, LockFile, Provenance
from tracelock.lock.results import Attempt
from tracelock.lock.task import run_task
from tracelock.processors import current_keys
from tracelock.sampler.batch import run_rules
from tracelock.sampler.export import dataset_rows, seed_rows
from tracelock.sampler.otlp_build import SpanSpec, build_request
from tracelock.sampler.rules import load_rules
from tracelock.store import Store

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
QUESTION = [{"role": "user", "content": "Refund the unused months of our enterprise contract"}]
BAD_ANSWER = [{"role": "assistant", "content": '{"refund": 1200, "currency"'}]


def _production_trace(store: Store) -> None:
    """One enterprise trace whose answer broke, with a complaint: the complaint rule seeds it."""
    start = time.time_ns() - 3600 * 10**9
    root = {
        "tracelock.customer.tier": "enterprise",
        "tracelock.intent": "refund",
        "tracelock.label.region": "eu",
    }
    child = {"gen_ai.input.messages": json.dumps(QUESTION), "gen_ai.output.messages": json.dumps(BAD_ANSWER)}
    spans = [
        SpanSpec(TRACE, "a1a1a1a1a1a1a1a1", name="POST /refund", start_ns=start, attributes=root),
        SpanSpec(TRACE, "b2b2b2b2b2b2b2b2", "a1a1a1a1a1a1a1a1", start_ns=start + 1000, attributes=child),
    ]
    load_request(
        store, build_request(spans, {"gen_ai.request.model": "gpt-4o", "gen_ai.prompt.version": "v4"})
    )
    items = [{"feedback_id": "fb-42", "trace_id": TRACE, "kind": "complaint", "comment": "wrong refund"}]
    store_feedback(store, parse_feedback(items))
    run_rules(store, load_rules(), datetime.now(timezone.utc) - timedelta(days=1))


def _lock_file(*cases: LockCase) -> LockFile:
    return LockFile(Path("locks/refund.yaml"), "refund", 3, cases)


def _lock_case(**overrides: Any) -> LockCase:
    values: dict[str, Any] = {
        "id": "enterprise-refund",
        "dataset": "refund",
        "added_in": 2,
        "input": QUESTION,
        "expect": (Assertion("contains", {"value": "refund"}),),
        "labels": {"tracelock.customer.tier": "enterprise"},
        "keys": {"gen_ai.prompt.version": "v4"},
        "provenance": Provenance(source_trace_id=TRACE, seed_id="5eed", feedback_ids=("fb-42",)),
    }
    return LockCase(**(values | overrides))


# --- reading: every writer's output loads, old forms too, bad lines are named ---------------------------


def test_a_seeds_export_loads_as_a_dataset(store: Store, tmp_path: Path) -> None:
    _production_trace(store)
    rows = dataset_rows(store, seed_rows(store, rule="complaint-linked-trace"))
    path = tmp_path / "seeds.jsonl"
    path.write_text("".join(json.dumps(r, default=str) + "\n" for r in rows))
    (case,) = Dataset.from_jsonl(path).cases
    assert case.input == QUESTION and case.labels["tracelock.customer.tier"] == "enterprise"
    assert case.keys == {"gen_ai.request.model": "gpt-4o", "gen_ai.prompt.version": "v4"}
    assert case.source_trace_id == TRACE and case.provenance["feedback_ids"] == ["fb-42"]
    assert case.provenance["seed_rule"] == "complaint-linked-trace"
    assert case.provenance["observed_output"] == BAD_ANSWER


def test_a_lock_export_loads_with_its_dataset_id_and_version(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(case_records_jsonl([_lock_file(_lock_case())]))
    dataset = Dataset.from_jsonl(path)
    assert (dataset.id, dataset.version, [c.id for c in dataset.cases]) == (
        "refund",
        "3",
        ["enterprise-refund"],
    )
    (case,) = dataset.cases
    assert case.provenance == {
        "source_trace_id": TRACE,
        "seed_id": "5eed",
        "feedback_ids": ["fb-42"],
        "dataset_id": "refund",
        "dataset_version": "3",
    }
    assert Dataset.from_jsonl(path, id="other", version="9").version == "9"


def test_the_older_forms_still_load() -> None:
    first = {"id": "c1", "inputs": {"q": 1}, "expected": "yes", "labels": {"intent": "refund"}}
    old_export = {"case_id": "seed-1", "input": "hi", "source_trace_id": TRACE, "rule": "r", "output": "no",
                  "feedback": [{"id": "fb-1", "kind": "complaint"}], "dataset_id": "d",
                  "dataset_version": 2}  # fmt: skip
    a, b = read_cases([json.dumps(first), "", json.dumps(old_export)], "old.jsonl")
    assert a == {"id": "c1", "input": {"q": 1}, "expected": "yes", "labels": {"intent": "refund"}}
    assert b["id"] == "seed-1" and b["provenance"] == {
        "source_trace_id": TRACE,
        "seed_rule": "r",
        "observed_output": "no",
        "feedback": [{"id": "fb-1", "kind": "complaint"}],
        "feedback_ids": ["fb-1"],
        "dataset_id": "d",
        "dataset_version": "2",
    }


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("[1, 2]", "old.jsonl:1: not a case object (a JSON object with id and input)"),
        ('{"id": "c1"}', "old.jsonl:1: not a case object: field (case): 'input' is a required property"),
        ('{"id": "", "input": 1}', "field id: '' should be non-empty"),
        ('{"id": "c", "input": 1, "labels": {"tier": 3}}', "field labels/tier: 3 is not of type 'string'"),
        (
            '{"id": "c", "input": 1, "provenance": {"source_trace_id": "XYZ"}}',
            "field provenance/source_trace_id",
        ),
        ('{"id": "c", "input": 1, "provenance": {"seed": "x"}}', "'seed' was unexpected"),
        ('{"id": "c", "input": 1, "artifacts_url": "a\\u0000b"}', "field artifacts_url"),
        ('{"id": "c", "input": 1, "colour": "red"}', "'colour' was unexpected"),
        ('{"id": "c", "input"', "old.jsonl:1: not valid JSON"),
    ],
)
def test_a_bad_case_line_is_named_with_its_field(line: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        read_cases([line], "old.jsonl")
    assert message in str(caught.value)
    assert str(caught.value).startswith("old.jsonl:1: ")


def test_check_case_returns_the_case_format() -> None:
    case = check_case({"id": "c", "input": None}, "x")
    assert case == {"id": "c", "input": None}


# --- run_eval keeps expected, artifacts and the task spans' signals --------------------------------------


@pytest.fixture
def provider(store_provider: TracerProvider) -> TracerProvider:
    return store_provider


def test_run_eval_records_expected_artifacts_and_the_task_spans_signals(
    store: Store, provider: TracerProvider
) -> None:
    tracer = provider.get_tracer("app")
    dataset = Dataset(
        "refund",
        "3",
        [
            Case(
                "json",
                "refund?",
                {"refund": 1200},
                {"tier": "enterprise"},
                artifacts_url="s3://b/json.png",
                provenance={"source_trace_id": TRACE, "source_span_id": "b2b2b2b2b2b2b2b2"},
            ),
            Case("text", "hello", "hi"),
        ],
    )

    def task(question: str) -> Any:
        with tracer.start_as_current_span("chat") as span:  # the model call: the processors stamp these
            span.set_attribute("tracelock.usage.context_tokens", 5200 if question == "refund?" else 10)
            span.set_attribute("tracelock.parse_failure", question == "refund?")
        with tracer.start_as_current_span("tool"):
            pass
        if question == "refund?":
            return '{"refund": 1200, "currency"'
        return EvalOutput("hi", artifacts_url="runs/7/text.html")

    run = run_eval(dataset, task, [lambda o, c: o == c.expected], run_id="r1", tracer_provider=provider)
    rows = store.query(
        "SELECT CaseId, Expected, ArtifactsUrl, ContextTokens, ParseFailure, SourceTraceId, SourceSpanId "
        "FROM eval_records FINAL WHERE EvalRunId = 'r1' ORDER BY CaseId"
    ).rows
    assert rows == [
        ("json", '{"refund": 1200}', "s3://b/json.png", 5200, 1, TRACE, "b2b2b2b2b2b2b2b2"),
        ("text", "hi", "runs/7/text.html", 10, 0, "", ""),
    ]
    by_case = {r["case_id"]: r for r in run.results()}
    assert by_case["json"]["expected"] == {"refund": 1200}
    assert by_case["json"]["context_tokens"] == 5200 and by_case["json"]["parse_failure"] is True
    assert by_case["json"]["provenance"]["source_trace_id"] == TRACE
    assert by_case["text"]["artifacts_url"] == "runs/7/text.html"


def test_a_task_taking_the_case_gets_its_keys_and_labels(store: Store, provider: TracerProvider) -> None:
    seen: list[tuple[Any, dict[str, Any], dict[str, Any]]] = []

    def task(question: Any, case: Any) -> str:
        seen.append((question, dict(case.keys), current_keys()))
        return "enterprise terms" if case.labels.get("tracelock.customer.tier") == "enterprise" else "basic"

    lock_case = _lock_case()
    (attempt,) = run_task(task, lock_case, run_id="replay", dataset_version=3)
    assert attempt.output == "enterprise terms" and not attempt.error
    question, keys, stamped = seen[0]
    assert question == QUESTION and keys == {"gen_ai.prompt.version": "v4"}
    assert stamped["tracelock.customer.tier"] == "enterprise"  # the app's spans carry the case's labels
    assert attempt.provenance["source_trace_id"] == TRACE and attempt.provenance["dataset_version"] == "3"
    dataset = Dataset("refund", "3", [Case("c", "q", labels={"tracelock.customer.tier": "enterprise"})])
    run = run_eval(dataset, task, [lambda o, c: True], tracer_provider=provider)
    assert run.attempts[0].output == "enterprise terms"


# --- expectations a documented runner can meet, and failures that say how to meet them -----------------


def test_missing_result_fields_are_named_with_how_to_produce_them() -> None:
    checks = [
        (Assertion("passed"), "the result has no 'passed'"),
        (Assertion("ceiling", {"metric": "cost_usd", "max": 0.05}), "return Attempt(cost_usd=...)"),
        (Assertion("ceiling", {"metric": "total_tokens", "max": 9}), "no 'input_tokens/output_tokens'"),
        (
            Assertion("score", {"scorer": "faithful", "min": 0.8}),
            "no score 'faithful' in the result's 'scores'",
        ),
        (Assertion("contains", {"value": "x"}), "the result has no 'output'"),
    ]
    for assertion, message in checks:
        outcome = run_gate([_lock_file(_lock_case(expect=(assertion,)))], [Attempt("r", "enterprise-refund")])
        (failure,) = outcome.outcomes[0].failures
        assert message in failure, failure
    ceiling = Assertion("ceiling", {"metric": "cost_usd", "max": 0.05})
    outcome = run_gate([_lock_file(_lock_case(expect=(ceiling,)))], [Attempt("r", "enterprise-refund")])
    assert "EvalOutput(cost_usd=...) with run_eval" in outcome.outcomes[0].failures[0]


# --- the whole round trip, as a user runs it ------------------------------------------------------------

APP = """
import json

def answer(question, case):
    # the fixed app: enterprise contracts get the complete JSON answer
    tier = case.labels.get("tracelock.customer.tier", "")
    return json.dumps({"refund": 1200, "currency": "EUR", "tier": tier})
"""

RUN_EVAL = """
import sys
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from tracelock.demo.sink import StoreSpanExporter
from tracelock.evals import Dataset, run_eval
from tracelock.store import StoreSettings, open_store
from pathlib import Path
sys.path.insert(0, ".")
from app import answer

store = open_store(StoreSettings(data_dir=Path("data")))
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(StoreSpanExporter(store)))
dataset = Dataset.from_jsonl("seeds.jsonl")
run = run_eval(dataset, answer, [lambda output, case: "currency" in output], run_id="seeds-eval",
               keys={"prompt_version": "v5"}, tracer_provider=provider)
provider.shutdown()
store.close()
print(run.pass_rate)
"""

SETUP = """
import sys
sys.path.insert(0, sys.argv[1])
import test_case_format as t
from pathlib import Path
from tracelock.store import StoreSettings, apply_migrations, open_store

store = open_store(StoreSettings(data_dir=Path("data")))
apply_migrations(store)
t._production_trace(store)
store.close()
"""


def _tracelock(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracelock", "--data-dir", "data", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, COLUMNS="200", **(env or {})),
    )


def _python(cwd: Path, script: str, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, **(env or {})),
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_round_trip_from_seed_to_gate_keeps_provenance(tmp_path: Path) -> None:
    """seeds export -> Dataset.from_jsonl -> run_eval -> lock add -> lock export -> replay -> lock check."""
    _python(tmp_path, SETUP, str(Path(__file__).parent))
    (tmp_path / "app.py").write_text(APP)

    exported = _tracelock(
        tmp_path, "seeds", "export", "--rule", "complaint-linked-trace", "-o", "seeds.jsonl"
    )
    assert exported.returncode == 0, exported.stderr
    (seed,) = read_cases((tmp_path / "seeds.jsonl").read_text().splitlines(), "seeds.jsonl")
    origin = seed["provenance"]
    assert (origin["source_trace_id"], origin["feedback_ids"]) == (TRACE, ["fb-42"])

    assert float(_python(tmp_path, RUN_EVAL)) == 1.0  # the seeds run as an eval dataset, into eval_records

    added = _tracelock(tmp_path, "lock", "add", origin["seed_id"], "--dataset", "refund")  # default expect
    assert added.returncode == 0, added.stderr
    assert "expects not_exact" in added.stdout
    cases = _tracelock(tmp_path, "lock", "export")
    assert cases.returncode == 0, cases.stderr
    (tmp_path / "cases.jsonl").write_text(cases.stdout)

    replay_env = {"TRACELOCK_CASES": "cases.jsonl", "TRACELOCK_RESULTS": "results.jsonl"}
    _python(tmp_path, "from tracelock.lock.run_tasks import main; main(['app:answer'])", env=replay_env)
    (result,) = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert result["output"].endswith('"tier": "enterprise"}')  # the replay saw the case's labels

    checked = _tracelock(tmp_path, "lock", "check", "--results", "results.jsonl", "--format", "json")
    assert checked.returncode == 0, checked.stdout + checked.stderr  # the documented runner meets the default
    (outcome,) = json.loads(checked.stdout)["cases"]
    assert outcome["status"] == "passed" and outcome["source_trace_id"] == TRACE

    imported = _tracelock(tmp_path, "eval", "import", "results.jsonl")
    assert imported.returncode == 0, imported.stderr
    query = "SELECT EvalRunId, SourceTraceId FROM eval_records FINAL ORDER BY EvalRunId"
    stored = _tracelock(tmp_path, "query", query, "--format", "json")
    assert stored.returncode == 0, stored.stderr
    # at the end, the provenance of the complaint is intact: in the lock, the replay result and the store
    final = result["provenance"]
    assert {k: final[k] for k in ("source_trace_id", "seed_id", "feedback_ids")} == {
        "source_trace_id": TRACE,
        "seed_id": origin["seed_id"],
        "feedback_ids": ["fb-42"],
    }
    assert (final["dataset_id"], final["dataset_version"]) == ("refund", "1")
    assert stored.stdout.count(TRACE) == 2, stored.stdout  # the seeds eval and the imported replay
