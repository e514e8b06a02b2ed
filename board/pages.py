"""The report pages: Rollouts, Divergence and the Case board (coverage).

Divergence and coverage are computed by :mod:`tracelock.report`, exactly as ``tracelock report`` does;
these functions only read the filters, add the links a slice opens, and pick the charts.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tracelock.board import filters, queries
from tracelock.board.records import RECORD_PAGES
from tracelock.board.render import page_url, svg
from tracelock.errors import ConfigError, InputError
from tracelock.report import coverage_report, divergence_report
from tracelock.report.dimensions import Dimension, parse_assignments
from tracelock.report.divergence import ATTENTION
from tracelock.report.html import timeline_series
from tracelock.report.render import divergence_columns, divergence_findings
from tracelock.report.svg import DeltaBar, count_bars, delta_bars, line_chart

if TYPE_CHECKING:
    from tracelock.board.app import Board, PageResult

__all__ = ["PAGES"]

_MAX_SERIES = 6


def _series(
    buckets: list[dict[str, Any]], versions: list[str], value: str, per: str | None
) -> dict[str, list[tuple[datetime, float]]]:
    """Per version, ``value / per`` (or the version's share of all traffic when ``per`` is None)."""
    totals: dict[datetime, int] = defaultdict(int)
    for row in buckets:
        totals[row["bucket"]] += row["traces"]
    out: dict[str, list[tuple[datetime, float]]] = {}
    for version in versions:
        points = []
        for row in buckets:
            if row["version"] != version:
                continue
            base = row[per] if per else totals[row["bucket"]]
            if base:
                points.append((row["bucket"], row[value] / base))
        out[version or "(none)"] = points
    return out


def rollouts(board: Board, request: Request) -> PageResult:
    (key,) = filters.dimensions(request, "key", "prompt")[:1]
    window = filters.window(request)
    data = queries.rollouts(board.store, key, window, board.options.max_stale_s)
    versions = data["versions"]
    shown = [v["version"] for v in sorted(versions, key=lambda v: -v["traces"])[:_MAX_SERIES]]
    shown.sort(key=lambda name: next(v["first_seen"] for v in versions if v["version"] == name))
    marker = versions[-1]["first_seen"] if len(versions) > 1 else None
    label = f"{versions[-1]['version']} first seen" if marker else ""
    charts = []
    if versions:
        for title, value, per in (
            ("traffic share", "traces", None),
            ("complaint rate", "complaints", "traces"),
            ("thumbs-down rate", "thumbs_down", "traces"),
        ):
            series = _series(data["buckets"], shown, value, per)
            charts.append((title, svg(line_chart(series, marker=marker, marker_label=label, y_label=title))))
    for v in versions:
        v["divergence"] = None
    for older, newer in pairwise(versions):
        newer["divergence"] = page_url(
            "/divergence",
            baseline=f"{key.short}={older['version']}",
            candidate=f"{key.short}={newer['version']}",
            by="customer.tier",
        )
    return "rollouts.html", {
        "page": "rollouts",
        "title": f"Rollouts by {key.short}",
        "key": key,
        "versions": versions,
        "charts": charts,
        "bucket_seconds": data["bucket_seconds"],
        "since": filters.one(request, "since"),
        "until": filters.one(request, "until"),
        "keys": ("prompt", "model", "retriever", "guardrail", "bucket"),
    }


def _latest_two(board: Board, key: Dimension) -> tuple[str, str] | None:
    versions = queries.versions_by_first_seen(board.store, key)
    return (versions[-2], versions[-1]) if len(versions) >= 2 else None


def divergence(board: Board, request: Request) -> PageResult | Response:
    baseline_text, candidate_text = filters.one(request, "baseline"), filters.one(request, "candidate")
    if not baseline_text and not candidate_text:
        (key,) = filters.dimensions(request, "key", "prompt")[:1]
        pair = _latest_two(board, key)
        if pair is None:
            return "empty.html", {
                "page": "divergence",
                "title": "Divergence",
                "message": f"fewer than two {key.short} versions in production traces: nothing to compare",
                "next": ["tracelock demo", "tracelock collector  # then send traces of two versions"],
            }
        target = page_url(
            "/divergence",
            baseline=f"{key.short}={pair[0]}",
            candidate=f"{key.short}={pair[1]}",
            by=filters.one(request, "by") or "customer.tier",
        )
        return RedirectResponse(target, status_code=303)
    if not baseline_text or not candidate_text:
        raise ConfigError("give both baseline and candidate (KEY=VALUE)", field="baseline/candidate")
    base = parse_assignments([baseline_text], option="baseline")
    cand = parse_assignments([candidate_text], option="candidate")
    by, window = filters.dimensions(request, "by", "customer.tier"), filters.window(request)
    dataset = filters.one(request, "dataset") or None
    report = divergence_report(
        board.store, base, cand, by, window, dataset=dataset, max_stale_s=board.options.max_stale_s
    )
    alpha = report.settings["alpha"]
    bars = [
        DeltaBar(
            s.label,
            None if s.offline_pass.delta is None else s.offline_pass.delta * 100,
            None if (d := s.online_rates["complaint_rate"].delta) is None else d * 100,
            s.online_rates["complaint_rate"].significant(alpha),
        )
        for s in [report.overall, *report.slices]
    ]
    span: dict[str, Any] = {"since": filters.one(request, "since"), "until": filters.one(request, "until")}
    rows = []
    for s in [report.overall, *report.slices]:
        sliced = [f"{name}={value}" for name, value in s.slice.items() if value]
        rows.append(
            {
                "cells": divergence_columns(s),
                "flags": s.flags,
                "diverges": s.flagged,  # diverges or blind_spot: the slice needs a look
                "attention": " ".join(f for f in s.flags if f in ATTENTION),
                "traces_url": page_url("/traces", where=[candidate_text, *sliced], feedback="bad", **span),
                "evals_url": page_url("/evals/cases", where=[candidate_text, *sliced]),
                "examples": s.examples(),
            }
        )
    return "divergence.html", {
        "page": "divergence",
        "title": "Divergence",
        "report": report,
        "findings": divergence_findings(report),
        "delta_chart": svg(
            delta_bars(bars, offline_name="offline pass rate", online_name="online complaint rate")
        ),
        "timeline_chart": svg(
            line_chart(
                timeline_series(report),
                marker=report.rollout_at,
                marker_label="candidate first seen",
                y_label="complaint rate",
            )
        ),
        "rows": rows,
        "form": {
            "baseline": baseline_text,
            "candidate": candidate_text,
            "by": ",".join(report.by),
            "since": filters.one(request, "since"),
            "until": filters.one(request, "until"),
            "dataset": dataset or "",
        },
    }


def coverage(board: Board, request: Request) -> PageResult:
    by, window = filters.dimensions(request, "by", "intent,customer.tier"), filters.window(request)
    where = filters.selector(request)
    dataset = filters.one(request, "dataset") or None
    try:
        report = coverage_report(
            board.store,
            by,
            window,
            selector=where,
            dataset=dataset,
            limit=200,
            max_stale_s=board.options.max_stale_s,
        )
    except InputError as exc:
        return "empty.html", {
            "page": "coverage",
            "title": "Case board",
            "message": str(exc),
            "next": ["tracelock demo", "tracelock feedback add --trace-id ID --kind complaint"],
        }
    # A case (eval or lock) covers at most one failure: what is left is the slice's uncovered bad traces.
    uncovered = {r.rank: max(0, r.bad_traces - r.eval_cases - r.locks) for r in report.rows}
    ranked = sorted(report.rows, key=lambda r: (-uncovered[r.rank], -r.bad_traces, r.rank))
    where_text = filters.selector_text(where)
    rows: list[dict[str, Any]] = []
    for row in ranked:
        sliced = [f"{name}={value}" for name, value in row.slice.items() if value]
        rows.append(
            {
                "row": row,
                "blind": row.eval_cases == 0 and row.locks == 0,
                "uncovered": uncovered[row.rank],
                "traces_url": page_url("/traces", where=[*where_text, *sliced], feedback="bad"),
                "seeds_url": page_url("/seeds", where=[*where_text, *sliced]),
                "evals_url": page_url("/evals/cases", where=sliced),
            }
        )
    # values only ("refund_request, enterprise"): the chart's label column is narrow
    chart_rows = [
        (", ".join(v or "(none)" for v in r["row"].slice.values()) or "all traffic", r["row"].bad_traces,
         r["row"].eval_cases)
        for r in rows[:20]
    ]  # fmt: skip
    return "coverage.html", {
        "page": "coverage",
        "title": "Case board",
        "report": report,
        "rows": rows,
        "chart": svg(
            count_bars(chart_rows, first_name="complaint + thumbs-down traces", second_name="eval cases")
        )
        if rows
        else None,
        "form": {
            "by": ",".join(filters.one(request, "by", "intent,customer.tier").split(",")),
            "where": ",".join(where_text),
            "where_items": where_text,
            "since": filters.one(request, "since"),
            "until": filters.one(request, "until"),
            "dataset": dataset or "",
        },
    }


PAGES: list[tuple[str, Any]] = [
    ("/rollouts", rollouts),
    ("/divergence", divergence),
    ("/coverage", coverage),
    *RECORD_PAGES,
]
