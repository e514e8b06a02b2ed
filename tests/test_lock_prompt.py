"""Prompt and eval as one unit: a lock file names the prompt template it guards, spans can carry its hash,
``lock check`` says when the prompt changed since the locks last held, and lock_results records the hash.

Checked failing on a11d664: no ``lock add --prompt``, no ``prompt`` in the lock schema, no
``tracelock.prompt.hash`` key, no ``PromptHash`` column.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import tracelock
from tracelock.errors import ConfigError
from tracelock.processors import ProblemLog, prompt_hash
from tracelock.processors.context import build_keys
from tracelock.store import Store, apply_migrations, load_migrations
from tracelock.store.schema import cluster_statements

sys.path.insert(0, str(Path(__file__).parent))
from test_case_format import _tracelock

SETUP = """
import sys
sys.path.insert(0, sys.argv[1])
import test_case_format as t
from pathlib import Path
from tracelock.store import StoreSettings, apply_migrations, open_store

store = open_store(StoreSettings(data_dir=Path("data")))
apply_migrations(store)
t._production_trace(store)
seed = store.query("SELECT SeedId FROM seeds FINAL WHERE Rule = 'complaint-linked-trace'").scalar()
store.close()
print(seed)
"""


def test_prompt_hash_is_the_sha256_of_the_file(tmp_path: Path) -> None:
    prompt = tmp_path / "refund.txt"
    prompt.write_bytes(b"You are a refund assistant.\n")
    assert prompt_hash(prompt) == "sha256:" + __import__("hashlib").sha256(prompt.read_bytes()).hexdigest()
    with pytest.raises(ConfigError, match="cannot read prompt file"):
        prompt_hash(tmp_path / "missing.txt")


def test_instrument_and_labels_stamp_the_hash(tmp_path: Path) -> None:
    prompt = tmp_path / "refund.txt"
    prompt.write_text("v5: include the currency")
    exporter = InMemorySpanExporter()
    provider = tracelock.instrument(
        "bot", prompt_file=prompt, exporter=exporter, batch=False, set_global=False
    )
    with provider.get_tracer("t").start_as_current_span("chat"):
        pass
    provider.force_flush()
    (span,) = exporter.get_finished_spans()
    assert span.resource.attributes["tracelock.prompt.hash"] == prompt_hash(prompt)
    other = "sha256:" + "ab" * 32
    assert build_keys({"prompt_hash": other}) == {"tracelock.prompt.hash": other}
    problems = ProblemLog()
    assert build_keys({"prompt_hash": "md5:1234"}, problems=problems) == {}  # not a sha256: reported, dropped
    existing = TracerProvider()
    exporter2 = InMemorySpanExporter()
    tracelock.instrument(tracer_provider=existing, prompt_hash=other, exporter=exporter2, batch=False)
    with existing.get_tracer("t").start_as_current_span("chat"):
        pass
    existing.force_flush()
    assert exporter2.get_finished_spans()[0].attributes["tracelock.prompt.hash"] == other


def test_the_migration_adds_the_columns_to_an_older_schema(bare_store: Store) -> None:
    older = [m for m in load_migrations() if m.version < 60]
    apply_migrations(bare_store, older)
    bare_store.insert("lock_results", {"CheckRunId": ["old"], "Dataset": ["refund"], "CaseId": ["c1"]})
    applied = apply_migrations(bare_store)
    assert [m.version for m in applied] == [m.version for m in load_migrations() if m.version >= 60]
    rows = bare_store.query("SELECT CheckRunId, PromptPath, PromptHash FROM lock_results").rows
    assert rows == [("old", "", "")]  # nothing already stored is lost
    ddl = "\n".join(cluster_statements("prod"))
    assert "ALTER TABLE lock_results_local ON CLUSTER 'prod'" in ddl
    assert "ALTER TABLE lock_results ON CLUSTER 'prod'" in ddl


def test_lock_check_says_when_the_prompt_changed_since_the_last_passing_run(tmp_path: Path) -> None:
    setup = subprocess.run(
        [sys.executable, "-c", SETUP, str(Path(__file__).parent)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert setup.returncode == 0, setup.stderr
    seed = setup.stdout.strip()
    (tmp_path / "prompts").mkdir()
    template = tmp_path / "prompts" / "refund.txt"
    template.write_text("Answer refund questions as JSON with refund and currency.\n")
    locked_hash = prompt_hash(template)

    bad = _tracelock(tmp_path, "lock", "add", seed, "--dataset", "refund", "--prompt", "prompts/missing.txt")
    assert bad.returncode == 2 and "cannot read prompt file prompts/missing.txt" in bad.stderr
    added = _tracelock(
        tmp_path, "lock", "add", seed, "--dataset", "refund", "--prompt", "prompts/refund.txt",
        "--expect", "contains:currency",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    lock_text = (tmp_path / "locks" / "refund.yaml").read_text()
    assert f"prompt:\n  path: prompts/refund.txt\n  hash: {locked_hash}\n" in lock_text
    assert _tracelock(tmp_path, "lock", "validate").returncode == 0

    good = tmp_path / "good.jsonl"
    case = {"run_id": "ci-1", "case_id": "complaint-linked-trace-4bf92f3577b3", "dataset_id": "refund"}
    good.write_text(json.dumps({**case, "output": '{"refund": 1, "currency": "EUR"}'}) + "\n")
    first = _tracelock(tmp_path, "lock", "check", "--results", str(good), "--format", "json")
    assert first.returncode == 0, first.stdout + first.stderr
    (status,) = json.loads(first.stdout)["prompts"]
    assert (status["status"], status["compared_with"], status["hash"]) == (
        "unchanged",
        "lock file",
        locked_hash,
    )

    template.write_text("Answer refund questions briefly.\n")  # someone edits the prompt
    second = _tracelock(tmp_path, "lock", "check", "--results", str(good))
    assert second.returncode == 0, second.stdout + second.stderr
    assert "prompt prompts/refund.txt of dataset refund changed since the last passing run" in second.stdout
    recorded = _tracelock(
        tmp_path,
        "query",
        "SELECT PromptPath, PromptHash FROM lock_results ORDER BY CheckedAt",
        "--format",
        "json",
    )
    rows = json.loads(recorded.stdout)
    assert [r["PromptHash"] for r in rows] == [locked_hash, prompt_hash(template)]
    assert {r["PromptPath"] for r in rows} == {"prompts/refund.txt"}
