"""Run the collector until SIGTERM/SIGINT: start the graph and the admin endpoint, then drain on stop."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from typing import Any

from tracelock.board.serve import BoardServer
from tracelock.collector.admin import ADMIN_FILE, AdminServer
from tracelock.collector.config import CollectorConfig
from tracelock.collector.graph import Graph
from tracelock.collector.heap import return_chdb_pages_sooner, return_large_buffers_to_the_os
from tracelock.collector.host import Host
from tracelock.store import StoreSettings

__all__ = ["Collector", "run_collector"]

log = logging.getLogger("tracelock.collector")


class Collector:
    """One running collector (usable in-process too: ``start()``, ``stop()``)."""

    def __init__(self, config: CollectorConfig, settings: StoreSettings) -> None:
        self.config = config
        self.host = Host(settings)
        self.graph = Graph(config, self.host)
        self.admin = AdminServer(self.host, config.service.admin)
        self.board = BoardServer(self.host, config.service.board) if config.service.board else None
        self.address_file = self.host.data_dir / ADMIN_FILE
        self.graph_written = 0.0

    def addresses(self) -> dict[str, Any]:
        """Where the receivers listen: ``{"receivers": {id: {"grpc": ..., "http": ...}}}``, plus the
        first receiver's ``grpc`` / ``http`` at the top level (the one most configs have)."""
        by_id = {rid: receiver.addresses() for rid, receiver in self.graph.receivers.items()}
        first = next(iter(by_id.values()), {})
        return {**first, "receivers": by_id}

    def start(self) -> None:
        self.graph.start()
        try:
            self.admin.start()
            if self.board is not None:
                self.board.start()
            # "store" is what commands served through the collector record as provenance.
            self.admin.write_address(
                self.address_file, {**self.addresses(), "store": self.host.store.description}
            )
        except BaseException:
            self.admin.shutdown()
            self.graph.shutdown(5.0)
            self.host.close_store()
            raise
        self.host.ready.set()

    def stop(self) -> bool:
        self.host.ready.clear()
        queues = list(self.graph.queues.values())  # shutdown lets go of them; they count what drain wrote
        drained = self.graph.shutdown(self.config.service.drain_timeout)
        self.graph_written = float(sum(queue.written_spans for queue in queues))
        self.admin.shutdown()
        if self.board is not None:
            self.board.shutdown()
        self.address_file.unlink(missing_ok=True)
        self.host.close_store()
        return drained


def run_collector(config: CollectorConfig, settings: StoreSettings) -> int:
    """Serve until a signal; exit code 0 when everything acknowledged was written."""
    stop = threading.Event()

    def _on_signal(signum: int, _frame: Any) -> None:
        log.warning("signal %d: draining", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    return_large_buffers_to_the_os()  # the process's allocators, so here and not in Collector
    return_chdb_pages_sooner()  # before the store loads chDB
    collector = Collector(config, settings)
    collector.start()
    ready = {"status": "ready", "admin": collector.admin.url, **collector.addresses()}
    if collector.board is not None:
        ready["board"] = collector.board.url
    if collector.graph.replayed_spans:
        ready["replayed_spans"] = collector.graph.replayed_spans
    print(json.dumps(ready), flush=True)
    while not stop.wait(0.5):
        pass
    drained = collector.stop()
    written = collector.graph_written
    print(json.dumps({"status": "stopped", "drained": drained, "spans_written": written}), flush=True)
    sys.stdout.flush()
    return 0 if drained else 1
