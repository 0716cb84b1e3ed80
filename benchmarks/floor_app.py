"""The floor for HTTP benchmarks (floors.md §4): a bare Flask JSON endpoint served exactly like
``queue-service serve`` (Flask-SocketIO's ``socketio.run`` on Werkzeug, threading mode).

    python benchmarks/floor_app.py PORT
"""

from __future__ import annotations

import sys
import time

from flask import Flask, jsonify
from flask_socketio import SocketIO

app = Flask(__name__)
socketio = SocketIO(app, async_mode="threading", logger=False, engineio_logger=False)


@app.get("/api/ping")
def ping():
    return jsonify(ok=True, ts=time.time(), queue="A", waiting=12)


@app.get("/healthz")
def healthz():
    return jsonify(status="ok")


if __name__ == "__main__":
    socketio.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        allow_unsafe_werkzeug=True,
        use_reloader=False,
        log_output=False,
    )
