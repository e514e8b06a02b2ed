"""RemoteStore's one HTTP connection to the collector: kept alive, re-opened once when the collector
closed it while idle, never retried on a timeout, and only ever plain HTTP to the address it was given."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tracelock.errors import StoreError, StoreUnavailable
from tracelock.store.remote_store import RemoteStore

_ANSWER = json.dumps({"columns": ["x"], "types": ["UInt8"], "rows": [[1]]}).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as uvicorn
    requests: list[str] = []
    close_after_answer = True
    delay_s = 0.0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        type(self).requests.append(self.headers["authorization"])
        time.sleep(self.delay_s)
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(_ANSWER)))
        self.end_headers()
        self.wfile.write(_ANSWER)
        self.wfile.flush()
        if self.close_after_answer:  # what an idle-timeout close looks like to the client: no warning
            self.close_connection = True

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    _Handler.requests = []
    _Handler.close_after_answer, _Handler.delay_s = True, 0.0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _store(httpd: ThreadingHTTPServer, timeout: float = 10.0) -> RemoteStore:
    return RemoteStore(f"http://127.0.0.1:{httpd.server_address[1]}", "tok", timeout=timeout)


def test_a_connection_the_collector_closed_is_reopened_once(server: ThreadingHTTPServer) -> None:
    store = _store(server)
    for _ in range(3):  # each answer closes the connection the client keeps
        assert store.query("SELECT 1").rows == [(1,)]
    assert _Handler.requests == ["Bearer tok"] * 3  # three requests, each sent once
    store.close()


def test_a_timeout_is_not_retried(server: ThreadingHTTPServer) -> None:
    _Handler.close_after_answer, _Handler.delay_s = False, 0.0
    store = _store(server, timeout=0.3)
    store.query("SELECT 1")  # the connection is now kept alive: the retry path would apply
    _Handler.delay_s = 1.0
    with pytest.raises(StoreUnavailable, match="cannot reach the collector"):
        store.query("SELECT 1")
    time.sleep(1.2)  # let the slow request finish on the server
    assert len(_Handler.requests) == 2  # not sent a third time
    store.close()


@pytest.mark.parametrize("url", ["https://127.0.0.1:1", "file:///etc/passwd", "127.0.0.1:4319", "http://"])
def test_the_admin_address_must_be_plain_http(url: str) -> None:
    with pytest.raises(StoreError, match="admin address must be http://host:port"):
        RemoteStore(url, "tok")
