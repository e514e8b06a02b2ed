"""What ``tracelock collector dead-letter`` does, kept out of the CLI module so it can be tested.

Replay prefers the running collector: while one owns the data directory it is the only process that
may write there, and sending the request to its OTLP/HTTP receiver puts it through the same checks,
processors and WAL as any export. With no collector running, the request is written straight into
the store by :func:`~tracelock.collector.load.load_request` (the same validation and normalisation).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tracelock.cli.context import AppContext
from tracelock.collector.exporterhelper.dead_letter import DeadLetters
from tracelock.errors import InputError, StoreUnavailable, TracelockError
from tracelock.store.remote_store import ADMIN_FILE

__all__ = ["ReplayResult", "dead_letters_of", "describe", "replay_entries"]


def dead_letters_of(data_dir: Path) -> DeadLetters:
    return DeadLetters(Path(data_dir) / "collector" / "dead-letter")


def describe(letters: DeadLetters, entry_id: str) -> dict[str, Any]:
    entry = letters.get(entry_id)
    spans: list[dict[str, str]] = []
    try:
        request = ExportTraceServiceRequest.FromString(letters.payload(entry_id))
        spans = [
            {"trace_id": s.trace_id.hex(), "span_id": s.span_id.hex(), "name": s.name}
            for rs in request.resource_spans
            for ss in rs.scope_spans
            for s in ss.spans
        ]
    except Exception as exc:  # the bytes may be why it was quarantined
        spans = [{"trace_id": "", "span_id": "", "name": f"(does not parse: {exc})"}]
    return {**entry.__dict__, "spans": spans}


@dataclass
class ReplayResult:
    via: str
    replayed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    spans: int = 0

    def facts(self) -> dict[str, Any]:
        return {"via": self.via, "replayed": self.replayed, "failed": self.failed, "spans": self.spans}


def _running_collector_http(data_dir: Path) -> str | None:
    try:
        doc = json.loads((Path(data_dir) / ADMIN_FILE).read_text())
    except (OSError, ValueError):
        return None
    return doc.get("http") if isinstance(doc, dict) else None


def replay_entries(
    app: AppContext, letters: DeadLetters, entry_ids: list[str] | None, token: str | None
) -> ReplayResult:
    ids = entry_ids or [e.id for e in letters.list()]
    http = _running_collector_http(app.data_dir)
    if http is None and (app.data_dir / ADMIN_FILE).exists():
        raise StoreUnavailable(
            "a collector owns this data directory but has no OTLP/HTTP receiver to replay through; "
            "enable receivers.otlp.protocols.http or stop the collector and replay again"
        )
    result = ReplayResult(via=f"collector {http}" if http else f"store {app.data_dir}")
    store = None if http else app.open_store()
    try:
        for entry_id in ids:
            payload, spans = letters.payload(entry_id), letters.get(entry_id).span_count
            try:
                if http:
                    _post(http, payload, token)
                else:
                    from tracelock.collector.load import load_request

                    load_request(store, payload)  # type: ignore[arg-type]
            except TracelockError as exc:
                result.failed[entry_id] = str(exc)
                continue
            letters.drop(entry_id)
            result.replayed.append(entry_id)
            result.spans += spans
    finally:
        if store is not None:
            store.close()
    return result


def _post(http: str, payload: bytes, token: str | None) -> None:
    headers = {"content-type": "application/x-protobuf"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    try:
        response = httpx.post(f"{http}/v1/traces", content=payload, headers=headers, timeout=60)
    except httpx.HTTPError as exc:
        raise StoreUnavailable(f"collector at {http}: {exc}") from exc
    if response.status_code in (401, 403):
        raise InputError(f"collector at {http} refused the token ({response.status_code}): pass --token")
    if response.status_code != 200:
        raise InputError(f"collector at {http} answered {response.status_code}: {response.text[:300]}")
