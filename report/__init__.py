"""Read side of the join: the divergence and coverage reports, computed in ClickHouse from the SQL
templates in ``deploy/sql/queries`` and rendered as a table, JSON, CSV, Markdown or a self-contained
HTML page with inline SVG charts.

The names below load on first use (PEP 562): every ``tracelock`` command imports
``tracelock.report.thresholds`` for its option defaults, and must not pay for the report code to start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tracelock.lazy import lazy_attributes

if TYPE_CHECKING:
    from tracelock.report.coverage import CoverageReport, coverage_report
    from tracelock.report.divergence import DivergenceReport, divergence_report
    from tracelock.report.query import ReportQuery, Window

__all__ = [
    "CoverageReport",
    "DivergenceReport",
    "ReportQuery",
    "Window",
    "coverage_report",
    "divergence_report",
]

_MODULE_OF = {
    "CoverageReport": "coverage",
    "coverage_report": "coverage",
    "DivergenceReport": "divergence",
    "divergence_report": "divergence",
    "ReportQuery": "query",
    "Window": "query",
}


__getattr__ = lazy_attributes(__name__, _MODULE_OF)
