"""The floor for the realtime benchmark (floors.md §1): a bare Flask-SocketIO server that does
nothing but join a room and broadcast, served exactly like ``queue-service serve`` (``socketio.run``)
in the same async mode, optionally through the same Redis message queue.

    python benchmarks/floor_realtime.py PORT MODE [REDIS_URL CHANNEL]

``join_office`` joins the office's room on ``/display``; ``POST /emit`` with ``{"number": ...}``
emits ``ticket_called`` to it from the request, as the bare examples do.
"""

from __future__ import annotations

import sys

MODE = sys.argv[2] if len(sys.argv) > 2 else "threading"
if MODE == "gevent":
    from gevent import monkey

    monkey.patch_all()

import time  # noqa: E402

import socketio as python_socketio  # noqa: E402
from flask import Flask, jsonify, request  # noqa: E402
from flask_socketio import SocketIO, emit, join_room  # noqa: E402

app = Flask(__name__)
options = {"async_mode": MODE, "logger": False, "engineio_logger": False}
if len(sys.argv) > 4:
    options["client_manager"] = python_socketio.RedisManager(sys.argv[3], channel=sys.argv[4])
socketio = SocketIO(app, **options)
seq = 0


@socketio.on("join_office", namespace="/display")
def join_office(data):
    join_room(f"office:{data['office']}")
    emit("display_state", {"seq": seq})
    return {"ok": True, "seq": seq}


@app.post("/emit")
def emit_call():
    global seq
    seq += 1
    body = request.get_json()
    socketio.emit(
        "ticket_called",
        {"number": body["number"], "counter": 1, "seq": seq, "server_time": time.time()},
        to=f"office:{body['office']}",
        namespace="/display",
    )
    return jsonify(number=body["number"], seq=seq)


@app.get("/healthz")
def healthz():
    return jsonify(status="ok")


if __name__ == "__main__":
    from floor_serving import serve  # next to this script

    serve(app, socketio, int(sys.argv[1]), MODE)
