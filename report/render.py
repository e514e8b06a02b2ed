"""Text renderings of the reports: a rich table with a findings summary (default), JSON (the full
structure, for machines), CSV (flat numbers), Markdown (the table, for pull requests).

Findings are sentences generated from the numbers, never canned text: the demo prints exactly what a
user's data would print.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tracelock.errors import ConfigError
from tracelock.report.coverage import CoverageReport
from tracelock.report.divergence import ATTENTION, DivergenceReport, SliceResult
from tracelock.report.failures import ONLINE_TO_OFFLINE
from tracelock.report.stats import RateChange

__all__ = [
    "coverage_columns",
    "divergence_columns",
    "divergence_findings",
    "failure_columns",
    "render_coverage",
    "render_divergence",
    "trace_link",
]

_ARMS = ("baseline", "candidate")


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _p(p_value: float | None) -> str:
    if p_value is None:
        return "n too small"
    return "p<0.001" if p_value < 0.001 else f"p={p_value:.3f}"


def change(c: RateChange) -> str:
    """``3.1% → 12.0% (+8.9 pp*)``; the star marks p < 0.05."""
    text = f"{pct(c.baseline.rate)} → {pct(c.candidate.rate)}"
    if c.delta is not None:
        text += f" ({c.delta * 100:+.1f} pp{'*' if c.significant() else ''})"
    return text


def _num(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def _pair(s: SliceResult, column: str, digits: int = 0) -> str:
    return f"{_num(s.mean('baseline', column), digits)} → {_num(s.mean('candidate', column), digits)}"


def divergence_columns(s: SliceResult) -> dict[str, Any]:
    """Formatted cells of one slice, in display order (table and Markdown)."""
    return {
        "slice": s.label,
        "eval cases b/c": f"{s.eval_cases('baseline')}/{s.eval_cases('candidate')}",
        "offline pass": change(s.offline_pass)
        + (" (too few cases to judge)" if s.offline_basis == "too_few_cases" else ""),
        "traces b/c": f"{s.online['baseline']['traces']}/{s.online['candidate']['traces']}",
        "complaint rate": change(s.online_rates["complaint_rate"]),
        "thumbs-down": change(s.online_rates["thumbs_down_rate"]),
        "parse failures": change(s.online_rates["parse_failure_rate"]),
        "empty retrieval": change(s.online_rates["empty_retrieval_rate"]),
        "context tokens": _pair(s, "mean_context_tokens"),
        "cost usd": _pair(s, "mean_cost_usd", 4),
        "flags": " ".join(s.flags),
        "example": (s.examples() or [""])[0],
    }


def _flat(s: SliceResult) -> dict[str, Any]:
    """Raw numbers of one slice (CSV)."""
    row: dict[str, Any] = {"slice": s.label, **{f"slice.{k}": v for k, v in s.slice.items()}}
    for arm in _ARMS:
        row[f"eval_cases_{arm}"] = s.eval_cases(arm)
        row[f"eval_attempts_{arm}"] = s.offline[arm]["attempts"]
        row[f"pass_rate_{arm}"] = getattr(s.offline_pass, arm).rate
        row[f"mean_score_{arm}"] = s.offline[arm]["mean_score"]
    row["pass_rate_p_value"] = s.offline_pass.p_value
    row["offline_basis"] = s.offline_basis
    for arm in _ARMS:
        row[f"traces_{arm}"] = s.online[arm]["traces"]
    for name, c in s.online_rates.items():
        row[f"{name}_baseline"], row[f"{name}_candidate"] = c.baseline.rate, c.candidate.rate
        row[f"{name}_p_value"] = c.p_value
    for arm in _ARMS:
        row[f"mean_context_tokens_{arm}"] = s.mean(arm, "mean_context_tokens")
        row[f"mean_cost_usd_{arm}"] = s.mean(arm, "mean_cost_usd")
    row["flags"] = " ".join(s.flags)
    row["example_trace_ids"] = " ".join(s.examples())
    return row


def divergence_findings(report: DivergenceReport) -> list[str]:
    """Plain sentences stating what the numbers show, most important first."""
    o = report.overall
    lines = [
        f"Offline: pass rate {change(o.offline_pass)} ({_p(o.offline_pass.p_value)}) on "
        f"{o.eval_cases('baseline')}/{o.eval_cases('candidate')} eval cases (baseline/candidate).",
        f"Online: complaint rate {change(o.online_rates['complaint_rate'])} on "
        f"{o.online['baseline']['traces']}/{o.online['candidate']['traces']} traces.",
    ]
    for s in report.slices:
        if not s.flagged:
            continue
        worse = [
            f"{name.removesuffix('_rate').replace('_', ' ')} {change(c)} ({_p(c.p_value)})"
            for name, c in s.online_rates.items()
            if c.significant(report.settings["alpha"]) and (c.delta or 0) > 0
        ]
        cases = f"{s.eval_cases('baseline')}/{s.eval_cases('candidate')}"
        if "diverges" in s.flags:
            text = f"DIVERGES {s.label}: offline win in this slice ({change(s.offline_pass)}), "
            text += f"but online {'; '.join(worse)}; eval cases {cases}"
        else:
            text = f"BLIND SPOT {s.label}: online {'; '.join(worse)}, while the candidate won offline "
            text += f"overall; this slice has {cases} eval cases, too few to judge it offline"
        if "context_tokens_up" in s.flags:
            text += f"; context tokens {_pair(s, 'mean_context_tokens')}"
        if s.failures is not None and s.failures.matched:
            same = [f"{kind.replace('_', ' ')} {_share(s, kind)} of attempts" for kind in s.failures.matched]
            text += f"; the eval runs fail the same way: {', '.join(same)}"
        lines.append(text + ".")
    thin = [s.label for s in report.slices if {"no_eval_cases", "few_eval_cases"} & set(s.flags)]
    if thin:
        lines.append(
            f"Few or no eval cases (< {report.settings['min_eval_cases']} per arm): {'; '.join(thin)}."
        )
    return lines


def _share(s: SliceResult, kind: str) -> str:
    assert s.failures is not None
    base, cand = s.failures.share(kind, "baseline"), s.failures.share(kind, "candidate")
    return f"{pct(base.rate)} → {pct(cand.rate)}"


def failure_columns(report: DivergenceReport) -> list[dict[str, Any]]:
    """One row per slice and failure type: the offline share of attempts beside the online rate."""
    rows = []
    for s in [report.overall, *report.slices]:
        if s.failures is None:
            continue
        online = {prefix: name for name, prefix in ONLINE_TO_OFFLINE.items()}
        kinds = sorted(set(online) | {n.split(":", 1)[0] for n in s.failures.classes} - {"assertion"})
        named = sorted(n for n in s.failures.classes if n.startswith(("assertion:", "exception:")))
        for kind in [*kinds, *named]:
            rate = s.online_rates.get(online.get(kind, ""))
            rows.append(
                {
                    "slice": s.label,
                    "failure type": kind,
                    "offline attempts": _share(s, kind),
                    "online traces": change(rate) if rate is not None else "-",
                    "same way": "yes" if kind in s.failures.matched else "",
                }
            )
        for name, by_arm in sorted(s.failures.scorers.items()):
            rows.append(
                {
                    "slice": s.label,
                    "failure type": f"scorer {name} pass rate",
                    "offline attempts": f"{pct(by_arm['baseline'].rate)} → {pct(by_arm['candidate'].rate)}",
                    "online traces": "-",
                    "same way": "",
                }
            )
    return rows


def _write_csv(rows: list[dict[str, Any]]) -> str:
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def trace_link(trace_id: str, trace_url: str | None) -> str | None:
    """The trace viewer URL for a trace id, from a template such as
    ``http://jaeger:16686/trace/{trace_id}`` (None without a template or an id)."""
    if not trace_url or not trace_id:
        return None
    if "{trace_id}" not in trace_url or not trace_url.startswith(("http://", "https://")):
        raise ConfigError("must be an http(s) URL containing {trace_id}", field="--trace-url")
    return trace_url.replace("{trace_id}", trace_id)


def _markdown(rows: list[dict[str, Any]], trace_url: str | None = None) -> str:
    if not rows:
        return "(no rows)\n"
    columns = list(rows[0])

    def cell(row: dict[str, Any], column: str) -> str:
        text = str(row[column]).replace("|", "\\|")
        link = trace_link(text, trace_url) if column == "example" else None
        return f"[{text}]({link})" if link else text

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r, c) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _rich_table(
    title: str, rows: list[dict[str, Any]], console: Console, highlight: list[bool] | None = None
) -> None:
    """Rows as a rich table; ``highlight`` marks rows to print in red (none by default)."""
    table = Table(title=title, show_lines=True)
    for column in rows[0] if rows else ["(no rows)"]:
        table.add_column(column, overflow="fold")
    for row, red in zip(rows, highlight or [False] * len(rows), strict=True):
        cells = (str(v).replace(" ", "\n") if k == "flags" else str(v) for k, v in row.items())
        table.add_row(*cells, style="bold red" if red else None)
    console.print(table)


# The terminal shows two tables so each fits a normal terminal: offline vs the headline online outcomes,
# then the other online signals. Markdown and HTML keep one wide table.
_HEADLINE = (
    "slice",
    "eval cases b/c",
    "offline pass",
    "traces b/c",
    "complaint rate",
    "thumbs-down",
    "flags",
)


def _divergence_tables(rows: list[dict[str, Any]], console: Console) -> None:
    red = [bool(ATTENTION & set(str(row["flags"]).split())) for row in rows]
    headline = [{k: row[k] for k in _HEADLINE} for row in rows]
    others = [{k: v for k, v in row.items() if k == "slice" or k not in _HEADLINE} for row in rows]
    _rich_table("offline vs online per slice (* = p < 0.05)", headline, console, red)
    _rich_table("other online signals per slice", others, console, red)


def render_divergence(
    report: DivergenceReport, fmt: str, console: Console, trace_url: str | None = None
) -> str | None:
    """Return the text for json/csv/markdown; print table output to ``console`` and return None."""
    rows = [report.overall, *report.slices]
    if fmt == "json":
        return json.dumps(report.as_dict(), indent=2, default=str) + "\n"
    if fmt == "csv":
        return _write_csv([_flat(s) for s in rows])
    findings = divergence_findings(report)
    head = (
        f"Divergence: baseline {_sel(report.baseline)} vs candidate {_sel(report.candidate)}, "
        f"by {', '.join(report.by) or '(nothing)'}, window {report.window}"
    )
    if fmt == "markdown":
        bullets = "\n".join(f"- {line}" for line in findings)
        failures = f"\n### failure types, offline beside online\n\n{_markdown(failure_columns(report))}"
        return (
            f"## {head}\n\n{bullets}\n\n{_markdown([divergence_columns(s) for s in rows], trace_url)}"
            + failures
        )
    console.print(f"[bold]{head}[/]", highlight=False)
    for line in findings:
        flagged = line.startswith(("DIVERGES", "BLIND SPOT"))
        console.print(("[bold red]" if flagged else "") + escape(line), highlight=False)
    _divergence_tables([divergence_columns(s) for s in rows], console)
    failure_rows = failure_columns(report)
    if failure_rows:
        _rich_table("failure types, offline (share of eval attempts) beside online", failure_rows, console)
    return None


def _sel(selector: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in selector.items())


def coverage_columns(report: CoverageReport) -> list[dict[str, Any]]:
    return [
        {
            "rank": r.rank,
            "slice": r.label,
            "gap": f"{r.gap:g}",
            "bad traces": r.bad_traces,
            "uncovered": r.uncovered_bad_traces,
            "complaints": r.complaint_traces,
            "thumbs-down": r.thumbs_down_traces,
            "traces": r.traces,
            "bad rate": pct(r.bad_traces / r.traces if r.traces else None),
            "eval cases": r.eval_cases,
            "locks": r.locks,
            "flags": " ".join(r.flags),
            "example": (r.examples or [""])[0],
        }
        for r in report.rows
    ]


def render_coverage(
    report: CoverageReport, fmt: str, console: Console, trace_url: str | None = None
) -> str | None:
    if fmt == "json":
        return json.dumps(report.as_dict(), indent=2, default=str) + "\n"
    if fmt == "csv":
        flat = [
            {
                k: v
                for k, v in r.as_dict().items()
                if k not in ("bad_rate", "slice", "flags", "example_trace_ids")
            }
            | {f"slice.{k}": v for k, v in r.slice.items()}
            | {"flags": " ".join(r.flags), "example_trace_ids": " ".join(r.examples)}
            for r in report.rows
        ]
        return _write_csv(flat)
    head = f"Coverage: complaint and thumbs-down slices by {', '.join(report.by)}, window {report.window}"
    if report.filter:
        head += f", traces with {_sel(report.filter)}"
    if fmt == "markdown":
        return f"## {head}\n\n{_markdown(coverage_columns(report), trace_url)}"
    console.print(f"[bold]{head}[/]", highlight=False)
    if not report.rows:
        console.print("no complaint or thumbs-down traces in the window")
        return None
    enough = report.settings.get("min_eval_cases", "")
    title = f"where eval coverage is thin (ranked by gap; a slice is covered from {enough} eval cases)"
    _rich_table(title, coverage_columns(report), console)
    return None
