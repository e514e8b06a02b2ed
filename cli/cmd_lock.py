"""``tracelock lock add|validate|list|show|sync|check``: regression locks and the CI gate.

Exit codes of ``tracelock lock check`` (the contract CI relies on):
    0  every lock holds
    1  a lock regressed or has no result
    2  usage or configuration error (bad option, invalid lock file, malformed results file, results that
       match no lock, versions that do not line up)
    3  the runner or the store failed (crash, non-zero exit, timeout, no results; store unreachable)
The other ``lock`` commands exit 0 on success, 2 on an invalid lock file or bad option, 1 otherwise.
"""

from __future__ import annotations

import enum
import io
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.markup import escape

from tracelock import env
from tracelock.cli.context import get_context
from tracelock.cli.output import (
    ROWS_FORMAT,
    SUMMARY_FORMAT,
    OutputFormat,
    SummaryFormat,
    console,
    err_console,
    print_error,
    print_rows,
    print_summary,
)
from tracelock.cli.params import format_option, locks_option
from tracelock.errors import ConfigError, InputError, LockFileError, RunnerError, StoreError

if TYPE_CHECKING:  # imported by the commands that run, not at start-up
    from tracelock.lock.model import LockCase, PromptRef


__all__ = ["register"]

# A bare `tracelock lock` says "Missing command." (exit 2) rather than printing the help, as it always has.
lock_group = click.Group(
    "lock",
    help="Regression locks: production traces pinned as permanent test cases, and the CI gate.",
    no_args_is_help=False,
)

_LOCKS = locks_option()
_VERSION = click.option("--version", type=int, help="Cases of this dataset version (default: current).")


def _fail(message: str, code: int) -> click.exceptions.Exit:
    print_error(message)
    return click.exceptions.Exit(code)


def prompt_ref(path: Path) -> PromptRef:
    """The lock file's ``prompt`` entry: the path as the repository sees it, and the file's hash."""
    from tracelock.lock.model import PromptRef
    from tracelock.processors.prompt import prompt_hash

    digest = prompt_hash(path)
    try:
        shown = path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        shown = path.as_posix()
    return PromptRef(shown, digest)


@lock_group.command("add")
@click.argument("seed_id", required=False)
@click.option("--trace-id", help="Lock any stored trace instead of a seed.")
@click.option("--span-id", default="", help="With --trace-id: the span whose input to lock.")
@click.option("--dataset", "-d", help="Dataset (lock file) name.")
@click.option("--case-id", help="Case id (default: <seed rule or dataset>-<trace id[:12]>).")
@click.option(
    "--expect",
    "-e",
    multiple=True,
    help="Assertion, repeatable: passed | completes | contains:TEXT | regex:RE | score:NAME>=X | "
    "judge:NAME>=X | json_schema:@FILE | exact:TEXT | not_exact:TEXT | not_contains:TEXT | cost_usd<=X "
    "... (default: not_exact of the output the trace produced: it must not come back).",
)
@click.option("--judge-model", default="", help="Judge model recorded with judge: assertions.")
@click.option("--judge-version", default="", help="Judge version recorded with judge: assertions.")
@click.option(
    "--repeats", type=click.IntRange(min=1), default=1, help="Attempts the eval runner should make."
)
@click.option("--min-passes", type=click.IntRange(min=1), help="Attempts that must pass (default: all).")
@click.option("--description", default="", help="Why this case exists (the bug it locks out).")
@click.option("--created-by", envvar=env.USER, show_envvar=True, help="Author (default: $USER).")
@click.option(
    "--prompt",
    type=click.Path(path_type=Path),
    help="Prompt template the dataset guards: its path and hash go into the lock file.",
)
@_LOCKS
@click.pass_context
def add(
    ctx: click.Context,
    seed_id: str | None,
    trace_id: str | None,
    span_id: str,
    dataset: str | None,
    case_id: str | None,
    expect: tuple[str, ...],
    judge_model: str,
    judge_version: str,
    repeats: int,
    min_passes: int | None,
    description: str,
    created_by: str | None,
    prompt: Path | None,
    locks_dir: Path,
) -> None:
    """Lock a seed (or any stored trace) as a regression case; bumps the dataset version.

    SEED_ID: a seed id (or a unique prefix) from `tracelock seeds list`.
    """
    from tracelock.lock.adding import lock_captured
    from tracelock.lock.capture import capture_seed, capture_trace
    from tracelock.lock.expect_spec import parse_expect

    if bool(seed_id) == bool(trace_id):
        raise _fail("give exactly one of SEED_ID or --trace-id", 2)
    if min_passes is not None and min_passes > repeats:
        raise _fail(f"--min-passes {min_passes} exceeds --repeats {repeats}", 2)
    assertions = tuple(parse_expect(s, judge_model=judge_model, judge_version=judge_version) for s in expect)
    guarded = prompt_ref(prompt) if prompt else None  # an unreadable prompt fails before the store is read
    with get_context(ctx).open_store() as store:
        if seed_id:
            captured = capture_seed(store, seed_id)
        else:
            assert trace_id is not None  # exactly one of the two, checked above
            captured = capture_trace(store, trace_id, span_id=span_id)
        locked = lock_captured(
            store,
            captured,
            locks_dir,
            assertions=assertions,
            dataset=dataset,
            case_id=case_id,
            repeats=repeats,
            min_passes=min_passes,
            description=description,
            created_by=created_by,
            prompt=guarded,
        )
    if locked.mirror_error:  # the file is the source of truth; the mirror can catch up
        err_console.print(
            f"[yellow]warning:[/] not mirrored into the locks table ({escape(str(locked.mirror_error))}); "
            "run `tracelock lock sync`",
            highlight=False,
            soft_wrap=True,
        )
    path = locks_dir / f"{locked.case.dataset}.yaml"
    console.print(
        f"[green]locked[/] {locked.case.dataset}/{locked.case.id} in {path} (dataset version "
        f"{locked.lock_file.version}); source trace {captured.trace_id}; expects "
        + escape(", ".join(a.describe() for a in locked.case.expect)),
        highlight=False,
    )


@lock_group.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@_LOCKS
def validate(paths: tuple[Path, ...], locks_dir: Path) -> None:
    """Check lock files against their schema and rules; print every problem (exit 2 when there is one).

    PATHS: the lock files to check (default: every file in --locks).
    """
    from tracelock.lock.files import discover_lock_files, validate_lock_dir

    files, problems = validate_lock_dir(list(paths) if paths else discover_lock_files(locks_dir))
    for problem in problems:
        print_error(str(problem), "invalid")
    cases = sum(len(f.cases) for f in files)
    if problems:
        raise click.exceptions.Exit(2)
    console.print(f"[green]ok:[/] {len(files)} lock file(s), {cases} case(s)", highlight=False)


@lock_group.command("list")
@_LOCKS
@_VERSION
@ROWS_FORMAT
def list_cases(locks_dir: Path, version: int | None, fmt: OutputFormat) -> None:
    """List lock cases (of an older dataset version with --version: old versions stay reproducible)."""
    from tracelock.lock.files import load_lock_dir

    rows = []
    for lock_file in load_lock_dir(locks_dir):
        for case in lock_file.cases_at(version):
            rows.append(
                (
                    lock_file.dataset,
                    case.id,
                    case.added_in,
                    f"{case.min_passes or case.repeats}/{case.repeats}",
                    ", ".join(a.describe() for a in case.expect),
                    case.provenance.source_trace_id,
                )
            )
    print_rows(["dataset", "case", "added_in", "must_pass", "expect", "source_trace"], rows, fmt)


@lock_group.command("export")
@_LOCKS
@_VERSION
@click.option("--dataset", "-d", multiple=True, help="Only these datasets (repeatable).")
def export(locks_dir: Path, version: int | None, dataset: tuple[str, ...]) -> None:
    """Print the cases as JSONL for an eval runner (inputs, repeats, assertions, dataset version)."""
    from tracelock.lock.export import case_records_jsonl
    from tracelock.lock.files import load_lock_dir

    files = [f for f in load_lock_dir(locks_dir) if not dataset or f.dataset in dataset]
    sys.stdout.write(case_records_jsonl(files, version))


@lock_group.command("sync")
@_LOCKS
@click.pass_context
def sync(ctx: click.Context, locks_dir: Path) -> None:
    """Mirror every lock case into the store's ``locks`` table (coverage counts, trace links)."""
    from tracelock.lock.files import load_lock_dir
    from tracelock.lock.records import mirror_locks

    files = load_lock_dir(locks_dir)
    with get_context(ctx).open_store() as store:
        written = mirror_locks(store, files)
    console.print(f"[green]synced[/] {written} case(s) from {len(files)} lock file(s)", highlight=False)


_SHOW_SPANS = """
SELECT SpanId, ParentSpanId AS Parent, SpanName, round(Duration / 1e6, 1) AS Ms, StatusCode AS Status,
       RequestModel AS Model, PromptVersion AS Prompt,
       leftUTF8(if(SpanAttributes['gen_ai.output.messages'] != '', SpanAttributes['gen_ai.output.messages'],
                   SpanAttributes['output.value']), 60) AS Output
FROM otel_traces
WHERE TraceId = {trace_id:String}
ORDER BY Timestamp, SpanId
"""


_HISTORY = """
SELECT toStartOfSecond(CheckedAt) AS CheckedAt, ReleaseTag, DatasetVersion AS Version, Status,
       concat(toString(Passes), '/', toString(Attempts)) AS Passes, EvalRunId
FROM lock_results
WHERE Dataset = {dataset:String} AND CaseId = {case_id:String}
ORDER BY CheckedAt DESC
LIMIT 10
"""


def _case_yaml(case: LockCase) -> str:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.width = 4096
    buffer = io.StringIO()
    yaml.dump(case.to_dict(), buffer)
    return buffer.getvalue()


@lock_group.command("show")
@click.argument("case_id")
@click.option("--dataset", "-d", help="Dataset, when the id is in several.")
@_LOCKS
@SUMMARY_FORMAT
@click.pass_context
def show(ctx: click.Context, case_id: str, dataset: str | None, locks_dir: Path, fmt: SummaryFormat) -> None:
    """Print a lock case next to its source trace's spans and its recent gate runs.

    CASE_ID: the case id.
    """
    from tracelock.lock.files import load_lock_dir
    from tracelock.lock.records import find_locked_case

    cases = []
    if locks_dir.is_dir():
        cases = [c for f in load_lock_dir(locks_dir) for c in f.cases if c.id == case_id]
    if dataset:
        cases = [c for c in cases if c.dataset == dataset]
    if len(cases) > 1:
        raise _fail(
            f"case {case_id!r} is in datasets ({', '.join(c.dataset for c in cases)}); pass --dataset",
            2,
        )
    with get_context(ctx).open_store() as store:
        if cases:
            case = cases[0]
            title = f"{case.dataset}/{case.id} (line {case.line} of {locks_dir / case.dataset}.yaml)"
            shown, shown_dataset, trace_id = case.to_dict(), case.dataset, case.provenance.source_trace_id
        else:
            rows = [r for r in find_locked_case(store, case_id) if not dataset or r["Dataset"] == dataset]
            if not rows:
                raise InputError(f"no lock case {case_id!r} in {locks_dir} or in the store's locks table")
            shown, shown_dataset, trace_id = rows[0], rows[0]["Dataset"], rows[0]["SourceTraceId"]
            title = f"{shown_dataset}/{case_id} (from the locks table; file {shown['LockFile']})"
        history = store.query(_HISTORY, {"dataset": shown_dataset, "case_id": case_id})
        spans = store.query(_SHOW_SPANS, {"trace_id": trace_id}) if trace_id else None
    if fmt is SummaryFormat.json:
        document = {
            "case": shown,
            "source_trace_id": trace_id or None,
            "source_spans": spans.dicts() if spans else [],
            "gate_runs": history.dicts(),
        }
        print_summary("", document, fmt)
        return
    console.print(f"[bold]{title}[/]")
    if cases:
        console.print(_case_yaml(cases[0]), highlight=False, markup=False)
    else:
        print_rows(list(shown), [tuple(shown.values())], OutputFormat.json)
    if spans is None:
        console.print("[yellow]no source trace recorded for this case[/]")
    elif not spans.rows:
        console.print(f"[yellow]source trace {trace_id} is not in the store (expired or another store?)[/]")
    else:
        print_rows(spans.columns, spans.rows, OutputFormat.table, title=f"source trace {trace_id}")
    if history.rows:
        print_rows(history.columns, history.rows, OutputFormat.table, title="recent gate runs (lock_results)")


class CheckFormat(str, enum.Enum):
    table = "table"
    json = "json"


@lock_group.command("check")
@_LOCKS
@click.option(
    "--results",
    "-r",
    type=click.Path(path_type=Path),
    help="Eval results JSONL (the `tracelock eval` shape); - reads stdin.",
)
@click.option("--run-id", help="Read the results of this eval run from the store.")
@click.option(
    "--runner",
    help="Shell command running the evals. It gets TRACELOCK_RESULTS (a file path), TRACELOCK_LOCKS and "
    "TRACELOCK_CASES (cases JSONL, as `lock export`) in its environment, writes results JSONL to "
    "$TRACELOCK_RESULTS (or stdout) and exits 0.",
)
@click.option(
    "--runner-timeout",
    type=click.FloatRange(min=0.1),
    default=1800.0,
    help="Seconds before the runner is killed.",
)
@click.option("--dataset", "-d", multiple=True, help="Check only these datasets (repeatable).")
@click.option(
    "--min-pass-rate",
    type=float,
    default=1.0,
    help="Share of lock cases that must hold (missing cases always fail).",
)
@click.option("--fail-on-flaky", is_flag=True, help="Count flaky cases as failures.")
@click.option("--baseline", help="Compare with the last passing gate run of this release tag.")
@click.option(
    "--baseline-results", type=click.Path(path_type=Path), help="Compare with these results instead."
)
@click.option(
    "--release", default="", envvar=env.RELEASE, show_envvar=True, help="Release tag recorded with the run."
)
@click.option("--junit", type=click.Path(path_type=Path), help="Write JUnit XML here.")
@click.option("--markdown", type=click.Path(path_type=Path), help="Write a markdown PR-comment summary here.")
@click.option(
    "--record/--no-record", default=True, help="Write lock_results (and the locks mirror) to the store."
)
@format_option(CheckFormat, CheckFormat.table, "table, or json on stdout.")
@click.pass_context
def check(
    ctx: click.Context,
    locks_dir: Path,
    results: Path | None,
    run_id: str | None,
    runner: str | None,
    runner_timeout: float,
    dataset: tuple[str, ...],
    min_pass_rate: float,
    fail_on_flaky: bool,
    baseline: str | None,
    baseline_results: Path | None,
    release: str,
    junit: Path | None,
    markdown: Path | None,
    record: bool,
    fmt: CheckFormat,
) -> None:
    """The CI gate. Exit 0: locks hold; 1: a lock regressed/missing; 2: usage error; 3: runner/store fail."""
    from tracelock.lock.checking import CheckOptions, run_check

    sources = [s for s in (results, run_id, runner) if s]
    if len(sources) != 1:
        raise _fail("give exactly one of --results FILE, --run-id ID or --runner COMMAND", 2)
    options = CheckOptions(
        locks_dir=locks_dir,
        results=results,
        run_id=run_id,
        runner=runner,
        runner_timeout=runner_timeout,
        datasets=list(dataset),
        min_pass_rate=min_pass_rate,
        fail_on_flaky=fail_on_flaky,
        baseline_tag=baseline,
        baseline_results=baseline_results,
        release=release,
        junit=junit,
        markdown=markdown,
        record=record,
        output_format=fmt.value,
    )
    try:
        out = console if fmt is CheckFormat.table else err_console  # json keeps stdout for the document
        code = run_check(options, open_store=get_context(ctx).open_store, console=out)
    except (RunnerError, StoreError) as exc:
        raise _fail(str(exc), 3) from None
    except (ConfigError, LockFileError, InputError) as exc:
        raise _fail(str(exc), 2) from None
    ctx.exit(code)


def register(group: click.Group) -> None:
    group.add_command(lock_group)
