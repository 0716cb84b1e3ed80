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


if __name__ == "__main__":
    from floor_serving import serve  # next to this script

    serve(app, socketio, int(sys.argv[1]), MODE)
