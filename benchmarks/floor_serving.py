"""How the floors are served: exactly as ``queue-service serve`` serves the application
(queue_service/cli.py ``run_server``). Under gevent its own WSGIServer whose handler turns Nagle's
algorithm off on each connection, so that a floor pays no delayed-ACK wait the application no
longer pays; in threading mode ``socketio.run``."""

from __future__ import annotations

import socket


def serve(app, socketio, port: int, mode: str) -> None:
    if mode == "gevent":
        from gevent import pywsgi
        from geventwebsocket.handler import WebSocketHandler

        class Handler(WebSocketHandler):
            def handle(self) -> None:
                self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                super().handle()

        server = pywsgi.WSGIServer(("127.0.0.1", port), app, handler_class=Handler, log=None)
        socketio.wsgi_server = server
        server.serve_forever()
        return
    socketio.run(
        app,
        host="127.0.0.1",
        port=port,
        allow_unsafe_werkzeug=True,
        use_reloader=False,
        log_output=False,
    )
