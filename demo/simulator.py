"""The refund assistant, simulated: real OTel SDK spans with tracelock's processors, for production
traffic and for the offline eval of both prompt versions. Seeded: the same seed gives the same spans,
ids included.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import SpanKind, Status, StatusCode

from tracelock.demo import app
from tracelock.demo.story import STORY, Outcome, Request, Story, behave
from tracelock.evals import Case, Dataset, EvalOutput, Score, judge, run_eval
from tracelock.evals.runner import EvalRun
from tracelock.processors import instrument, labels, shared_keys_resource

__all__ = ["SeededIds", "emit_request", "make_provider", "offline_dataset", "run_offline_evals"]

MODEL = "gpt-4o-mini"
RETRIEVER = "kb-2026-10"
PRICES = {MODEL: {"input_per_million": 0.15, "output_per_million": 0.6}}


class SeededIds(IdGenerator):
    """Trace and span ids from a seeded generator: the demo's output is the same on every run."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def generate_span_id(self) -> int:
        return self._rng.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        return self._rng.getrandbits(128) or 1


def make_provider(service: str, seed: int, exporter: SpanExporter, **versions: str) -> TracerProvider:
    """A provider as a deployed service would have: version keys on the Resource, tracelock processors."""
    keys: dict[str, Any] = dict(versions)  # shared_keys_resource's **versions (not its attributes=)
    provider = TracerProvider(resource=shared_keys_resource(service, **keys), id_generator=SeededIds(seed))
    instrument(tracer_provider=provider, export=False, prices=PRICES, set_global=False)
    # the simulator makes spans far faster than an app does: a queue large enough that none is dropped
    provider.add_span_processor(
        BatchSpanProcessor(
            exporter, max_queue_size=1 << 18, max_export_batch_size=4096, schedule_delay_millis=500
        )
    )
    return provider


def _ns(at: datetime) -> int:
    return int(at.timestamp() * 1e9)


def _messages(role: str, text: str) -> str:
    """Chat content as the GenAI semantic conventions record it (what a lock case takes as its input)."""
    return json.dumps(app.messages(role, text))


def _question(request: Request) -> str:
    account = "our enterprise contract" if request.tier == "enterprise" else "my order"
    return f"Ticket {request.index} ({request.intent.replace('_', ' ')}): what refund applies to {account}?"


def _answer(request: Request, outcome: Outcome) -> str:
    return app.answer(request.intent, failed=outcome.parse_failure)


def emit_request(tracer: trace.Tracer, request: Request, outcome: Outcome) -> str:
    """The spans of one production request; returns its trace id (hex)."""
    t0 = request.at
    t_llm = t0 + timedelta(milliseconds=45)
    t_end = t_llm + timedelta(milliseconds=outcome.latency_ms)
    with labels(intent=request.intent, customer_tier=request.tier, language=request.language):
        root = tracer.start_span("POST /v1/refund-assistant", kind=SpanKind.SERVER, start_time=_ns(t0))
        ctx = trace.set_span_in_context(root)
        retrieval = tracer.start_span(
            "retrieval refund-kb", context=ctx, start_time=_ns(t0 + timedelta(milliseconds=5))
        )
        retrieval.set_attribute("tracelock.retrieval.document_count", outcome.documents)
        retrieval.set_attribute("tracelock.retrieval.empty", outcome.documents == 0)
        retrieval.end(end_time=_ns(t0 + timedelta(milliseconds=40)))
        chat = tracer.start_span(f"chat {MODEL}", kind=SpanKind.CLIENT, context=ctx, start_time=_ns(t_llm))
        chat.set_attributes(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.usage.input_tokens": outcome.input_tokens,
                "gen_ai.usage.output_tokens": outcome.output_tokens,
                "tracelock.usage.context_tokens": outcome.context_tokens,
                "gen_ai.input.messages": _messages("user", _question(request)),
                "gen_ai.output.messages": _messages("assistant", _answer(request, outcome)),
            }
        )
        chat.end(end_time=_ns(t_end - timedelta(milliseconds=15)))
        tool = tracer.start_span(
            "execute_tool parse_refund_terms", context=ctx, start_time=_ns(t_end - timedelta(milliseconds=14))
        )
        tool.set_attribute("tracelock.parse_failure", outcome.parse_failure)
        if outcome.parse_failure:
            tool.set_attribute("error.type", "JSONDecodeError")
            tool.add_event(
                "exception",
                {"exception.type": "JSONDecodeError", "exception.message": "Expecting ',' delimiter"},
                timestamp=_ns(t_end - timedelta(milliseconds=3)),
            )
            tool.set_status(Status(StatusCode.ERROR, "tool output is not valid JSON"))
        tool.end(end_time=_ns(t_end - timedelta(milliseconds=2)))
        root.end(end_time=_ns(t_end))
    return f"{root.get_span_context().trace_id:032x}"


def offline_dataset(rng: random.Random, story: Story = STORY) -> tuple[Dataset, dict[str, float]]:
    """The consumer-heavy refund eval set and each case's difficulty (what the simulated model finds hard)."""
    n = story.eval_cases
    difficulty = [(i + 0.5) / n for i in range(n)]
    rng.shuffle(difficulty)
    cases, hardness = [], {}
    for i in range(n):
        tier = "enterprise" if i < story.eval_enterprise_cases else "consumer"
        intent = ("refund_status", "refund_request", "refund_policy")[i % 3]
        case_id = f"refund-{i:03d}"
        hardness[case_id] = difficulty[i]
        cases.append(
            Case(
                id=case_id,
                inputs={"ticket": f"ticket {i}: {intent.replace('_', ' ')}", "case_id": case_id},
                expected={"decision": "approve" if i % 4 else "escalate"},
                labels={"intent": intent, "customer.tier": tier, "language": "en"},
            )
        )
    return Dataset("refund-cases", "2026-10", cases), hardness


def _task(
    tracer: trace.Tracer,
    rng: random.Random,
    version: str,
    hardness: dict[str, float],
    expected: dict[str, Any],
) -> Callable[[Any], EvalOutput]:
    p = dict(STORY.offline_pass)[version]

    def task(inputs: Any) -> EvalOutput:
        case_id = inputs["case_id"]
        outcome = behave(rng, version, "consumer", offline=True)
        with tracer.start_as_current_span(f"chat {MODEL}", kind=SpanKind.CLIENT) as span:
            span.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.usage.input_tokens": outcome.input_tokens,
                    "gen_ai.usage.output_tokens": outcome.output_tokens,
                    "tracelock.usage.context_tokens": outcome.context_tokens,
                }
            )
        right = hardness[case_id] + rng.gauss(0, 0.02) < p
        decision = expected[case_id]["decision"] if right else "deny"
        return EvalOutput(
            {"decision": decision},
            input_tokens=outcome.input_tokens,
            output_tokens=outcome.output_tokens,
            context_tokens=outcome.context_tokens,
        )

    return task


def decision_matches(output: Any, case: Case) -> bool:
    return bool(output.get("decision") == case.expected["decision"])


def run_offline_evals(
    provider: TracerProvider,
    rng: random.Random,
    story: Story = STORY,
    progress: Callable[[int, int], None] | None = None,
) -> list[EvalRun]:
    """Evaluate refund-v3 and refund-v4 on the same dataset, ``story.eval_repeats`` attempts per case."""
    dataset, hardness = offline_dataset(rng, story)
    expected = {c.id: c.expected for c in dataset.cases}
    tracer = provider.get_tracer("refund-assistant")

    def helpfulness(output: Any, case: Case) -> Score:  # the simulated LLM judge
        good = decision_matches(output, case)
        value = round(min(1.0, max(0.0, rng.gauss(0.86 if good else 0.35, 0.08))), 3)
        return Score(value, explanation="cites the refund policy" if good else "wrong decision")

    runs = []
    total = 2 * len(dataset) * story.eval_repeats
    for n, version in enumerate(("refund-v3", "refund-v4")):

        def step(i: int, _total: int, offset: int = n * len(dataset) * story.eval_repeats) -> None:
            if progress:
                progress(offset + i, total)

        runs.append(
            run_eval(
                dataset,
                _task(tracer, rng, version, hardness, expected),
                [decision_matches, judge(helpfulness, model="judge-sim", version="2026-10-15")],
                keys={"prompt_version": version, "model": MODEL, "retriever.version": RETRIEVER},
                repeats=story.eval_repeats,
                run_id=f"refund-cases-{version}",
                tracer_provider=provider,
                flush=False,
                progress=step,
            )
        )
    return runs
