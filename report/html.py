"""One self-contained HTML page for the reports: findings, inline SVG charts, the tables. No script,
no external stylesheet or font, so it can be mailed, attached to a CI run or opened offline.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from html import escape
from typing import Any

from tracelock.report.coverage import CoverageReport
from tracelock.report.divergence import ATTENTION, DivergenceReport
from tracelock.report.render import coverage_columns, divergence_columns, divergence_findings, trace_link
from tracelock.report.svg import DeltaBar, count_bars, delta_bars, line_chart

__all__ = ["render_html", "timeline_series"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 24px; color: #111827; max-width: 1400px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; }
table { border-collapse: collapse; font-size: 12px; margin-top: 8px; }
th, td { border: 1px solid #d1d5db; padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #f3f4f6; } tr.diverges td { background: #fef2f2; font-weight: 600; }
li.diverges { color: #991b1b; font-weight: 600; } .meta { color: #4b5563; font-size: 13px; }
code { font-size: 11px; }
"""
_MAX_SERIES = 6


def _cell(column: str, value: Any, trace_url: str | None) -> str:
    text = escape(str(value))
    link = trace_link(str(value), trace_url) if column == "example" else None
    return f'<td><a href="{escape(link)}">{text}</a></td>' if link else f"<td>{text}</td>"


def _table(rows: list[dict[str, Any]], trace_url: str | None = None) -> str:
    if not rows:
        return "<p>(no rows)</p>"
    head = "".join(f"<th>{escape(str(c))}</th>" for c in rows[0])
    body = []
    for row in rows:
        cls = ' class="diverges"' if ATTENTION & set(str(row.get("flags", "")).split()) else ""
        cells = "".join(_cell(c, v, trace_url) for c, v in row.items())
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def timeline_series(report: DivergenceReport) -> dict[str, list[tuple[datetime, float]]]:
    """Complaint rate per bucket: all traffic, plus the flagged and the largest slices."""
    totals: dict[datetime, list[int]] = defaultdict(lambda: [0, 0])
    per_slice: dict[tuple[str, ...], dict[datetime, tuple[int, int]]] = defaultdict(dict)
    for row in report.timeline:
        totals[row["bucket"]][0] += row["complaint_traces"]
        totals[row["bucket"]][1] += row["traces"]
        per_slice[tuple(row["slice"])][row["bucket"]] = (row["complaint_traces"], row["traces"])
    series = {"all traffic": [(t, c / n) for t, (c, n) in sorted(totals.items()) if n]}
    if report.by:
        ordered = [s for s in report.slices if s.flagged] + report.slices
        for s in ordered:
            key = tuple(s.slice.values())
            name = ", ".join(v or "(none)" for v in key)
            if name in series or key not in per_slice or len(series) > _MAX_SERIES:
                continue
            series[name] = [(t, c / n) for t, (c, n) in sorted(per_slice[key].items()) if n]
    return series


def _divergence_section(report: DivergenceReport, trace_url: str | None) -> str:
    findings = "".join(
        f'<li class="diverges">{escape(x)}</li>'
        if x.startswith(("DIVERGES", "BLIND SPOT"))
        else f"<li>{escape(x)}</li>"
        for x in divergence_findings(report)
    )
    bars = [
        DeltaBar(
            s.label,
            None if s.offline_pass.delta is None else s.offline_pass.delta * 100,
            None
            if s.online_rates["complaint_rate"].delta is None
            else s.online_rates["complaint_rate"].delta * 100,
            s.online_rates["complaint_rate"].significant(report.settings["alpha"]),
        )
        for s in [report.overall, *report.slices]
    ]
    base = ",".join(f"{k}={v}" for k, v in report.baseline.items())
    cand = ",".join(f"{k}={v}" for k, v in report.candidate.items())
    rollout = f"first candidate trace {report.rollout_at:%Y-%m-%d %H:%M} UTC" if report.rollout_at else ""
    return f"""
<section id="divergence">
<h1>Divergence: {escape(base)} → {escape(cand)}</h1>
<p class="meta">by {escape(", ".join(report.by) or "(nothing)")} · window {escape(report.window)} · {
        escape(rollout)
    }</p>
<ul>{findings}</ul>
<h2>Offline vs online change per slice (candidate - baseline)</h2>
{delta_bars(bars, offline_name="offline pass rate", online_name="online complaint rate")}
<h2>Complaint rate over time around the rollout</h2>
{
        line_chart(
            timeline_series(report),
            marker=report.rollout_at,
            marker_label="candidate first seen",
            y_label="complaint rate",
        )
    }
<h2>Per slice</h2>
{_table([divergence_columns(s) for s in [report.overall, *report.slices]], trace_url)}
<p class="meta">Rates are shown baseline → candidate with the change in percentage points; * marks p &lt; 0.05
(two-proportion z-test; not run when a side has fewer than 5 units).
Intervals (95 % Wilson) are in the JSON output.</p>
</section>"""


def _coverage_section(report: CoverageReport, trace_url: str | None) -> str:
    rows = [(r.label, r.bad_traces, r.eval_cases) for r in report.rows[:20]]
    return f"""
<section id="coverage">
<h1>Coverage: where complaints are and eval cases are not</h1>
<p class="meta">by {escape(", ".join(report.by))} · window {escape(report.window)}</p>
{count_bars(rows, first_name="complaint + thumbs-down traces", second_name="eval cases")}
{_table(coverage_columns(report), trace_url)}
</section>"""


def render_html(
    divergence: DivergenceReport | None = None,
    coverage: CoverageReport | None = None,
    *,
    title: str = "tracelock",
    trace_url: str | None = None,
) -> str:
    """The page: a divergence section, a coverage section, or both; example trace ids link to
    ``trace_url`` (a template with ``{trace_id}``) when given."""
    sections = []
    if divergence is not None:
        sections.append(_divergence_section(divergence, trace_url))
    if coverage is not None:
        sections.append(_coverage_section(coverage, trace_url))
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>{''.join(sections)}</body></html>\n"
    )
