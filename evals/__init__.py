"""Evals that carry observability metadata: datasets, scorers and judges, a runner that emits one eval
span per case attempt through the application's OTLP exporter, and ``tracelock eval import`` for
results produced by other tools.

    from tracelock.evals import Case, Dataset, judge, run_eval

    run = run_eval(dataset, task, [exact_match, judge(llm_grade, model="gpt-4o", version="2024-08-06")],
                   keys={"prompt_version": "refund-v4", "model": "gpt-4o-mini"}, repeats=3)
"""

from tracelock.evals.dataset import Case, Dataset
from tracelock.evals.importer import EvalImportError, ImportResult, import_results
from tracelock.evals.runner import Attempt, EvalOutput, EvalRun, run_eval
from tracelock.evals.scorers import Score, Scorer, judge

__all__ = [
    "Attempt",
    "Case",
    "Dataset",
    "EvalImportError",
    "EvalOutput",
    "EvalRun",
    "ImportResult",
    "Score",
    "Scorer",
    "import_results",
    "judge",
    "run_eval",
]
