"""Hostile label values, attribute keys, feedback text and rule names through the whole path.

Spans go in through the real OTel SDK exporter to a collector subprocess, feedback through
``POST /v1/feedback``; then ``seeds run`` (a rule matching the hostile value), ``report coverage``
(slicing and filtering by it), ``seeds list`` and ``feedback add`` run as CLI subprocesses. Every value
must come back byte for byte, every table must still be there, and hostile identifiers (rule names,
slice keys) must be refused with a message naming them, never executed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

sys.path.insert(0, str(Path(__file__).parent / "soak"))
from crash_harness import collector_process

HOSTILE = [
    "'); DROP TABLE otel_traces; --",
    "x' OR '1'='1",
    "{id:String}",
    "\\'; SELECT 1; --",
    'a`b"c',
    "😀ünï\u2028",
    "$(touch /tmp/pwned)",
    "%s%d%n",
    "tab\there\nnew line",
]
DROP = HOSTILE[0]
EXPECTED_TABLES = {"otel_traces", "feedback", "seeds", "trace_summaries", "eval_records", "locks"}


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "tracelock", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def _admin_refuses_writes_and_outside_access(data_dir: Path, scratch: Path) -> None:
    """The running collector's admin endpoint: reads work, writes/DDL/files/URLs are 400 and do nothing."""
    address = json.loads((data_dir / "collector.json").read_text())
    headers = {"authorization": f"Bearer {address['token']}"}

    def query(sql: str, token: dict[str, str] = headers) -> httpx.Response:
        return httpx.post(f"{address['admin_url']}/admin/query", json={"sql": sql}, headers=token, timeout=30)

    assert query("SELECT 1", {"authorization": "Bearer guess"}).status_code == 401
    ok = query("SELECT count() FROM otel_traces WHERE SpanAttributes['tracelock.intent'] = 'x'")
    assert ok.status_code == 200, ok.text
    outfile = scratch / "pwned.txt"
    for sql in (
        "DROP TABLE otel_traces",
        "SELECT 1; DROP TABLE seeds",
        "INSERT INTO feedback (FeedbackId) VALUES ('x')",
        f"SELECT 1 INTO OUTFILE '{outfile}'",
        "SELECT * FROM file('/etc/hostname', 'LineAsString')",
        "SELECT * FROM url('http://127.0.0.1:1/', 'LineAsString')",
        "SELECT * FROM executable('id', 'TSV', 'x String')",
    ):
        refused = query(sql)
        assert refused.status_code == 400, (sql, refused.text)
        assert refused.json()["error"].startswith("bad admin request: "), refused.text
    assert not outfile.exists()


READ_BACK = """
import json, sys
from pathlib import Path
from tracelock.store.chdb_store import ChdbStore
store = ChdbStore(Path(sys.argv[1]), "tracelock")
values = json.loads(sys.argv[2])
out = {"tables": [r[0] for r in store.query("SHOW TABLES").rows], "spans": {}, "comments": []}
rows = store.query(
    "SELECT SpanAttributes['tracelock.intent'], SpanName, SpanAttributes['tracelock.feature'], Intent, "
    "CustomerTier, RequestModel FROM otel_traces WHERE ServiceName = {s:String}", {"s": "injection"}).rows
for v in values:
    out["spans"][v] = [list(r[1:]) for r in rows if r[0] == v]
out["comments"] = sorted(r[0] for r in store.query("SELECT Comment FROM feedback").rows)
out["label_keys"] = sorted({k for r in store.query("SELECT mapKeys(SpanAttributes) FROM otel_traces").rows
                            for k in r[0] if k.startswith("tracelock.label.")})
print(json.dumps(out))
"""


@pytest.mark.timeout(300)
def test_hostile_values_travel_the_whole_path_as_data(tmp_path: Path) -> None:
    collector = collector_process(tmp_path)
    collector.start()
    trace_ids: list[str] = []
    try:
        exporter = OTLPSpanExporter(endpoint=f"127.0.0.1:{collector.grpc_port}", insecure=True, timeout=30)
        provider = TracerProvider(resource=Resource.create({"service.name": "injection"}))
        provider.add_span_processor(BatchSpanProcessor(exporter))
        tracer = provider.get_tracer("injection")
        for value in HOSTILE:
            with tracer.start_as_current_span(value) as span:
                span.set_attribute("tracelock.intent", value)
                span.set_attribute("tracelock.feature", value)
                span.set_attribute("tracelock.customer.tier", value)
                span.set_attribute("gen_ai.request.model", value)
                span.set_attribute(f"tracelock.label.{value}", value)
                trace_ids.append(format(span.get_span_context().trace_id, "032x"))
        assert provider.force_flush(30_000)
        provider.shutdown()
        feedback = [
            {
                "trace_id": trace_id,
                "kind": "complaint",
                "comment": value,
                "customer_id": value,
                "attributes": {value: value},
            }
            for trace_id, value in zip(trace_ids, HOSTILE, strict=True)
        ]
        response = httpx.post(
            f"http://127.0.0.1:{collector.http_port}/v1/feedback", json={"feedback": feedback}, timeout=30
        )
        assert response.status_code == 200, response.text
        assert response.json()["accepted"] == len(HOSTILE)
        _admin_refuses_writes_and_outside_access(data_dir=collector.data_dir, scratch=tmp_path)
    finally:
        assert collector.stop() == 0, collector.log_tail()
    data_dir = collector.data_dir

    # a rule whose condition compares against the hostile value finds exactly that trace
    rules = tmp_path / "rules.yaml"
    condition = 'tracelock.intent == "' + DROP.replace("\\", "\\\\").replace('"', '\\"') + '"'
    rule = {"name": "hostile-intent", "level": "span", "scope": "live", "condition": condition}
    rules.write_text(yaml.safe_dump({"version": 1, "rules": [rule]}))
    run = _cli(data_dir, "seeds", "run", "--rules", str(rules), "--since", "1d", "-f", "json")
    assert run.returncode == 0, run.stderr
    listed = _cli(data_dir, "seeds", "list", "--rule", "hostile-intent", "-f", "json")
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == 1, listed.stdout

    # hostile rule names are refused by the loader, naming the field
    rules.write_text(yaml.safe_dump({"version": 1, "rules": [dict(rule, name=DROP)]}))
    bad = _cli(data_dir, "seeds", "check", str(rules))
    assert bad.returncode == 2, bad.stdout + bad.stderr
    assert "name" in bad.stdout + bad.stderr and "Traceback" not in bad.stderr
    listed = _cli(data_dir, "seeds", "list", "--rule", DROP, "-f", "json")
    assert listed.returncode == 0 and json.loads(listed.stdout or "[]") == [], listed.stderr

    # the report filters and slices by the hostile value; a hostile slice key is refused
    report = _cli(data_dir, "report", "coverage", "--by", "intent", "--where", f"intent={DROP}", "-f", "json")
    assert report.returncode == 0, report.stderr
    assert DROP in report.stdout
    bad = _cli(data_dir, "report", "coverage", "--by", "intent) FROM otel_traces; DROP TABLE seeds; --")
    assert bad.returncode in (1, 2) and "Traceback" not in bad.stderr, bad.stderr

    added = _cli(
        data_dir, "feedback", "add", "--trace-id", trace_ids[0], "--kind", "comment", "--comment", DROP * 2
    )
    assert added.returncode == 0, added.stderr

    back = subprocess.run(
        [sys.executable, "-c", READ_BACK, str(data_dir), json.dumps(HOSTILE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert back.returncode == 0, back.stderr[-3000:]
    stored = json.loads(back.stdout)
    assert set(stored["tables"]) >= EXPECTED_TABLES, stored["tables"]
    for value in HOSTILE:
        assert stored["spans"][value] == [[value, value, value, value, value]], (
            value,
            stored["spans"][value],
        )
    assert stored["comments"] == sorted([*HOSTILE, DROP * 2])
    assert stored["label_keys"] == sorted(f"tracelock.label.{v}" for v in HOSTILE)


@pytest.mark.parametrize("value", ["tab\there", "new\nline", "back\\'slash", "\\N", "a\\tb", "nul\0"])
def test_chdb_bound_string_parameters_round_trip_exactly(store, value: str) -> None:
    assert store.query("SELECT {v:String}", {"v": value}).scalar() == value
