"""The distribution: one wheel named tracelock whose top-level folders are tracelock.<folder>, with the
schema and deployment files as package data and no tests, benchmarks or data inside."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
SKIP = shutil.ignore_patterns(
    ".git", "venv", ".venv", "tracelock-data*", "build", "dist", "*.egg-info", "__pycache__"
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    source = tmp_path_factory.mktemp("src") / "tracelock"
    shutil.copytree(REPO, source, ignore=SKIP)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
        timeout=300,
    )
    (path,) = out.glob("tracelock-*.whl")
    return zipfile.ZipFile(path)


def test_wheel_maps_top_level_folders_into_the_tracelock_package(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    assert "tracelock/__init__.py" in names and "tracelock/py.typed" in names
    for folder in ("cli", "store"):
        assert f"tracelock/{folder}/__init__.py" in names
    top = {name.split("/")[0] for name in names}
    assert top == {"tracelock", next(n for n in top if n.endswith(".dist-info"))}
    assert not [
        n for n in names if n.startswith(("tracelock/tests/", "tracelock/bench/", "tracelock/tracelock-data"))
    ]


def test_schema_ships_as_package_data(wheel: zipfile.ZipFile) -> None:
    shipped = {
        n.removeprefix("tracelock/") for n in wheel.namelist() if n.startswith("tracelock/deploy/sql/")
    }
    in_repo = {
        str(p.relative_to(REPO))
        for p in (REPO / "deploy" / "sql").rglob("*")
        if p.suffix in {".sql", ".proto"}
    }
    assert {"deploy/sql/writer/insert_spans.sql", "deploy/sql/writer/otlp_trace.proto"} <= in_repo
    assert in_repo <= shipped


def test_console_script_and_lower_bounds(wheel: zipfile.ZipFile) -> None:
    info = next(n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt"))
    assert "tracelock = tracelock.cli.main:main" in wheel.read(info).decode()
    metadata = wheel.read(next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    requires = [
        line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")
    ]
    assert requires
    unpinned = [r for r in requires if ">=" not in r]
    assert not unpinned, f"dependencies without a lower bound: {unpinned}"


def test_ci_runs_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text()
    block = readme.split("```sh\n", 1)[1].split("```", 1)[0].strip().splitlines()
    assert len(block) == 2, "the README starts with exactly two commands"
    assert block[0].endswith("tracelock demo")
    ci_script = (REPO / ".ci" / "run").read_text()
    assert block[1] in ci_script.splitlines()


@pytest.mark.parametrize(
    "config", sorted((REPO / "deploy" / "collector").glob("*.yaml")), ids=lambda p: p.name
)
def test_shipped_collector_configs_validate(config: Path) -> None:
    checked = subprocess.run(
        [sys.executable, "-m", "tracelock", "collector", "--config", str(config), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TRACELOCK_COLLECTOR_TOKENS": "test-token"},
    )
    assert checked.returncode == 0, checked.stderr


def test_kubernetes_manifest_mounts_the_sidecar_config() -> None:
    (deployment,) = yaml.safe_load_all((REPO / "deploy" / "k8s" / "collector-sidecar.yaml").read_text())
    containers = {c["name"]: c for c in deployment["spec"]["template"]["spec"]["containers"]}
    collector = containers["tracelock-collector"]
    assert "tracelock collector --config /etc/tracelock/collector.yaml" in " ".join(collector["command"])
    assert {m["mountPath"] for m in collector["volumeMounts"]} == {"/var/lib/tracelock", "/etc/tracelock"}


def test_data_files_beside_the_code_ship_in_the_wheel(wheel: zipfile.ZipFile) -> None:
    """A component reading a file next to its module must find it installed (the writer's SQL and
    .proto now live in deploy/sql/writer; this guards any data file added beside code later)."""
    names = set(wheel.namelist())
    skip = {"tests", "bench", "docs", "deploy", ".git", ".ci", "venv", ".venv", "build", "dist"}
    beside_code = [
        path.relative_to(REPO)
        for path in REPO.rglob("*")
        if path.is_file()
        and path.suffix not in {".py", ".pyc"}
        and path.parts[len(REPO.parts)] not in skip
        and (path.parent / "__init__.py").exists()
        and path.parent != REPO
    ]
    missing = [str(p) for p in beside_code if f"tracelock/{p}" not in names]
    assert not missing, f"not in the wheel: {missing}"


def test_board_templates_and_static_files_ship_in_the_wheel(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    board = [p.relative_to(REPO) for d in ("templates", "static") for p in (REPO / "board" / d).iterdir()]
    assert board and not [str(p) for p in board if f"tracelock/{p}" not in names]
