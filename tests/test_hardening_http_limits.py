"""OTLP/HTTP against clients that send slowly or lie about their length, on real loopback sockets.

A request takes an export slot only once its whole body has arrived; headers and bodies have read
deadlines (here 2 s); a body shorter than its Content-Length is answered 408 when the deadline passes,
one longer is a second, invalid request (400). So slow connections cannot deny exports to others.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent / "soak"))
from crash_harness import CollectorProcess, collector_process

TIMEOUTS = ", header_read_timeout_s: 2, body_read_timeout_s: 2"
SPAN = b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "%s", "spanId": "0102030405060708"}]}]}]}'


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorProcess]:
    process = collector_process(tmp_path_factory.mktemp("http-limits"), http_extra=TIMEOUTS)
    process.start()
    try:
        yield process
    finally:
        process.stop()


def _connect(collector: CollectorProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", collector.http_port), timeout=15)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _headers(length: int) -> bytes:
    return (
        f"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def _read_reply(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (or 15 s pass)."""
    out = b""
    with contextlib.suppress(TimeoutError, ConnectionResetError):
        while chunk := sock.recv(65536):
            out += chunk
    return out


def _export(collector: CollectorProcess, trace_id: str) -> httpx.Response:
    body = SPAN % trace_id.encode()
    return httpx.post(
        f"http://127.0.0.1:{collector.http_port}/v1/traces",
        content=body,
        headers={"content-type": "application/json"},
        timeout=10,
    )


@pytest.mark.timeout(120)
def test_slow_body_connections_do_not_deny_exports(collector: CollectorProcess) -> None:
    """64 connections (the default max_concurrent_requests) trickling their bodies: exports still pass."""
    slow = []
    try:
        for _ in range(64):
            sock = _connect(collector)
            sock.sendall(_headers(1000) + b'{"resourceSpans": ')
            slow.append(sock)
        time.sleep(0.5)
        answer = _export(collector, "ab" * 16)
        assert answer.status_code == 200, answer.text
        reply = _read_reply(slow[0])
        assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
        assert b"body" in reply and b"2 s" in reply
    finally:
        for sock in slow:
            sock.close()


@pytest.mark.timeout(60)
def test_a_body_shorter_than_its_content_length_is_408_within_the_timeout(
    collector: CollectorProcess,
) -> None:
    body = SPAN % (b"cd" * 16)
    with _connect(collector) as sock:
        started = time.monotonic()
        sock.sendall(_headers(len(body) + 50) + body)
        reply = _read_reply(sock)
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
    assert time.monotonic() - started < 10


@pytest.mark.timeout(60)
def test_a_body_trickled_a_byte_at_a_time_is_cut_at_the_deadline(collector: CollectorProcess) -> None:
    with _connect(collector) as sock:
        started = time.monotonic()
        sock.sendall(_headers(100))
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            for _ in range(40):  # one byte every 0.25 s: never idle for long, but never done
                sock.sendall(b" ")
                time.sleep(0.25)
                if time.monotonic() - started > 6:
                    break
        reply = _read_reply(sock)
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]


@pytest.mark.timeout(60)
def test_a_body_longer_than_its_content_length_is_refused(collector: CollectorProcess) -> None:
    body = SPAN % (b"ef" * 16)
    with _connect(collector) as sock:
        sock.sendall(_headers(len(body)) + body + b"trailing bytes that are no request\r\n\r\n")
        reply = _read_reply(sock)
    assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
    assert b"HTTP/1.1 400" in reply, reply  # the extra bytes are a second, malformed request


@pytest.mark.timeout(60)
def test_headers_that_never_end_are_cut_at_the_header_timeout(collector: CollectorProcess) -> None:
    with _connect(collector) as sock:
        started = time.monotonic()
        sock.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            for _ in range(20):
                sock.sendall(b"a")
                time.sleep(0.25)
        reply = _read_reply(sock)
    assert time.monotonic() - started < 10
    assert reply == b"" or reply.startswith(b"HTTP/1.1 408"), reply[:200]
