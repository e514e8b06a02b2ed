"""The CLI's contract: one exit code for usage errors in every command, error text printed as it is, wide
tables through a pipe, ``--version``, ``feedback list``, collector endpoints from flags and environment,
and the shipped LICENSE and container recipe. Exit codes are documented in docs/cli.md."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import click
import pytest
from ruamel.yaml import YAML

import tracelock
from tracelock.cli.main import app, main
from tracelock.collector.feedback import parse_feedback
from tracelock.errors import InputError

sys.path.insert(0, str(Path(__file__).parent))
from collector_support import TRACELOCK, run_cli

ROOT = Path(__file__).resolve().parent.parent
USAGE = 2
TRACE = "ab" * 16


def _leaf_commands(command: click.Command, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every runnable command path (``("lock", "check")``) of the click tree."""
    if not isinstance(command, click.Group):
        return [path]
    return [leaf for name, sub in command.commands.items() for leaf in _leaf_commands(sub, (*path, name))]


COMMANDS = _leaf_commands(app)


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(args)
    out, err = capsys.readouterr()
    code = done.value.code
    return (code if isinstance(code, int) else 0 if code is None else 1), out, err


def test_every_command_is_covered() -> None:
    assert len(COMMANDS) >= 20
    assert ("feedback", "list") in COMMANDS


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_an_unknown_option_is_a_usage_error_in_every_command(
    command: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run([*command, "--no-such-option"], capsys)
    assert code == USAGE, err
    assert "No such option" in err and "--no-such-option" in err  # click's wording varies by version


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["feedback", "add"], "--trace-id"),
        (["feedback", "add", "--trace-id", TRACE, "--kind", "rating"], "--value"),
        (["feedback", "add", "--trace-id", TRACE, "--kind", "nope"], "--kind"),
        (["lock", "add"], "SEED_ID or --trace-id"),
        (["lock", "check"], "--results FILE, --run-id ID or --runner COMMAND"),
        (["seeds", "run", "--since", "soon"], "--since"),
        (["report", "divergence", "--baseline", "nokey", "--candidate", "prompt=x"], "--baseline"),
        (["eval", "import", "/no/such/results.jsonl"], "/no/such/results.jsonl"),
        (["feedback", "list", "--since", "soon"], "--since"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_usage_errors_exit_2_naming_the_option(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = _run(["--data-dir", str(tmp_path / "never-opened"), *args], capsys)
    assert code == USAGE, err
    assert message in err
    assert not (tmp_path / "never-opened").exists(), "a usage error must fail before opening the store"


def test_a_rating_needs_a_value_over_the_api_too() -> None:
    with pytest.raises(InputError, match=r"feedback\[0\]\.value: a rating needs a value"):
        parse_feedback([{"trace_id": TRACE, "kind": "rating"}])


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["--version"], capsys)
    assert code == 0
    assert out.strip() == f"tracelock {tracelock.__version__}"


def test_error_text_is_printed_as_it_is(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Rich markup must not eat brackets in messages (a regex, a user's label)."""
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nrules:\n  - name: Bad Name\n    level: span\n    condition: 'true'\n")
    code, _, err = _run(["seeds", "check", str(rules)], capsys)
    assert code == USAGE
    assert "'^[a-z0-9][a-z0-9_.-]{0,63}$'" in err
    code, _, err = _run(
        ["report", "divergence", "--baseline", "[bold]x[/bold]=1", "--candidate", "a=b"], capsys
    )
    assert code == USAGE
    assert "[bold]x[/bold]" in err


def test_tables_through_a_pipe_are_not_wrapped(tmp_path: Path) -> None:
    sql = "SELECT repeat('x', 150) AS long_value, 'end-of-row' AS last_column"
    environ = {k: v for k, v in os.environ.items() if k != "COLUMNS"}  # pytest exports COLUMNS=80
    done = subprocess.run(
        [*TRACELOCK, "--data-dir", str(tmp_path / "data"), "query", sql],
        capture_output=True,  # a pipe, as in a CI log
        text=True,
        timeout=120,
        env=environ,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    row = next(line for line in done.stdout.splitlines() if "xxx" in line)
    assert "x" * 150 in row and "end-of-row" in row


def test_feedback_list(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for kind, value in (("complaint", []), ("rating", ["--value", "4"])):
        run_cli(data, "feedback", "add", "--trace-id", TRACE, "--kind", kind, *value)
    rows = json.loads(run_cli(data, "feedback", "list", "--format", "json").stdout)
    assert sorted((r["Kind"], r["Value"], r["TraceId"]) for r in rows) == [
        ("complaint", 1.0, TRACE),
        ("rating", 4.0, TRACE),
    ]
    only = json.loads(run_cli(data, "feedback", "list", "--kind", "rating", "-f", "json").stdout)
    assert [r["Kind"] for r in only] == ["rating"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_collector_endpoints_from_flags_and_environment_win_over_the_file(tmp_path: Path) -> None:
    config = tmp_path / "collector.yaml"
    config.write_text(
        "receivers: {otlp: {protocols: {grpc: {endpoint: '127.0.0.1:1'}, http: {endpoint: '127.0.0.1:2'}}}}\n"
        "processors: {batch: {}}\nexporters: {clickhouse: {}}\n"
        "service: {pipelines: {traces: {receivers: [otlp], processors: [batch], exporters: [clickhouse]}}}\n"
    )
    grpc, http = _free_port(), _free_port()
    argv = [sys.executable, "-m", "tracelock", "--data-dir", str(tmp_path / "data"), "collector",
            "--config", str(config), "--http-endpoint", f"127.0.0.1:{http}"]  # fmt: skip
    env = dict(os.environ, TRACELOCK_GRPC_ENDPOINT=f"127.0.0.1:{grpc}")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline() or "{}")
    finally:
        proc.terminate()
        proc.wait(60)
    assert ready.get("grpc") == f"127.0.0.1:{grpc}", proc.stderr.read() if proc.stderr else ""
    assert ready.get("http") == f"http://127.0.0.1:{http}"


def test_a_bad_endpoint_flag_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["collector", "--check", "--grpc-endpoint", "no-port"], capsys)
    assert code == USAGE
    assert "--grpc-endpoint" in err and "host:port" in err


def test_the_license_is_apache_2() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert text.lstrip().startswith("Apache License")
    assert "Version 2.0, January 2004" in text
    assert 'license = "Apache-2.0"' in (ROOT / "pyproject.toml").read_text()


def test_the_k8s_sidecar_runs_a_pinned_image_built_from_the_containerfile() -> None:
    manifest = (ROOT / "deploy" / "k8s" / "collector-sidecar.yaml").read_text()
    deployment = YAML(typ="safe").load(manifest)
    (sidecar,) = [c for c in deployment["spec"]["template"]["spec"]["containers"] if "tracelock" in c["name"]]
    assert "pip" not in json.dumps(sidecar)
    assert sidecar["image"].endswith(f":{tracelock.__version__}")
    containerfile = (ROOT / "deploy" / "Containerfile").read_text()
    assert f"podman build -f deploy/Containerfile -t {sidecar['image']} ." in manifest
    assert "pip install" in containerfile and "ENTRYPOINT" in containerfile
