"""run_eval: one eval span per attempt, scores as gen_ai.evaluation.result events, failures kept as data;
the schema's materialized views turn those spans (and other tools' evaluation events) into eval_records."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

from tracelock.evals import Case, Dataset, EvalOutput, Score, judge, run_eval
from tracelock.store import Store

DATASET = Dataset(
    "refund-cases",
    "3",
    [
        Case("c1", {"q": "refund my order"}, "approve", {"intent": "refund", "customer.tier": "consumer"}),
        Case(
            "c2",
            {"q": "contract credit"},
            "escalate",
            {"intent": "refund", "tier": "enterprise", "region": "eu"},
        ),
    ],
)


@pytest.fixture
def provider(store_provider: TracerProvider) -> TracerProvider:
    return store_provider


def records(store: Store) -> list[dict[str, Any]]:
    return store.query(
        "SELECT EvalRunId, CaseId, Repeat, DatasetId, DatasetVersion, PromptVersion, RequestModel, Intent, "
        "CustomerTier, Labels, Score, Scores, ScoreLabels, Passed, Error, JudgeModel, JudgeVersion, "
        "ContextTokens, TraceId, SpanId, Source FROM eval_records FINAL ORDER BY EvalRunId, CaseId, Repeat"
    ).dicts()


def test_each_attempt_is_one_record_with_keys_scores_and_judge(
    store: Store, provider: TracerProvider
) -> None:
    tracer = provider.get_tracer("app")

    def task(inputs: Any) -> EvalOutput:
        with tracer.start_as_current_span("chat gpt-4o-mini") as span:  # the task's own span: no record
            span.set_attribute("gen_ai.usage.input_tokens", 50)
        return EvalOutput("approve", context_tokens=1200)

    def exact(output: Any, case: Case) -> bool:
        return output == case.expected

    def grade(output: Any, case: Case) -> Score:
        return Score(0.75, label="good", explanation="polite")

    run = run_eval(
        DATASET,
        task,
        [exact, judge(grade, model="gpt-4o", version="2024-08-06")],
        keys={"prompt_version": "refund-v4", "model": "gpt-4o-mini"},
        repeats=2,
        run_id="run-1",
        tracer_provider=provider,
    )
    assert [(a.case_id, a.repeat, a.passed) for a in run.attempts] == [
        ("c1", 0, True),
        ("c1", 1, True),
        ("c2", 0, False),
        ("c2", 1, False),
    ]
    got = records(store)
    assert [(r["CaseId"], r["Repeat"]) for r in got] == [("c1", 0), ("c1", 1), ("c2", 0), ("c2", 1)]
    c1, c2 = got[0], got[2]
    assert (c1["DatasetId"], c1["DatasetVersion"], c1["PromptVersion"], c1["RequestModel"]) == (
        "refund-cases",
        "3",
        "refund-v4",
        "gpt-4o-mini",
    )
    assert (c1["Intent"], c1["CustomerTier"], c2["CustomerTier"], c2["Labels"]) == (
        "refund",
        "consumer",
        "enterprise",
        {"region": "eu"},
    )
    assert c1["Scores"] == {"exact": 1.0, "grade": 0.75} and c1["Score"] == pytest.approx(0.875)
    assert c1["ScoreLabels"] == {"exact": "pass", "grade": "good"}
    assert (c1["Passed"], c2["Passed"], c1["JudgeModel"], c1["JudgeVersion"]) == (
        1,
        0,
        "gpt-4o",
        "2024-08-06",
    )
    assert c1["ContextTokens"] == 1200 and c1["Source"] == "sdk"
    assert (c1["TraceId"], c1["SpanId"]) == (run.attempts[0].trace_id, run.attempts[0].span_id)
    # the task's chat spans were stamped as eval spans (their traces must not read as live traffic)
    origins = store.query("SELECT DISTINCT Origin FROM trace_summaries_final").rows
    assert origins == [("eval",)]
    assert run.results()[0]["keys"] == {
        "gen_ai.prompt.version": "refund-v4",
        "gen_ai.request.model": "gpt-4o-mini",
    }


def test_failing_scorer_or_task_is_recorded_and_the_run_goes_on(
    store: Store, provider: TracerProvider
) -> None:
    def task(inputs: Any) -> str:
        if inputs["q"].startswith("contract"):
            raise TimeoutError("model timed out")
        return "approve"

    def flaky_judge(output: Any, case: Case) -> float:
        raise RuntimeError("judge unavailable")

    run = run_eval(
        DATASET, task, [flaky_judge], keys={"prompt": "refund-v4"}, run_id="run-2", tracer_provider=provider
    )
    assert [a.error for a in run.attempts] == [
        "scorer flaky_judge: RuntimeError: judge unavailable",
        "task: TimeoutError: model timed out",
    ]
    got = records(store)
    assert [(r["CaseId"], r["Passed"], r["Error"]) for r in got] == [
        ("c1", 0, "scorer flaky_judge: RuntimeError: judge unavailable"),
        ("c2", 0, "task: TimeoutError: model timed out"),
    ]


def test_evaluation_events_from_other_tools_become_records(store: Store, provider: TracerProvider) -> None:
    tracer = provider.get_tracer("support-bot")
    with tracer.start_as_current_span("chat", attributes={"gen_ai.prompt.version": "refund-v4"}) as span:
        span.add_event(
            "gen_ai.evaluation.result",
            {"gen_ai.evaluation.name": "relevance", "gen_ai.evaluation.score.value": 0.9,
             "gen_ai.evaluation.score.label": "relevant", "gen_ai.evaluation.explanation": "on topic"},
        )  # fmt: skip
        span.add_event(
            "gen_ai.evaluation.result",
            {"gen_ai.evaluation.name": "tone", "gen_ai.evaluation.score.value": 0.3},
        )
        span_id = f"{span.get_span_context().span_id:016x}"
    (row,) = records(store)
    assert (row["CaseId"], row["Source"], row["PromptVersion"]) == (span_id, "otlp-event", "refund-v4")
    assert row["Scores"] == {"relevance": 0.9, "tone": 0.3} and row["Score"] == pytest.approx(0.6)
    assert row["Passed"] == 0  # tone 0.3 has no label and is below 0.5
