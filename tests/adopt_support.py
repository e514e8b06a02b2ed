"""A database the contrib ClickHouse exporter made, for the adoption tests (tests/test_store_adopt.py).

``exporter_columns`` writes spans the way the exporter's traces INSERT does (its 22 columns, values as
pdata's ``AsString``, kinds and status codes as pdata's names); ``make_contrib_database`` applies the
exporter's own DDL (tests/fixtures/contrib_clickhouse_exporter_traces.sql) and inserts, in a process of
its own (one chDB directory, one owner).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tracelock.sampler.otlp_build import SpanSpec, build_request

FIXTURE = Path(__file__).parent / "fixtures" / "contrib_clickhouse_exporter_traces.sql"
_KINDS = ("Unspecified", "Internal", "Server", "Client", "Producer", "Consumer")
_STATUS = ("Unset", "Ok", "Error")


def story(now_ns: int | None = None, first_id: int = 0) -> ExportTraceServiceRequest:
    """Eval cases and production traces of prompt v1 and v2, sliced by intent: a divergence to find.
    Trace ids count up from ``first_id`` + 1 (80 traces)."""
    now_ns = now_ns or time.time_ns() - 3600 * 10**9
    spans: list[SpanSpec] = []
    n = first_id

    def add(attributes: dict[str, Any]) -> None:
        nonlocal n
        n += 1
        spans.append(
            SpanSpec(f"{n:032x}", f"{n:016x}", start_ns=now_ns + (n - first_id) * 1000, attributes=attributes)
        )

    for version, passes in (("v1", 6), ("v2", 9)):
        for case in range(10):
            add(
                {
                    "tracelock.origin": "eval",
                    "tracelock.eval.run_id": f"run-{version}",
                    "tracelock.eval.case_id": f"case-{case}",
                    "tracelock.eval.passed": case < passes,
                    "gen_ai.prompt.version": version,
                    "tracelock.intent": "refund" if case % 2 else "billing",
                }
            )
    for version, complaints in (("v1", 2), ("v2", 9)):
        for i in range(30):
            add(
                {
                    "gen_ai.request.model": "gpt-4o-mini",
                    "gen_ai.prompt.version": version,
                    "tracelock.intent": "refund" if i % 2 else "billing",
                    "tracelock.feedback.complaint": i < complaints,
                    "gen_ai.usage.input_tokens": 100 + i,
                }
            )
    return build_request(spans, {"service.name": "support-bot"})


def _text(value: Any) -> str:
    kind = value.WhichOneof("value")
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    return str(getattr(value, kind)) if kind else ""


def exporter_columns(request: ExportTraceServiceRequest) -> dict[str, list[Any]]:
    """The exporter's INSERT, column by column (traces_insert.sql's 22 names)."""
    names = (
        "Timestamp", "TraceId", "SpanId", "ParentSpanId", "TraceState", "SpanName", "SpanKind",
        "ServiceName", "ResourceAttributes", "ScopeName", "ScopeVersion", "SpanAttributes", "Duration",
        "StatusCode", "StatusMessage", "Events.Timestamp", "Events.Name", "Events.Attributes",
        "Links.TraceId", "Links.SpanId", "Links.TraceState", "Links.Attributes",
    )  # fmt: skip
    columns: dict[str, list[Any]] = {name: [] for name in names}
    for rs in request.resource_spans:
        resource = {kv.key: _text(kv.value) for kv in rs.resource.attributes}
        for ss in rs.scope_spans:
            for span in ss.spans:
                row = (
                    datetime.fromtimestamp(span.start_time_unix_nano / 1e9, timezone.utc),
                    span.trace_id.hex(),
                    span.span_id.hex(),
                    span.parent_span_id.hex(),
                    span.trace_state,
                    span.name,
                    _KINDS[span.kind],
                    resource.get("service.name", ""),
                    resource,
                    ss.scope.name,
                    ss.scope.version,
                    {kv.key: _text(kv.value) for kv in span.attributes},
                    span.end_time_unix_nano - span.start_time_unix_nano,
                    _STATUS[span.status.code],
                    span.status.message,
                    [], [], [], [], [], [], [],
                )  # fmt: skip
                for name, value in zip(names, row, strict=True):
                    columns[name].append(value)
    return columns


_SETUP = """
import json, sys
from pathlib import Path
from datetime import datetime
from tracelock.store.chdb_store import ChdbStore
from tracelock.store.schema import split_statements
data_dir, ddl, rows = sys.argv[1], Path(sys.argv[2]).read_text(), json.load(open(sys.argv[3]))
rows["Timestamp"] = [datetime.fromisoformat(t) for t in rows["Timestamp"]]
store = ChdbStore(data_dir, "default")
store.command("CREATE DATABASE IF NOT EXISTS tracelock")
for statement in split_statements(ddl.replace("${DATABASE}", "tracelock")):
    store.command(statement)
store.insert("tracelock.otel_traces", rows)
store.close()
"""


def make_contrib_database(data_dir: Path, request: ExportTraceServiceRequest) -> None:
    """``data_dir`` as the exporter leaves it: its tables in database ``tracelock``, the spans in them."""
    columns = exporter_columns(request)
    rows = data_dir.parent / "exporter-rows.json"
    rows.write_text(json.dumps(columns | {"Timestamp": [t.isoformat() for t in columns["Timestamp"]]}))
    subprocess.run(
        [sys.executable, "-c", _SETUP, str(data_dir), str(FIXTURE), str(rows)],
        check=True,
        capture_output=True,
        timeout=120,
    )
