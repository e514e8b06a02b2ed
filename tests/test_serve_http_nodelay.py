"""The HTTP servers (OTLP/HTTP receiver, admin endpoint, board) answer kept-alive requests at once.

uvicorn writes a response's head and body in two writes; with Nagle's algorithm on, the body waited for
the client's delayed ACK: every request after the first on a connection took 40 ms more (measured:
``tracelock report divergence`` spent 4 x 40 ms in it). asyncio turns Nagle off only on sockets made
with ``proto=IPPROTO_TCP``, which ours were not; the server now turns it off on each connection.
"""

from __future__ import annotations

import http.client
import socket

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tracelock.collector.serve_http import ServerThread


def _ok(_request: object) -> PlainTextResponse:
    return PlainTextResponse("ok")


def test_every_connection_has_nagle_off() -> None:
    server = ServerThread(Starlette(routes=[Route("/", _ok)]), "127.0.0.1:0", "test-http")
    server.start()
    try:
        client = http.client.HTTPConnection(server.host, server.port, timeout=10)
        for _ in range(2):  # the second request reuses the connection
            client.request("GET", "/")
            assert client.getresponse().read() == b"ok"
        connections = list(server._server.server_state.connections)
        assert connections, "uvicorn keeps no record of the open connection"
        for protocol in connections:
            sock = protocol.transport.get_extra_info("socket")  # type: ignore[attr-defined]
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        client.close()
    finally:
        server.stop()
