"""Read side of the join: the divergence and coverage reports, computed in ClickHouse from the SQL
templates in ``deploy/sql/queries`` and rendered as a table, JSON, CSV, Markdown or a self-contained
HTML page with inline SVG charts.
"""

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
