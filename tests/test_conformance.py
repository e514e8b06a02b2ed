"""Conformance: real third-party instrumentation from PyPI, unchanged, against a local OpenAI stub,
exporting to a real ``tracelock collector`` subprocess; each case asserts one key of the stored
``trace_summaries`` row (or of the spans) for one client.

Every client tells the same story (tests/conformance/scenario.py) in its own convention. A cell that
fails today because of a normalisation defect of issue 15 is ``xfail(strict=True)`` with the defect as
its reason, so it turns into a failure (XPASS) the moment the defect is fixed: whoever fixes it removes
the mark. ``NOT_SENT`` cells are keys the client has no way to express; they are not tested and the
table in docs/conformance.md says so; a test keeps that table equal to these expectations
(``TRACELOCK_CONFORMANCE_TABLE=write`` rewrites it).

Installs: ``pip install '.[conformance]'`` (pinned in pyproject.toml). Langfuse v3 cannot share a venv
with the current major, so the v3 case builds its own venv once per run (skipped, with the reason, when
pip cannot).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.collector_support import CollectorProcess, query, write_config
from tests.conformance import scenario as s
from tests.conformance.openai_stub import CHAT_RESPONSE_MODEL, CHAT_USAGE, EMBEDDING_USAGE, app
from tracelock.collector.processors.normalize.config import NormalizeConfig
from tracelock.collector.serve_http import ServerThread

pytest.importorskip("openinference.instrumentation.openai", reason="pip install '.[conformance]'")

REPO = Path(__file__).parent.parent
CLIENT_DIR = REPO / "tests" / "conformance"
PRICES = {"input_per_million": 0.15, "output_per_million": 0.6}  # gpt-4o-mini, USD
EXPECTED_COST = (CHAT_USAGE["prompt_tokens"] * 0.15 + CHAT_USAGE["completion_tokens"] * 0.6) / 1e6


# --- the expectations: one check per key ----------------------------------------------------------------
Row = dict[str, Any]
Spans = list[dict[str, str]]


def _column(name: str, want: Any) -> Callable[[Row, Spans], None]:
    def check(row: Row, _spans: Spans) -> None:
        assert name in row, f"trace_summaries has no {name} column"
        if isinstance(want, float):
            assert row[name] == pytest.approx(want, rel=1e-6), name
        else:
            assert row[name] == want, name

    return check


def _chat_model(row: Row, _spans: Spans) -> None:
    """The trace's model is the chat model, whatever else the trace called (embeddings)."""
    assert row["RequestModel"] in (s.CHAT_MODEL, CHAT_RESPONSE_MODEL)


def _label(row: Row, _spans: Spans) -> None:
    assert row["Labels"].get(s.LABEL[0]) == s.LABEL[1], row["Labels"]


def _source(name: str) -> Callable[[Row, Spans], None]:
    def check(_row: Row, spans: Spans) -> None:
        assert any(name in attrs for attrs in spans), f"{name} is on no stored span"

    return check


KEYS: dict[str, Callable[[Row, Spans], None]] = {
    "model": _chat_model,
    "request_model": _column("RequestModel", s.CHAT_MODEL),
    "input_tokens": _column("InputTokens", CHAT_USAGE["prompt_tokens"]),
    "output_tokens": _column("OutputTokens", CHAT_USAGE["completion_tokens"]),
    "embedding_tokens": _column("EmbeddingTokens", EMBEDDING_USAGE["prompt_tokens"]),
    "prompt_name": _column("PromptName", s.PROMPT_NAME),
    "prompt_version": _column("PromptVersion", s.PROMPT_VERSION),
    "session": _column("SessionId", s.SESSION_ID),
    "user": _column("UserId", s.USER_ID),
    "tier": _column("CustomerTier", s.CUSTOMER_TIER),
    "intent": _column("Intent", s.INTENT),
    "cost": _column("CostUsd", EXPECTED_COST),
    "empty_retrieval": _column("EmptyRetrievals", 1),
    "label": _label,
}

NOT_SENT = "not sent"  # the client has no convention for the key


@dataclass(frozen=True)
class Client:
    script: str  # in tests/conformance; .cjs runs on node
    spans: int  # spans the story makes
    sources: tuple[str, ...]  # source attributes that must survive normalisation
    cells: dict[str, str]  # key -> NOT_SENT or the reason it fails today (xfail)


CLIENTS: dict[str, Client] = {
    "openinference": Client(
        "client_openinference.py",
        4,
        ("llm.model_name", "input.value", "output.value", "metadata", "llm.token_count.prompt", "session.id"),
        {},
    ),
    "openai_v2": Client(
        "client_openai_v2.py",
        4,
        ("gen_ai.response.model", "gen_ai.input.messages", "gen_ai.retrieval.documents"),
        {},
    ),
    "traceloop": Client(
        "client_traceloop.py",
        4,
        ("traceloop.entity.input", "traceloop.association.properties.customer_tier", "traceloop.prompt.key"),
        {"empty_retrieval": NOT_SENT},  # traceloop span kinds: workflow, task, agent, tool
    ),
}


def _langfuse(major: int) -> Client:
    return Client(
        "client_langfuse.py",
        4,
        (
            "langfuse.observation.model.name",
            "langfuse.observation.input",
            "langfuse.trace.metadata.customer_tier",
        ),
        # the Langfuse OpenAI integration records the response's model only
        {"request_model": NOT_SENT},
    )


CLIENTS["langfuse_v5"] = _langfuse(5)
CLIENTS["langfuse_v3"] = _langfuse(3)
CLIENTS["otel_js"] = Client(
    "client_otel_js.cjs",
    4,
    ("gen_ai.response.model", "gen_ai.retrieval.documents"),
    {key: CLIENTS["openai_v2"].cells[key] for key in CLIENTS["openai_v2"].cells},
)


def _params() -> Iterator[Any]:
    for name, client in CLIENTS.items():
        for key in [*KEYS, *(f"source:{attr}" for attr in client.sources)]:
            cell = client.cells.get(key)
            if cell == NOT_SENT:
                continue
            marks = [pytest.mark.xfail(strict=True, reason=cell)] if cell else []
            yield pytest.param(name, key, marks=marks, id=f"{name}-{key}")


# --- running the clients --------------------------------------------------------------------------------
LANGFUSE_V3 = ("langfuse>=3.15,<4", "openai>=1.60")


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


#: The OTel JS SDK and OTel's GenAI instrumentation for the openai npm package, versions that agree on
#: @opentelemetry/api (the 0.301 instrumentation line wants api 1.10, which sdk-trace-node 2.12 refuses).
JS_PACKAGES = (
    "@opentelemetry/api@~1.9",
    "@opentelemetry/sdk-trace-node@^2.5",
    "@opentelemetry/exporter-trace-otlp-proto@~0.212.0",
    "@opentelemetry/resources@^2.5",
    "@opentelemetry/instrumentation@~0.212.0",
    "@opentelemetry/instrumentation-openai@~0.10.0",
    "openai@^5",
)


def _langfuse_v3_venv(venv: Path) -> Path | str:
    """A venv with Langfuse v3 (and the current OTel SDK it takes), or why there is none."""
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv:  # seconds instead of pip's minutes of index look-ups
        steps = [[uv, "venv", "-q", "--python", sys.executable, str(venv)]]
        steps.append([uv, "pip", "install", "-q", "--python", str(_venv_python(venv)), *LANGFUSE_V3])
    else:
        steps = [[sys.executable, "-m", "venv", str(venv)]]
        steps.append([str(_venv_python(venv)), "-m", "pip", "install", "-q", *LANGFUSE_V3])
    return _run_steps(steps, _venv_python(venv), f"could not build a venv with {LANGFUSE_V3[0]}")


def _js_modules(directory: Path) -> Path | str:
    """node_modules with JS_PACKAGES, or why there is none (no node here, or npm failed)."""
    if not (shutil.which("node") and shutil.which("npm")):
        return "node/npm not on PATH: the OTel JS SDK case needs them"
    (directory / "package.json").write_text('{"private": true}')
    npm = ["npm", "install", "--prefix", str(directory), "--no-audit", "--no-fund", "--loglevel=error"]
    return _run_steps([[*npm, *JS_PACKAGES]], directory / "node_modules", "npm install failed")


def _run_steps(steps: list[list[str]], result: Path, failure: str) -> Path | str:
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=300, check=False)
        except (subprocess.SubprocessError, OSError) as exc:
            return f"{failure}: {exc}"
        if done.returncode != 0:
            return f"{failure}: {done.stderr.strip()[-300:]}"
    return result


@pytest.fixture(scope="module")
def side_installs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | str]:
    """The Langfuse v3 venv and the JS packages, built side by side (each is mostly waiting on a
    registry): case -> the interpreter / node_modules, or the reason to skip."""
    with ThreadPoolExecutor(2) as pool:
        v3 = pool.submit(_langfuse_v3_venv, tmp_path_factory.mktemp("langfuse-v3"))
        js = pool.submit(_js_modules, tmp_path_factory.mktemp("otel-js"))
        return {"langfuse_v3": v3.result(), "otel_js": js.result()}


def _collector_config(workdir: Path) -> Path:
    config = write_config(workdir / "collector.yaml")
    if "prices" in NormalizeConfig.model_fields:  # the collector's price table (issue 15, keys)
        prices = workdir / "prices.json"
        prices.write_text(json.dumps({s.CHAT_MODEL: PRICES, CHAT_RESPONSE_MODEL: PRICES}))
        text = config.read_text().replace("normalize: {}", f"normalize: {{prices: '{prices}'}}")
        config.write_text(text)
    return config


@dataclass
class Run:
    rows: dict[str, Row]  # case -> trace_summaries_final row
    spans: dict[str, Spans]  # case -> SpanAttributes of every span
    outputs: dict[str, str]
    skipped: dict[str, str]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, side_installs: dict[str, Path | str]) -> Iterator[Run]:
    workdir = tmp_path_factory.mktemp("conformance")
    collector = CollectorProcess(workdir, _collector_config(workdir))
    stub = ServerThread(app(), "127.0.0.1:0", "openai-stub")
    stub.start()
    collector.start()
    try:
        skipped = {name: why for name, why in side_installs.items() if isinstance(why, str)}
        env = os.environ | {
            "OPENAI_BASE_URL": f"{stub.url}/v1",
            "CONFORMANCE_OTLP_GRPC": collector.grpc,
            "CONFORMANCE_OTLP_HTTP": collector.http,
            "PYTHONPATH": str(REPO),  # tests.conformance.scenario, not tracelock
            "CONFORMANCE_SCENARIO": json.dumps({k: getattr(s, k) for k in dir(s) if k.isupper()}),
        }
        procs = {}
        for name, client in CLIENTS.items():
            if name in skipped:
                continue
            if client.script.endswith(".cjs"):
                argv, extra = ["node", client.script], {"NODE_PATH": str(side_installs[name])}
            else:
                argv, extra = [str(side_installs.get(name, sys.executable)), client.script], {}
            procs[name] = subprocess.Popen(
                argv,
                cwd=CLIENT_DIR,
                env=env | extra | {"CONFORMANCE_CASE": name},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        outputs = {name: proc.communicate(timeout=120)[0] for name, proc in procs.items()}
        for name, proc in procs.items():
            assert proc.returncode == 0, f"{name} client failed:\n{outputs[name][-3000:]}"
        yield _stored(collector.data_dir, {n: CLIENTS[n].spans for n in procs}, outputs, skipped)
    finally:
        collector.close()
        stub.stop()


def _stored(data_dir: Path, want: dict[str, int], outputs: dict[str, str], skipped: dict[str, str]) -> Run:
    services = ", ".join(f"'conformance-{name}'" for name in want)
    deadline = time.monotonic() + 30
    while True:
        counts = {
            r["ServiceName"]: int(r["n"])
            for r in query(
                data_dir,
                f"SELECT ServiceName, count() AS n FROM otel_traces WHERE ServiceName IN ({services}) "
                "GROUP BY ServiceName",
            )
        }
        if all(counts.get(f"conformance-{n}", 0) >= spans for n, spans in want.items()):
            break
        assert time.monotonic() < deadline, f"spans stored {counts}, expected {want}"
        time.sleep(0.5)
    rows = query(data_dir, f"SELECT * FROM trace_summaries_final WHERE ServiceName IN ({services})")
    where = f"WHERE ServiceName IN ({services})"
    spans = query(data_dir, f"SELECT ServiceName, SpanAttributes FROM otel_traces {where}")
    by_case: dict[str, Spans] = {}
    for span in spans:
        case = span["ServiceName"].removeprefix("conformance-")
        by_case.setdefault(case, []).append(span["SpanAttributes"])
    return Run({r["ServiceName"].removeprefix("conformance-"): r for r in rows}, by_case, outputs, skipped)


@pytest.mark.parametrize(("client", "key"), list(_params()))
def test_client_key(run: Run, client: str, key: str) -> None:
    if client in run.skipped:
        pytest.skip(run.skipped[client])
    row, spans = run.rows[client], run.spans[client]
    check = _source(key.removeprefix("source:")) if key.startswith("source:") else KEYS[key]
    check(row, spans)


def test_each_client_made_one_trace(run: Run) -> None:
    """The story is one trace per client: a split trace would make every other cell meaningless."""
    assert sorted(run.rows) == sorted(n for n in CLIENTS if n not in run.skipped)


# --- the table in docs/conformance.md ---------------------------------------------------------------------
DOC = REPO / "docs" / "conformance.md"
BEGIN, END = "<!-- conformance-table:begin -->", "<!-- conformance-table:end -->"


def conformance_table() -> str:
    """client x key: ``ok`` (asserted, passes), ``FAILS`` + the defect (strict xfail: fails today) or
    ``not sent``. With strict xfail this is what the suite proves whenever it is green."""
    keys = [*KEYS, "source attributes kept"]
    lines = ["| client | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for name, client in CLIENTS.items():
        cells = []
        for key in KEYS:
            cell = client.cells.get(key)
            cells.append("ok" if cell is None else cell if cell == NOT_SENT else "FAILS")
        lost = [a for a in client.sources if f"source:{a}" in client.cells]
        cells.append("ok" if not lost else "FAILS: " + ", ".join(f"`{a}`" for a in lost))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    reasons = sorted({c for client in CLIENTS.values() for c in client.cells.values() if c != NOT_SENT})
    why = ["", "Why a cell FAILS today:", "", *(f"- {r}" for r in reasons)] if reasons else []
    return "\n".join([*lines, *why])


def test_docs_table_is_current() -> None:
    if os.environ.get("TRACELOCK_CONFORMANCE_TABLE") == "write":
        text = DOC.read_text()
        head, tail = text.split(BEGIN)[0], text.split(END)[1]
        DOC.write_text(f"{head}{BEGIN}\n{conformance_table()}\n{END}{tail}")
    text = DOC.read_text()
    assert text.split(BEGIN)[1].split(END)[0].strip() == conformance_table(), (
        "docs/conformance.md is stale: TRACELOCK_CONFORMANCE_TABLE=write pytest tests/test_conformance.py"
    )
