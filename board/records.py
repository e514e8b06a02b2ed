"""The record pages: Traces and one Trace, Eval runs (a run's cases, two runs compared), Locks, Seeds."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from tracelock.board import filters, queries
from tracelock.board.render import svg
from tracelock.errors import ConfigError, InputError
from tracelock.lock.files import load_lock_dir
from tracelock.lock.model import LockFile
from tracelock.report.svg import line_chart

if TYPE_CHECKING:
    from tracelock.board.app import Board, PageResult

__all__ = ["RECORD_PAGES"]

_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
KEY_COLUMNS = (
    ("gen_ai.request.model", "RequestModel"),
    ("gen_ai.prompt.version", "PromptVersion"),
    ("tracelock.retriever.version", "RetrieverVersion"),
    ("tracelock.intent", "Intent"),
    ("tracelock.customer.tier", "CustomerTier"),
    ("tracelock.language", "Language"),
    ("gen_ai.usage.input_tokens", "InputTokens"),
    ("gen_ai.usage.output_tokens", "OutputTokens"),
    ("tracelock.usage.context_tokens", "ContextTokens"),
    ("tracelock.cost.usd", "CostUsd"),
    ("tracelock.origin", "Origin"),
)


def trace_list(board: Board, request: Request) -> PageResult:
    where, window = filters.selector(request), filters.window(request)
    feedback = filters.one(request, "feedback", "any") or "any"
    if feedback not in queries.FEEDBACK_FILTERS:
        raise ConfigError(f"feedback must be one of {', '.join(queries.FEEDBACK_FILTERS)}", field="feedback")
    rows = queries.traces(
        board.store, where, window, feedback, filters.limit(request), board.options.max_stale_s
    )
    return "traces.html", {
        "page": "traces",
        "title": "Traces",
        "rows": rows,
        "columns": queries.LIST_DIMENSIONS,
        "form": {
            "where": ",".join(filters.selector_text(where)),
            "feedback": feedback,
            "since": filters.one(request, "since"),
            "until": filters.one(request, "until"),
        },
        "feedback_choices": tuple(queries.FEEDBACK_FILTERS),
    }


def trace(board: Board, request: Request) -> PageResult:
    trace_id = str(request.path_params["trace_id"]).strip().lower()
    if not _TRACE_ID.match(trace_id):
        raise InputError(f"trace id {trace_id!r} is not 32 hex digits")
    detail = queries.trace_detail(board.store, trace_id)
    if not detail["spans"] and not detail["feedback"]:
        raise InputError(
            f"trace {trace_id} is not in {board.store.description} (database {board.store.database})"
        )
    for span in detail["spans"]:
        span["keys"] = [(name, span[col]) for name, col in KEY_COLUMNS if span[col] not in ("", 0, 0.0)]
    locked = [
        case for f in _lock_files(board) for case in f.cases if case.provenance.source_trace_id == trace_id
    ]
    return "trace.html", {
        "page": "traces",
        "title": f"Trace {trace_id}",
        "trace_id": trace_id,
        **detail,
        "lock_cases": locked,
        "datasets": [f.dataset for f in _lock_files(board)],
        "kinds": ("complaint", "thumbs_down", "thumbs_up", "comment"),
    }


def eval_runs(board: Board, request: Request) -> PageResult:
    runs = queries.eval_runs(board.store, filters.limit(request))
    return "evals.html", {"page": "evals", "title": "Eval runs", "runs": runs}


def eval_cases(board: Board, request: Request) -> PageResult:
    run, where = filters.one(request, "run") or None, filters.selector(request)
    rows = queries.eval_cases(board.store, run, where, filters.limit(request, 500))
    return "eval_cases.html", {
        "page": "evals",
        "title": f"Eval run {run}" if run else "Eval cases",
        "run": run,
        "where": filters.selector_text(where),
        "rows": rows,
    }


def eval_compare(board: Board, request: Request) -> PageResult:
    a, b = filters.one(request, "a"), filters.one(request, "b")
    if not a or not b:
        raise ConfigError("compare needs two runs: ?a=RUN&b=RUN", field="a/b")
    rows = queries.eval_compare(board.store, a, b)
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        counts[row["verdict"]] += 1
    return "eval_compare.html", {
        "page": "evals",
        "title": f"{a} vs {b}",
        "a": a,
        "b": b,
        "rows": rows,
        "counts": dict(counts),
    }


def _lock_files(board: Board) -> list[LockFile]:
    if not board.options.locks_dir.is_dir():
        return []
    return load_lock_dir(board.options.locks_dir)


def locks(board: Board, request: Request) -> PageResult:
    dataset = filters.one(request, "dataset") or None
    version_text = filters.one(request, "version")
    if version_text and not version_text.isdigit():
        raise ConfigError(f"version must be a whole number, got {version_text!r}", field="version")
    files = [f for f in _lock_files(board) if not dataset or f.dataset == dataset]
    version = int(version_text) if version_text else None
    history = queries.gate_history(board.store, dataset)
    series: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for run in sorted(history, key=lambda r: r["checked_at"]):
        if run["cases"]:
            series[f"{run['dataset']} {run['release']}".strip()].append(
                (run["checked_at"], run["passed"] / run["cases"])
            )
    previous: dict[str, dict[str, str]] = {}
    for run in sorted(history, key=lambda r: r["checked_at"]):
        statuses = dict(run.pop("statuses"))
        before = previous.get(run["dataset"], {})
        run["changed"] = (
            sorted(
                (case, before.get(case, "new"), status)
                for case, status in statuses.items()
                if before.get(case) != status
            )
            if before
            else []
        )
        previous[run["dataset"]] = statuses
    return "locks.html", {
        "page": "locks",
        "title": "Locks",
        "files": [(f, f.cases_at(version)) for f in files],
        "version": version,
        "dataset": dataset or "",
        "locks_dir": str(board.options.locks_dir),
        "history": history,
        "trend": svg(line_chart(dict(series), y_label="lock pass rate")) if series else None,
        "added": filters.one(request, "added"),
    }


def seeds(board: Board, request: Request) -> PageResult:
    rule, where, window = (
        filters.one(request, "rule") or None,
        filters.selector(request),
        filters.window(request),
    )
    data = queries.seeds(board.store, rule, where, window, filters.limit(request))
    return "seeds.html", {
        "page": "seeds",
        "title": "Seeds",
        **data,
        "datasets": [f.dataset for f in _lock_files(board)],
        "form": {
            "rule": rule or "",
            "where": ",".join(filters.selector_text(where)),
            "since": filters.one(request, "since"),
            "until": filters.one(request, "until"),
        },
    }


RECORD_PAGES: list[tuple[str, Any]] = [
    ("/traces", trace_list),
    ("/trace/{trace_id}", trace),
    ("/evals", eval_runs),
    ("/evals/cases", eval_cases),
    ("/evals/compare", eval_compare),
    ("/locks", locks),
    ("/seeds", seeds),
]
