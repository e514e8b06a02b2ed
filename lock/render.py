"""What the gate prints and writes: a rich table, JUnit XML for CI systems, a markdown PR comment."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tracelock.lock.gate import CaseOutcome, GateReport

__all__ = ["print_report", "report_markdown", "write_junit", "write_markdown"]

_STYLE = {"passed": "green", "flaky": "yellow", "regressed": "red", "missing": "red"}
_ICON = {"passed": "✅", "flaky": "⚠️", "regressed": "❌", "missing": "❓"}


def _change(outcome: CaseOutcome, report: GateReport) -> str:
    if not report.baseline_label:
        return ""
    if outcome.baseline is None:
        return "new"
    return outcome.change


def _baseline_text(outcome: CaseOutcome) -> str:
    b = outcome.baseline
    return f"{b.status} {b.passes}/{b.attempts}" if b else ""


def print_report(report: GateReport, console: Console) -> None:
    """Table of every case (worst first), then unmatched results and the verdict."""
    table = Table(title="tracelock lock check", show_lines=False)
    for name in ("case", "v", "status", "passes", "source trace", "why"):
        table.add_column(name, overflow="fold")
    if report.baseline_label:
        table.add_column(f"baseline {report.baseline_label}", overflow="fold")
        table.add_column("change")
    order = {"regressed": 0, "missing": 1, "flaky": 2, "passed": 3}
    for o in sorted(report.outcomes, key=lambda o: (order[o.status], o.case.dataset, o.case.id)):
        row = [
            f"{o.case.dataset}/{o.case.id}",
            str(o.dataset_version),
            f"[{_STYLE[o.status]}]{o.status}[/]",
            f"{o.passes}/{o.attempts} (need {o.required})",
            o.case.provenance.source_trace_id[:16],
            escape("; ".join(o.failures[:2]) + (f" (+{len(o.failures) - 2})" if len(o.failures) > 2 else "")),
        ]
        if report.baseline_label:
            change = _change(o, report)
            row += [_baseline_text(o), f"[red]{change}[/]" if change == "worse" else change]
        table.add_row(*row)
    console.print(table)
    if report.unmatched:
        ids = sorted({f"{a.dataset_id + '/' if a.dataset_id else ''}{a.case_id}" for a in report.unmatched})
        console.print(
            f"[yellow]{len(report.unmatched)} result(s) match no lock case:[/] {', '.join(ids[:10])}"
            + (" …" if len(ids) > 10 else ""),
            highlight=False,
        )
    for o in report.outcomes:
        if not o.holds:
            trace = o.case.provenance.source_trace_id or "none recorded"
            if o.failing_eval_traces:
                trace += f"; eval trace {o.failing_eval_traces[0]}"
            console.print(
                f"[red]{o.status.upper()}[/] {o.case.dataset}/{o.case.id} (source trace {trace}): "
                + (o.failures[0] if o.failures else ""),
                highlight=False,
                soft_wrap=True,
            )
    style = "red" if report.failed else "green"
    for prompt in report.prompts:
        colour = {"unchanged": "green", "changed": "yellow", "missing": "yellow"}[prompt.status]
        console.print(f"[{colour}]{escape(prompt.message())}[/]", highlight=False)
    console.print(f"[{style}]{report.summary()}[/]", highlight=False)


def write_junit(report: GateReport, path: Path) -> None:
    """JUnit XML: one ``testsuite`` per dataset, one ``testcase`` per lock case.

    regressed -> ``<failure>``, missing -> ``<error type="missing">``, flaky -> passes with a
    ``<system-out>`` note; the source trace and pass counts go in ``<properties>``.
    """
    root = ET.Element("testsuites", name="tracelock lock check")
    by_dataset: dict[str, list[CaseOutcome]] = {}
    for o in report.outcomes:
        by_dataset.setdefault(o.case.dataset, []).append(o)
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for dataset, outcomes in by_dataset.items():
        failures = sum(o.status == "regressed" for o in outcomes)
        errors = sum(o.status == "missing" for o in outcomes)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=f"locks.{dataset}",
            tests=str(len(outcomes)),
            failures=str(failures),
            errors=str(errors),
            skipped="0",
            time="0",
        )
        totals["tests"] += len(outcomes)
        totals["failures"] += failures
        totals["errors"] += errors
        for o in outcomes:
            case = ET.SubElement(suite, "testcase", name=o.case.id, classname=f"locks.{dataset}", time="0")
            props = ET.SubElement(case, "properties")
            for name, value in (
                ("dataset_version", str(o.dataset_version)),
                ("status", o.status),
                ("passes", f"{o.passes}/{o.attempts}"),
                ("required", str(o.required)),
                ("source_trace_id", o.case.provenance.source_trace_id),
                ("failing_eval_trace_ids", ",".join(o.failing_eval_traces)),
                ("baseline", _baseline_text(o)),
                ("change", _change(o, report)),
            ):
                if value:
                    ET.SubElement(props, "property", name=name, value=value)
            detail = "\n".join(o.failures)
            trace = o.case.provenance.source_trace_id or "none recorded"
            if o.status == "regressed":
                message = (
                    f"regressed: {o.passes}/{o.attempts} passed, {o.required} needed; source trace {trace}"
                )
                ET.SubElement(case, "failure", message=message, type="regressed").text = detail
            elif o.status == "missing":
                ET.SubElement(
                    case, "error", message=f"no result for lock case (source trace {trace})", type="missing"
                ).text = detail
            elif o.status == "flaky":
                ET.SubElement(case, "system-out").text = f"flaky: {o.passes}/{o.attempts} passed\n{detail}"
    for name, total in totals.items():
        root.set(name, str(total))
    ET.indent(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def report_markdown(report: GateReport) -> str:
    """A PR-comment summary: verdict, counts, the cases that need attention, what got worse."""
    icon = "❌" if report.failed else "✅"
    lines = [f"### {icon} tracelock lock check", "", report.summary(), ""]
    lines += [f"- {p.message()}" for p in report.prompts] + ([""] if report.prompts else [])
    lines.append("| status | count |")
    lines.append("|---|---|")
    for status in ("passed", "flaky", "regressed", "missing"):
        lines.append(f"| {_ICON[status]} {status} | {report.count(status)} |")
    attention = [o for o in report.outcomes if o.status != "passed"]
    if attention:
        lines += ["", "| case | status | passes | source trace | why |", "|---|---|---|---|---|"]
        for o in attention:
            lines.append(
                f"| `{o.case.dataset}/{o.case.id}` | {_ICON[o.status]} {o.status} | {o.passes}/{o.attempts} "
                f"(needs {o.required}) | `{o.case.provenance.source_trace_id or '-'}` | "
                f"{_cell('; '.join(o.failures[:2]))} |"
            )
    if report.baseline_label:
        worse = report.worse()
        lines += ["", f"**Compared with {report.baseline_label}:** "]
        if worse:
            lines[-1] += f"{len(worse)} case(s) got worse."
            lines += ["", "| case | before | now |", "|---|---|---|"]
            for o in worse:
                now = f"{o.status} {o.passes}/{o.attempts}"
                lines.append(f"| `{o.case.dataset}/{o.case.id}` | {_baseline_text(o)} | {now} |")
        else:
            lines[-1] += "nothing got worse."
    if report.unmatched:
        lines += ["", f"_{len(report.unmatched)} result(s) matched no lock case._"]
    return "\n".join(lines) + "\n"


def write_markdown(report: GateReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report_markdown(report), encoding="utf-8")
