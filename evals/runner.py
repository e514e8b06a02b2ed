"""Run an eval the observable way: every case attempt is an OTel span exported like production.

Each attempt runs inside :class:`tracelock.processors.eval_context` (so the task's own LLM/tool spans
are stamped ``tracelock.origin = eval`` with the eval keys) and inside one *eval span* that carries the
shared version keys, the case's task labels, the eval keys, the primary score, ``tracelock.eval.passed``
and one ``gen_ai.evaluation.result`` event per scorer. The schema's materialized view turns that span
into an ``eval_records`` row wherever the spans are written, so there is no second write path.

The eval span also carries the case's expected output (``tracelock.eval.expected``), its artifacts
path or URL (``tracelock.eval.artifacts_url``: the case's, or the one the task returns in
:class:`EvalOutput`), its source trace and span, and the largest context tokens and any parse failure of
the task's own spans (:mod:`tracelock.evals.task_signals`). A task that takes two parameters, or a
``case=`` keyword, is called ``task(input, case)`` and sees the case's keys and labels.

A task or scorer that raises is recorded as that attempt's error (status Error, ``error.type``) and
the run goes on.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.trace import Status, StatusCode, TracerProvider

from tracelock.cases import takes_case
from tracelock.evals.dataset import Case, Dataset
from tracelock.evals.scorers import Scorer, as_scorer
from tracelock.evals.task_signals import SignalFold, TaskSignals, task_signals
from tracelock.processors import eval_context, instrument
from tracelock.report.dimensions import resolve_dimension

__all__ = ["Attempt", "EvalOutput", "EvalRun", "canonical_keys", "run_eval"]

_TRACER = "tracelock.evals"


@dataclass(frozen=True)
class EvalOutput:
    """What a task may return instead of a bare output: the output plus the usage it measured."""

    output: Any
    input_tokens: int | None = None
    output_tokens: int | None = None
    context_tokens: int | None = None
    cost_usd: float | None = None
    parse_failure: bool | None = None
    #: A path or URL of what this attempt produced (overrides the case's ``artifacts_url``).
    artifacts_url: str | None = None


@dataclass
class Attempt:
    """One case attempt's result, as written to the eval span."""

    case_id: str
    repeat: int
    score: float
    passed: bool
    scores: dict[str, float] = field(default_factory=dict)
    error: str = ""
    output: Any = None
    trace_id: str = ""
    span_id: str = ""
    usage: dict[str, Any] = field(default_factory=dict)


@dataclass
class EvalRun:
    run_id: str
    dataset: Dataset
    keys: dict[str, str]
    attempts: list[Attempt]

    @property
    def pass_rate(self) -> float:
        return sum(a.passed for a in self.attempts) / len(self.attempts) if self.attempts else 0.0

    def results(self) -> list[dict[str, Any]]:
        """The attempts in the shared results shape (``tracelock eval import`` / ``lock check --results``)."""
        by_case = {c.id: c for c in self.dataset.cases}
        out = []
        for a in self.attempts:
            case = by_case[a.case_id]
            record = {
                "run_id": self.run_id,
                "case_id": a.case_id,
                "repeat": a.repeat,
                "dataset_id": self.dataset.id,
                "dataset_version": self.dataset.version,
                "score": a.score,
                "scores": a.scores,
                "passed": a.passed,
                "error": a.error or None,
                "output": a.output,
                "input": case.inputs,
                "expected": case.expected,
                "keys": {k: v for k, v in self.keys.items() if resolve_dimension(k).kind == "key"},
                "labels": dict(case.labels),
                "trace_id": a.trace_id,
                "span_id": a.span_id,
                **{k: v for k, v in a.usage.items() if v is not None},
            }
            if case.provenance or case.source_trace_id:
                record["provenance"] = case.to_record()["provenance"]
            out.append(record)
        return out


def canonical_keys(values: Mapping[str, Any], *, bare_labels: bool = False) -> dict[str, str]:
    """Short or canonical key/label names -> canonical attribute names (user labels prefixed)."""
    option = "labels" if bare_labels else "keys"
    return {
        resolve_dimension(name, option=option, bare_labels=bare_labels).name: str(v)
        for name, v in values.items()
        if v is not None
    }


def _json(value: Any) -> str:
    return (
        value
        if isinstance(value, str)
        else json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    )


def _error_text(where: str, exc: BaseException) -> str:
    return f"{where}: {type(exc).__name__}: {exc}"


def _run_scorers(scorers: list[Scorer], output: Any, case: Case, threshold: float, span: Any) -> Attempt:
    attempt = Attempt(case.id, 0, 0.0, False)
    verdicts: list[bool] = []
    for scorer in scorers:
        try:
            score = scorer.score(output, case)
        except Exception as exc:  # a scorer bug is this attempt's error, not the run's end
            attempt.error = attempt.error or _error_text(f"scorer {scorer.name}", exc)
            verdicts.append(False)
            continue
        passed = score.passed if score.passed is not None else score.value >= threshold
        verdicts.append(passed)
        attempt.scores[scorer.name] = float(score.value)
        event: dict[str, Any] = {
            "gen_ai.evaluation.name": scorer.name,
            "gen_ai.evaluation.score.value": score.value,
        }
        label = score.label or ("pass" if passed else "fail")
        event["gen_ai.evaluation.score.label"] = label
        if score.explanation:
            event["gen_ai.evaluation.explanation"] = score.explanation
        span.add_event("gen_ai.evaluation.result", event)
    attempt.score = sum(attempt.scores.values()) / len(attempt.scores) if attempt.scores else 0.0
    attempt.passed = bool(verdicts) and all(verdicts) and not attempt.error
    return attempt


def run_eval(
    dataset: Dataset,
    task: Callable[..., Any],
    scorers: Iterable[Scorer | Callable[[Any, Case], Any]],
    *,
    keys: Mapping[str, Any] | None = None,
    repeats: int = 1,
    run_id: str | None = None,
    pass_threshold: float = 0.5,
    tracer_provider: TracerProvider | None = None,
    flush: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> EvalRun:
    """Run every case ``repeats`` times through ``task(input)`` (or ``task(input, case)``) and grade it.

    ``keys`` are the shared version keys of what is being evaluated (``prompt_version=``, ``model=``,
    canonical names too). Spans go to ``tracer_provider`` (default: the global one), i.e. through
    whatever exporter the application configured, typically OTLP to a tracelock collector.
    """
    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    scorer_list = [as_scorer(s) for s in scorers]
    if not scorer_list:
        raise ValueError("run_eval needs at least one scorer")
    version_keys = canonical_keys(keys or {})
    run_id = run_id or f"{dataset.id}-{uuid.uuid4().hex[:12]}"
    provider = tracer_provider or trace.get_tracer_provider()
    if isinstance(provider, SdkTracerProvider):
        # the task's own spans must be stamped eval too (else its trace reads as live traffic):
        # install tracelock's processors on the provider, once; no exporter is added
        instrument(tracer_provider=provider, export=False, set_global=False)
    signals = task_signals(provider) if isinstance(provider, SdkTracerProvider) else None
    tracer = provider.get_tracer(_TRACER)
    judges = [s for s in scorer_list if s.judge_model]
    attempts: list[Attempt] = []
    total = len(dataset.cases) * repeats
    for case in dataset.cases:
        labels = canonical_keys(case.labels, bare_labels=True)
        stamped: dict[str, Any] = {**version_keys, **labels}
        for repeat in range(repeats):
            scope = eval_context(
                run_id=run_id,
                case_id=case.id,
                repeat=repeat,
                dataset_id=dataset.id,
                dataset_version=dataset.version,
                judge_model=judges[0].judge_model if judges else None,
                judge_version=judges[0].judge_version if judges else None,
                **stamped,
            )
            with scope, tracer.start_as_current_span(f"eval {dataset.id}") as span:
                span.set_attributes({**scope.keys, **stamped, "tracelock.origin": "eval"})
                span.set_attributes(_case_attributes(case))
                attempt = _attempt(task, case, scorer_list, pass_threshold, span, signals)
                attempt.repeat = repeat
                span.set_attribute("tracelock.eval.score", attempt.score)
                span.set_attribute("tracelock.eval.passed", attempt.passed)
                if attempt.error:
                    span.set_attribute("error.type", attempt.error[:500])
                    span.set_status(Status(StatusCode.ERROR, attempt.error[:500]))
                ctx = span.get_span_context()
                attempt.trace_id, attempt.span_id = f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"
            attempts.append(attempt)
            if progress:
                progress(len(attempts), total)
    if flush and hasattr(provider, "force_flush"):
        provider.force_flush()
    return EvalRun(run_id, dataset, version_keys, attempts)


def _case_attributes(case: Case) -> dict[str, Any]:
    """The case's own fields on its eval span (the view copies them into eval_records)."""
    attributes = {
        "gen_ai.input.messages": _json(case.inputs),
        "tracelock.eval.expected": None if case.expected is None else _json(case.expected),
        "tracelock.eval.artifacts_url": case.artifacts_url,
        "tracelock.eval.source_trace_id": case.source_trace_id,
        "tracelock.eval.source_span_id": case.source_span_id,
    }
    return {k: v for k, v in attributes.items() if v}


def _call(task: Callable[..., Any], case: Case) -> Any:
    return task(case.inputs, case) if takes_case(task) else task(case.inputs)


def _usage(result: Any, fold: SignalFold | None) -> dict[str, Any]:
    """Usage of one attempt: what the task returned, else what its spans said (results-shape names)."""
    returned = result if isinstance(result, EvalOutput) else EvalOutput(result)
    folded_tokens = fold.context_tokens if fold else None
    context = max((v for v in (returned.context_tokens, folded_tokens) if v is not None), default=None)
    parse_failure = bool(returned.parse_failure) or bool(fold and fold.parse_failure)
    return {
        "input_tokens": returned.input_tokens,
        "output_tokens": returned.output_tokens,
        "context_tokens": context,
        "cost_usd": returned.cost_usd,
        "parse_failure": True if parse_failure else returned.parse_failure,
        "artifacts_url": returned.artifacts_url,
    }


_USAGE_ATTRIBUTES = {
    "input_tokens": "gen_ai.usage.input_tokens",
    "output_tokens": "gen_ai.usage.output_tokens",
    "context_tokens": "tracelock.usage.context_tokens",
    "cost_usd": "tracelock.cost.usd",
    "parse_failure": "tracelock.parse_failure",
    "artifacts_url": "tracelock.eval.artifacts_url",
}


def _attempt(
    task: Callable[..., Any],
    case: Case,
    scorers: list[Scorer],
    threshold: float,
    span: Any,
    signals: TaskSignals | None,
) -> Attempt:
    trace_id = span.get_span_context().trace_id
    fold = signals.watch(trace_id) if signals is not None else None
    try:
        result = _call(task, case)
    except Exception as exc:  # the task failing is a result too: recorded, the run goes on
        result, error = None, _error_text("task", exc)
    else:
        error = ""
    finally:
        if signals is not None:
            signals.stop(trace_id)
    usage = _usage(result, fold)
    span.set_attributes({_USAGE_ATTRIBUTES[k]: v for k, v in usage.items() if v is not None})
    if error:
        attempt = Attempt(case.id, 0, 0.0, False, error=error)
    else:
        output = result.output if isinstance(result, EvalOutput) else result
        span.set_attribute("gen_ai.output.messages", _json(output))
        attempt = _run_scorers(scorers, output, case, threshold, span)
        attempt.output = output
    attempt.usage = usage
    return attempt
