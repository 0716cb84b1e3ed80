"""The gevent HTTP server as ``queue-service serve`` runs it, with Nagle's algorithm off.

gevent's WSGI handler sends a response's headers and its body with two writes. With Nagle's
algorithm on, the body of a small response (a ticket, a call, an earliest slot) then waits
until the client acknowledges the headers, and clients delay that acknowledgement by up to 40 ms
(delayed ACK): every small JSON answer took ~45 ms however little work it was. TCP_NODELAY on
each connection sends the body at once; large responses never waited, as their full segments
go out regardless.
"""

from __future__ import annotations

import socket

from geventwebsocket.handler import WebSocketHandler


def no_delay(sock: socket.socket) -> None:
    """Send small writes at once (no Nagle); harmless where the option does not apply."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:  # not a TCP socket (a test's socketpair, a Unix socket)
        pass


class Handler(WebSocketHandler):
    """Flask-SocketIO's gevent handler (WebSocket upgrades included), with TCP_NODELAY."""

    def handle(self) -> None:
        no_delay(self.socket)
        super().handle()
