"""``tracelock lock ...`` as CI runs it: real subprocesses, a real chDB data directory, the exit codes.

0  every lock holds          1  a lock regressed or is missing
2  usage/configuration       3  the runner or the store failed
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from tracelock.cli.main import app

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
OTHER_TRACE = "00f067aa0ba902b700f067aa0ba902b7"
SEED = "5eed5eed5eed5eed"
TRACELOCK = [sys.executable, "-m", "tracelock"]

SEED_STORE = """
import json, sys
from datetime import datetime, timezone
from pathlib import Path
from tracelock.store import StoreSettings, apply_migrations, open_store

data_dir, trace, other, seed = sys.argv[1:5]
now = datetime.now(timezone.utc)
store = open_store(StoreSettings(data_dir=Path(data_dir)))
apply_migrations(store)
question = json.dumps([{"role": "user", "parts": [{"type": "text", "content": "Refund my enterprise plan"}]}])
answer = json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": "{broken"}]}])
spans = [
    (trace, "a1a1a1a1a1a1a1a1", "", "POST /refund", {"tracelock.customer.tier": "enterprise"}),
    (trace, "b2b2b2b2b2b2b2b2", "a1a1a1a1a1a1a1a1", "chat gpt-4o",
     {"gen_ai.request.model": "gpt-4o", "gen_ai.input.messages": question, "gen_ai.output.messages": answer,
      "tracelock.intent": "refund", "tracelock.label.region": "eu"}),
    (other, "c3c3c3c3c3c3c3c3", "", "chat", {"input.value": "where is my order?", "output.value": "lost"}),
]
n = len(spans)
store.insert("otel_traces", {
    "Timestamp": [now] * n, "TraceId": [s[0] for s in spans], "SpanId": [s[1] for s in spans],
    "ParentSpanId": [s[2] for s in spans], "TraceState": [""] * n, "SpanName": [s[3] for s in spans],
    "SpanKind": ["Internal"] * n, "ServiceName": ["refund-bot"] * n,
    "ResourceAttributes": [{"gen_ai.prompt.version": "refund-v4"}] * n, "ScopeName": [""] * n,
    "ScopeVersion": [""] * n, "SpanAttributes": [s[4] for s in spans], "Duration": [1_000_000] * n,
    "StatusCode": ["Unset"] * n, "StatusMessage": [""] * n, "Events.Timestamp": [[]] * n,
    "Events.Name": [[]] * n, "Events.Attributes": [[]] * n, "Links.TraceId": [[]] * n,
    "Links.SpanId": [[]] * n, "Links.TraceState": [[]] * n, "Links.Attributes": [[]] * n,
})
store.insert("feedback", {
    "FeedbackId": ["fb-42"], "Timestamp": [now], "TraceId": [trace], "SpanId": [""], "Kind": ["complaint"],
    "Value": [1.0], "Comment": ["refund answer was garbage"], "CustomerId": ["acme"], "UserId": ["u1"],
    "Source": ["cli"], "Attributes": [{}],
})
store.insert("seeds", {
    "SeedId": [seed], "Timestamp": [now], "TraceId": [trace], "SpanId": ["b2b2b2b2b2b2b2b2"],
    "Rule": ["complaints"], "RuleVersion": ["r1"], "Level": ["span"], "Mode": ["batch"], "Matched": [{}],
    "RequestModel": ["gpt-4o"], "PromptVersion": ["refund-v4"], "RetrieverVersion": [""],
    "Intent": ["refund"], "Feature": [""], "Language": [""], "CustomerTier": ["enterprise"], "Labels": [{}],
    "Input": [""], "Output": [""],
})
records = [("run-good", '{"refund": "approved"}', 1), ("run-bad", "sorry, something broke", 0)]
store.insert("eval_records", {
    "Timestamp": [now] * 2, "EvalRunId": [r[0] for r in records], "CaseId": ["enterprise-refund"] * 2,
    "Repeat": [0, 0], "DatasetId": ["refund"] * 2, "DatasetVersion": ["1"] * 2,
    "Output": [r[1] for r in records], "Passed": [r[2] for r in records],
    "Score": [float(r[2]) for r in records], "Source": ["import-jsonl"] * 2,
})
store.close()
"""


def tracelock(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COLUMNS="200", TRACELOCK_USER="ci-bot")
    return subprocess.run(
        [*TRACELOCK, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def seed_store(root: Path) -> None:
    """Fill ``root/data`` (a fresh chDB directory) in a separate process, as another tool would."""
    script = root / "seed_store.py"
    script.write_text(SEED_STORE)
    subprocess.run([sys.executable, str(script), str(root / "data"), TRACE, OTHER_TRACE, SEED], check=True)


def local(*args: str, cwd: Path, input: str | None = None) -> SimpleNamespace:
    """The same command in this process (only for commands that do not open the store: chDB serves one
    data directory per process, and the test session's belongs to the store fixture)."""
    before = os.getcwd()
    os.chdir(cwd)
    try:
        run = CliRunner().invoke(
            app, list(args), input=input, env={"COLUMNS": "200", "TRACELOCK_USER": "ci-bot"}
        )
    finally:
        os.chdir(before)
    return SimpleNamespace(returncode=run.exit_code, stdout=run.stdout, stderr=run.stderr)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user repository whose store holds a complained-about trace, its seed and two eval runs,
    and whose locks/refund.yaml holds that trace locked from its seed."""
    root = tmp_path_factory.mktemp("project")
    seed_store(root)
    added = tracelock(
        "lock", "add", SEED[:8], "--dataset", "refund", "--case-id", "enterprise-refund",
        "--expect", "json_schema:{\"type\": \"object\"}", "--expect", "cost_usd<=0.05",
        "--description", "enterprise refunds answered with broken JSON", "--data-dir", "data", cwd=root,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "locked refund/enterprise-refund in locks/refund.yaml (dataset version 1)" in added.stdout
    return root


def results(root: Path, name: str, *records: dict) -> Path:
    path = root / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


GOOD = {"run_id": "ci-1", "case_id": "enterprise-refund", "dataset_id": "refund", "output": {"refund": "ok"},
        "cost_usd": 0.01}  # fmt: skip
BAD = {**GOOD, "output": "{broken"}


def test_lock_add_from_a_seed_records_inputs_provenance_and_keys(project: Path) -> None:
    text = (project / "locks" / "refund.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=lock.schema.json\n")
    case = json.loads(local("lock", "list", "-f", "json", cwd=project).stdout)[0]
    assert case["case"] == "enterprise-refund"
    assert case["source_trace"] == TRACE
    for fragment in (
        "content: Refund my enterprise plan",
        f"seed_id: {SEED}",
        "seed_rule: complaints",
        "- fb-42",
        "gen_ai.request.model: gpt-4o",
        "gen_ai.prompt.version: refund-v4",
        "tracelock.customer.tier: enterprise",
        "tracelock.label.region: eu",
        "source_span_id: b2b2b2b2b2b2b2b2",
        "created_by: ci-bot",
        "content: '{broken'",  # observed_output: what the bug looked like
    ):
        assert fragment in text, fragment
    mirrored = tracelock(
        "query", "SELECT CaseId, SourceTraceId, SeedRule, FeedbackIds, CustomerTier FROM locks FINAL",
        "-f", "json", "--data-dir", "data", cwd=project,
    )  # fmt: skip
    assert json.loads(mirrored.stdout) == [
        {
            "CaseId": "enterprise-refund",
            "SourceTraceId": TRACE,
            "SeedRule": "complaints",
            "FeedbackIds": ["fb-42"],
            "CustomerTier": "enterprise",
        }
    ]


def test_lock_add_any_trace_bumps_the_version_and_refuses_twins(project: Path) -> None:
    locks = project / "locks2"
    first = tracelock("lock", "add", "--trace-id", OTHER_TRACE, "-d", "orders", "-l", str(locks),
                      "--expect", "not_contains:lost", "--data-dir", "data", cwd=project)  # fmt: skip
    assert first.returncode == 0, first.stderr
    second = tracelock("lock", "add", "--trace-id", TRACE, "-d", "orders", "-l", str(locks),
                       "--data-dir", "data", cwd=project)  # fmt: skip
    assert second.returncode == 0, second.stderr
    assert "dataset version 2" in second.stdout
    listing = json.loads(
        local("lock", "list", "-l", str(locks), "-f", "json", "--version", "1", cwd=project).stdout
    )
    assert [c["case"] for c in listing] == [f"orders-{OTHER_TRACE[:12]}"]
    twin = tracelock("lock", "add", "--trace-id", TRACE, "-d", "orders", "-l", str(locks), "--case-id", "x",
                     "--data-dir", "data", cwd=project)  # fmt: skip
    assert twin.returncode == 2
    # A trace locked by id is still linked to the seed that flagged it (and named after its rule).
    assert f"is already locked as case 'complaints-{TRACE[:12]}'" in twin.stderr
    assert f"seed_id: {SEED}" in (locks / "orders.yaml").read_text()
    unknown = tracelock("lock", "add", "--trace-id", "f" * 32, "-d", "orders", "-l", str(locks),
                        "--data-dir", "data", cwd=project)  # fmt: skip
    assert unknown.returncode == 1
    assert f"trace {'f' * 32} is not in chdb:" in unknown.stderr


def test_exit_0_when_locks_hold_and_1_naming_case_and_source_trace(project: Path) -> None:
    ok = tracelock(
        "lock", "check", "--results", str(results(project, "ok.jsonl", GOOD)), "--no-record", cwd=project
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "OK: 1 lock cases, 1 passed" in ok.stdout
    bad = tracelock(
        "lock", "check", "--results", str(results(project, "bad.jsonl", BAD)), "--no-record", cwd=project
    )
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert f"REGRESSED refund/enterprise-refund (source trace {TRACE})" in bad.stdout
    assert "output fails JSON Schema" in bad.stdout
    as_json = tracelock(
        "lock", "check", "-r", str(project / "bad.jsonl"), "--no-record", "--format", "json", cwd=project
    )
    assert as_json.returncode == 1
    decision = json.loads(as_json.stdout)
    assert (decision["verdict"], decision["counts"]["regressed"]) == ("failed", 1)
    (case,) = decision["cases"]
    assert (case["case_id"], case["status"]) == ("enterprise-refund", "regressed")
    assert case["source_trace_id"] == TRACE
    other = {**GOOD, "case_id": "unrelated"}
    expensive = {**GOOD, "dataset_id": "", "passed": None, "output": {"a": 1}, "cost_usd": 1.0}
    mixed = results(project, "m.jsonl", other, {**GOOD, "case_id": "x2"}, expensive)
    missing = tracelock("lock", "check", "-r", str(mixed), "--no-record", cwd=project)
    assert missing.returncode == 1
    assert "cost_usd = 1 > 0.05" in missing.stdout
    assert "2 result(s) match no lock case: refund/unrelated, refund/x2" in missing.stdout


def test_exit_1_when_a_lock_has_no_result(project: Path) -> None:
    none = local("lock", "check", "-r", str(results(project, "empty.jsonl")), "--no-record", cwd=project)
    assert none.returncode == 1
    assert "MISSING refund/enterprise-refund" in none.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give exactly one of --results FILE, --run-id ID or --runner COMMAND"),
        (["-r", "nope.jsonl"], "nope.jsonl: results file not found"),
        (["-r", "{bad}"], "bad-json.jsonl:1: not valid JSON (Expecting ':' delimiter"),
        (["-r", "{unmatched}"], "none of the 1 results matches a lock case (results have refund/ghost"),
        (["-r", "{future}"], "results are for version 7 of dataset 'refund'"),
        (["-r", "{good}", "--locks", "no-such-dir"], "no-such-dir: lock directory not found"),
        (["-r", "{good}", "--min-pass-rate", "2"], "--min-pass-rate must be between 0 and 1"),
        (["-r", "{good}", "--frobnicate"], "--frobnicate"),  # "No such option", worded by click's version
    ],
    ids=[
        "no-source",
        "no-file",
        "bad-json",
        "unmatched",
        "future-version",
        "no-locks",
        "bad-rate",
        "bad-option",
    ],
)
def test_exit_2_on_usage_and_configuration_errors(
    project: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    """In-process (no store is touched): the same command object the ``tracelock`` process runs."""
    files = {
        "{bad}": results(project, "bad-json.jsonl", GOOD).parent / "bad-json.jsonl",
        "{unmatched}": results(project, "unmatched.jsonl", {**GOOD, "case_id": "ghost"}),
        "{future}": results(project, "future.jsonl", {**GOOD, "dataset_version": "7"}),
        "{good}": results(project, "good.jsonl", GOOD),
    }
    files["{bad}"].write_text('{"run_id": "r", "case_id"\n')
    args = [str(files.get(a, a)) for a in args]
    monkeypatch.chdir(project)
    run = CliRunner().invoke(app, ["lock", "check", *args, "--no-record"], env={"COLUMNS": "200"})
    assert run.exit_code == 2, run.output
    assert message in " ".join(run.stderr.split())


def test_exit_2_on_an_invalid_lock_file_which_is_never_rewritten(project: Path) -> None:
    locks = project / "broken-locks"
    locks.mkdir()
    broken = "dataset: refund\nversion: 1\ncases:\n  - id: a\n    added_in: 1\n    input: q\n    expect:\n"
    broken += "      - type: vibes\n"
    (locks / "refund.yaml").write_text(broken)
    run = local("lock", "check", "-l", str(locks), "-r", str(results(project, "g.jsonl", GOOD)),
                    "--no-record", cwd=project)  # fmt: skip
    assert run.returncode == 2
    assert "refund.yaml:8: case 'a': cases[0].expect[0].type: unknown assertion type 'vibes'" in run.stderr
    validate = local("lock", "validate", "-l", str(locks), cwd=project)
    assert validate.returncode == 2
    assert "unknown assertion type 'vibes'" in validate.stderr
    assert (locks / "refund.yaml").read_text() == broken
    assert local("lock", "validate", cwd=project).returncode == 0


def test_exit_3_when_the_runner_crashes_times_out_or_gives_nothing(project: Path) -> None:
    crash = local("lock", "check", "--runner", "echo boom >&2; exit 4", "--no-record", cwd=project)
    assert crash.returncode == 3
    assert "runner 'echo boom >&2; exit 4' exited with code 4; stderr: boom" in crash.stderr
    slow = local(
        "lock", "check", "--runner", "sleep 30", "--runner-timeout", "0.5", "--no-record", cwd=project
    )
    assert slow.returncode == 3
    assert "timed out after 0.5 s (killed)" in slow.stderr
    silent = local("lock", "check", "--runner", "true", "--no-record", cwd=project)
    assert silent.returncode == 3
    assert "produced no results" in silent.stderr
    garbage = local("lock", "check", "--runner", "echo not-json", "--no-record", cwd=project)
    assert garbage.returncode == 3
    assert "runner stdout:1: not valid JSON" in garbage.stderr


def test_runner_results_through_the_env_file_or_stdout(project: Path) -> None:
    line = json.dumps(GOOD).replace("'", "'\\''")
    to_file = f"echo '{line}' > \"$TRACELOCK_RESULTS\""
    via_file = local("lock", "check", "--runner", to_file, "--no-record", cwd=project)
    assert via_file.returncode == 0, via_file.stderr
    via_stdout = local("lock", "check", "--runner", f"echo '{line}'", "--no-record", cwd=project)
    assert via_stdout.returncode == 0, via_stdout.stderr


def test_exit_3_when_the_store_fails(project: Path) -> None:
    run = tracelock(
        "lock", "check", "--run-id", "run-good", "--clickhouse-url", "http://127.0.0.1:9", cwd=project
    )
    assert run.returncode == 3, run.stdout + run.stderr
    assert "127.0.0.1:9" in run.stderr


def test_run_id_reads_eval_records_from_the_store(project: Path) -> None:
    good = tracelock(
        "lock", "check", "--run-id", "run-good", "--no-record", "--data-dir", "data", cwd=project
    )
    assert good.returncode == 0, good.stdout + good.stderr
    bad = tracelock("lock", "check", "--run-id", "run-bad", "--no-record", "--data-dir", "data", cwd=project)
    assert bad.returncode == 1
    unknown = tracelock("lock", "check", "--run-id", "nope", "--no-record", "--data-dir", "data", cwd=project)
    assert unknown.returncode == 2
    assert "eval run 'nope' has no records" in unknown.stderr


def test_junit_markdown_lock_results_and_baseline(project: Path) -> None:
    ok = tracelock("lock", "check", "-r", str(results(project, "ok.jsonl", GOOD)), "--release", "v1.4",
                   "--data-dir", "data", cwd=project)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    junit, markdown = project / "out" / "locks.xml", project / "out" / "locks.md"
    bad = tracelock("lock", "check", "-r", str(results(project, "bad.jsonl", BAD)), "--release", "v1.5",
                    "--baseline", "v1.4", "--junit", str(junit), "--markdown", str(markdown),
                    "--data-dir", "data", cwd=project)  # fmt: skip
    assert bad.returncode == 1, bad.stderr
    root = ET.parse(junit).getroot()
    assert (root.tag, root.get("tests"), root.get("failures"), root.get("errors")) == (
        "testsuites",
        "1",
        "1",
        "0",
    )
    (case,) = root.iter("testcase")
    assert (case.get("classname"), case.get("name")) == ("locks.refund", "enterprise-refund")
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == f"regressed: 0/1 passed, 1 needed; source trace {TRACE}"
    assert "output fails JSON Schema" in failure.text
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["source_trace_id"] == TRACE
    assert props["change"] == "worse"
    text = markdown.read_text()
    assert text.startswith("### ❌ tracelock lock check")
    assert f"| `refund/enterprise-refund` | ❌ regressed | 0/1 (needs 1) | `{TRACE}` |" in text
    assert "got worse" in text
    rows = json.loads(tracelock(
        "query", "SELECT ReleaseTag, CaseId, Status, Passes, Attempts, SourceTraceId FROM lock_results "
        "ORDER BY CheckedAt", "-f", "json", "--data-dir", "data", cwd=project,
    ).stdout)  # fmt: skip
    assert [(r["ReleaseTag"], r["Status"]) for r in rows] == [("v1.4", "passed"), ("v1.5", "regressed")]
    assert rows[1]["SourceTraceId"] == TRACE


def test_lock_show_prints_the_case_next_to_its_source_trace(project: Path) -> None:
    ok = results(project, "ok.jsonl", GOOD)
    recorded = tracelock(
        "lock", "check", "-r", str(ok), "--release", "v-show", "--data-dir", "data", cwd=project
    )
    assert recorded.returncode == 0, recorded.stderr
    run = tracelock("lock", "show", "enterprise-refund", "--data-dir", "data", cwd=project)
    assert run.returncode == 0, run.stderr
    assert "refund/enterprise-refund (line 6 of locks/refund.yaml)" in run.stdout
    assert "description: enterprise refunds answered with broken JSON" in run.stdout
    assert f"source trace {TRACE}" in run.stdout
    assert "b2b2b2b2b2b2b2b2" in run.stdout and "chat gpt-4o" in run.stdout
    assert "recent gate runs (lock_results)" in run.stdout  # the trend over releases
    assert "v-show" in run.stdout
    shown = json.loads(
        tracelock("lock", "show", "enterprise-refund", "-f", "json", "--data-dir", "data", cwd=project).stdout
    )
    assert shown["case"]["id"] == "enterprise-refund" and shown["source_trace_id"] == TRACE
    assert {s["SpanId"] for s in shown["source_spans"]} >= {"b2b2b2b2b2b2b2b2"}
    assert shown["gate_runs"][0]["ReleaseTag"] == "v-show"  # newest first
    # A case only in the store's locks table (its file not checked out here) still leads to its trace.
    elsewhere = tracelock(
        "lock", "show", "enterprise-refund", "-l", "nowhere", "--data-dir", "data", cwd=project
    )
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert "(from the locks table; file locks/refund.yaml)" in elsewhere.stdout
    assert "chat gpt-4o" in elsewhere.stdout


def test_check_never_rewrites_lock_files(project: Path) -> None:
    before = {p.name: p.read_bytes() for p in (project / "locks").iterdir()}
    local("lock", "check", "-r", str(results(project, "bad.jsonl", BAD)), "--no-record", cwd=project)
    assert {p.name: p.read_bytes() for p in (project / "locks").iterdir()} == before


def test_help_documents_the_exit_codes() -> None:
    run = subprocess.run([*TRACELOCK, "lock", "check", "--help"], capture_output=True, text=True, check=False,
                         env=dict(os.environ, COLUMNS="200"))  # fmt: skip
    shown = " ".join(run.stdout.split())  # click wraps help text at 80 columns whatever the terminal's width
    assert "Exit 0: locks hold; 1: a lock regressed/missing; 2: usage error; 3: runner/store fail." in shown
    assert textwrap.dedent("TRACELOCK_RESULTS") in run.stdout


def test_results_from_stdin(project: Path) -> None:
    run = local("lock", "check", "--results", "-", "--no-record", cwd=project, input=json.dumps(BAD) + "\n")
    assert run.returncode == 1, run.stderr
    assert "REGRESSED refund/enterprise-refund" in run.stdout


RUNNER_FROM_CASES = """
import json, os
with open(os.environ["TRACELOCK_CASES"]) as cases, open(os.environ["TRACELOCK_RESULTS"], "w") as out:
    for line in cases:
        case = json.loads(line)
        for repeat in range(case["repeats"]):
            where = case["provenance"]
            keys = {"case_id": case["id"], "dataset_id": where["dataset_id"]}
            keys["dataset_version"] = where["dataset_version"]
            result = {"run_id": "any-language", "repeat": repeat, "output": {"echo": case["input"]}, **keys}
            out.write(json.dumps({**result, "cost_usd": 0.0}) + "\\n")
"""


def test_export_and_the_cases_file_handed_to_runners(project: Path) -> None:
    exported = local("lock", "export", cwd=project)
    assert exported.returncode == 0, exported.stderr
    (record,) = [json.loads(line) for line in exported.stdout.splitlines()]
    provenance = record["provenance"]
    assert (provenance["dataset_id"], provenance["dataset_version"], record["id"]) == (
        "refund",
        "1",
        "enterprise-refund",
    )
    assert provenance["source_trace_id"] == TRACE
    assert record["input"][0]["parts"][0]["content"] == "Refund my enterprise plan"
    assert tracelock("lock", "export", "--version", "9", cwd=project).returncode == 2
    (project / "runner.py").write_text(RUNNER_FROM_CASES)
    run = local("lock", "check", "--runner", f"{sys.executable} runner.py", "--no-record", cwd=project)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "OK: 1 lock cases, 1 passed" in run.stdout


def test_with_a_running_collector_the_gate_reads_and_records_through_it(
    project: Path, tmp_path: Path
) -> None:
    spec = importlib.util.spec_from_file_location(
        "collector_support", Path(__file__).parent / "collector_support.py"
    )
    assert spec is not None and spec.loader is not None
    support = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(support)  # B's helper for a real collector subprocess on port 0
    script = tmp_path / "seed_store.py"
    script.write_text(SEED_STORE)
    subprocess.run(
        [sys.executable, str(script), str(tmp_path / "data"), TRACE, OTHER_TRACE, SEED], check=True
    )
    shutil.copytree(project / "locks", tmp_path / "locks")
    collector = support.CollectorProcess(tmp_path, support.write_config(tmp_path / "collector.yaml"))
    collector.start()
    try:
        ok = results(project, "ok.jsonl", GOOD)
        check = tracelock("lock", "check", "-r", str(ok), "--data-dir", "data", cwd=tmp_path)
        assert check.returncode == 0, check.stdout + check.stderr
        assert "gate run not recorded:" not in check.stdout
        recorded = support.query(tmp_path / "data", "SELECT count() AS n FROM lock_results")
        assert recorded[0]["n"] > 0
        added = tracelock("lock", "add", "--trace-id", OTHER_TRACE, "-d", "refund", "--data-dir", "data",
                          cwd=tmp_path)  # fmt: skip
        assert added.returncode == 0, added.stderr
        assert "run `tracelock lock sync`" not in added.stderr
        mirrored = support.query(tmp_path / "data", "SELECT SourceTraceId FROM locks FINAL")
        assert OTHER_TRACE in [r["SourceTraceId"] for r in mirrored]
        assert f"source_trace_id: {OTHER_TRACE}" in (tmp_path / "locks" / "refund.yaml").read_text()
        by_run = tracelock("lock", "check", "--run-id", "run-bad", "--no-record", "--data-dir", "data",
                           cwd=tmp_path)  # fmt: skip
        assert by_run.returncode == 1, by_run.stdout + by_run.stderr
    finally:
        collector.terminate()
