"""The floor for HTTP benchmarks (floors.md §4): a bare Flask JSON endpoint served exactly like
``queue-service serve`` (Flask-SocketIO's ``socketio.run``; gevent, as serve defaults to, or the
mode given).

    python benchmarks/floor_app.py PORT [gevent|threading]
"""

from __future__ import annotations

import sys

MODE = sys.argv[2] if len(sys.argv) > 2 else "gevent"
if MODE == "gevent":  # patched first, as queue_service/__init__.py does
    from gevent import monkey

    monkey.patch_all()

import time  # noqa: E402

from flask import Flask, jsonify  # noqa: E402
from flask_socketio import SocketIO  # noqa: E402

app = Flask(__name__)
socketio = SocketIO(app, async_mode=MODE, logger=False, engineio_logger=False)


@app.get("/api/ping")
def ping():
    return jsonify(ok=True, ts=time.time(), queue="A", waiting=12)


@app.get("/healthz")
def healthz():
    return jsonify(status="ok")


def serve(port: int) -> None:
    """As ``queue-service serve`` does (queue_service/cli.py ``run_server``): under gevent its own
    WSGIServer whose handler turns Nagle's algorithm off on each connection, so that the floor
    pays no delayed-ACK wait that the served application no longer pays; else socketio.run."""
    if MODE == "gevent":
        import socket

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


if __name__ == "__main__":
    serve(int(sys.argv[1]))
