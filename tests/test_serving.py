"""The served process sends small responses at once: TCP_NODELAY on every connection (gevent
writes headers and body separately, and Nagle's algorithm held the body back for the client's
delayed acknowledgement, ~40 ms per small answer)."""

from __future__ import annotations

import socket

from geventwebsocket.handler import WebSocketHandler

from queue_service.serving import Handler


def test_each_connection_is_served_with_nagles_algorithm_off(monkeypatch):
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    conn, _ = listener.accept()
    try:
        assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0  # the default
        seen = []
        monkeypatch.setattr(
            WebSocketHandler,
            "handle",
            lambda self: seen.append(
                self.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            ),
        )
        handler = Handler.__new__(Handler)  # the server builds it per connection
        handler.socket = conn
        handler.handle()
        assert seen == [1]  # set before the request is read and answered
    finally:
        for s in (client, conn, listener):
            s.close()
