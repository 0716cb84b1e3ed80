"""The write floor for bench_queue.py: the least a ticket issue can cost through HTTP, served
exactly like ``queue-service serve`` (gevent, ``floor_serving.py``).

``POST /api/v1/offices/<office>/tickets`` (the kiosk's path) with a JSON body ``{"service": "PA"}`` does, in one
transaction of its own: bump the office's counter of the day (an upsert that returns the new
value, as ``numbering.bump`` does) and insert the ticket with its number, a random token and the
time; then it answers 201 with a small JSON body. Written with the database driver alone (sqlite3,
or psycopg with one connection per concurrent request), no ORM, no authentication, no validation
beyond the body being a JSON object, no admission rules, no event and no push: what is left when
everything the product adds to a ticket is taken away. SQLite runs with the application's
pragmas (WAL, ``synchronous=NORMAL``, ``BEGIN IMMEDIATE``).

    python benchmarks/floor_write_app.py PORT DATABASE_URL
"""

from __future__ import annotations

import sys

from gevent import monkey

monkey.patch_all()  # first, as queue_service/__init__.py does

import secrets  # noqa: E402
import sqlite3  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from datetime import UTC, date, datetime  # noqa: E402

from flask import Flask, abort, jsonify, request  # noqa: E402
from flask_socketio import SocketIO  # noqa: E402
from gevent.queue import LifoQueue  # noqa: E402

URL = sys.argv[2]
DAY = date(2026, 11, 26)
COUNTER = (
    "INSERT INTO floor_counters (office, day, value) VALUES ({p}, {p}, 1) "
    "ON CONFLICT (office, day) DO UPDATE SET value = floor_counters.value + 1 RETURNING value"
)
TICKET = (
    "INSERT INTO floor_tickets (office, day, seq, number, service, token, issued_at) "
    "VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p})"
)
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS floor_counters (office VARCHAR(40), day DATE, value INTEGER "
    "NOT NULL, PRIMARY KEY (office, day))",
    "CREATE TABLE IF NOT EXISTS floor_tickets (id {serial} PRIMARY KEY, office VARCHAR(40) NOT "
    "NULL, day DATE NOT NULL, seq INTEGER NOT NULL, number VARCHAR(8) NOT NULL, service "
    "VARCHAR(8) NOT NULL, token VARCHAR(64) NOT NULL UNIQUE, issued_at {stamp} NOT NULL, "
    "UNIQUE (office, day, seq))",
)

app = Flask(__name__)
socketio = SocketIO(app, async_mode="gevent", logger=False, engineio_logger=False)

if URL.startswith("sqlite"):
    path = URL.split("///", 1)[1]
    _sqlite = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
        _sqlite.execute(f"PRAGMA {pragma}")
    for statement in SCHEMA:
        _sqlite.execute(statement.format(serial="INTEGER", stamp="TIMESTAMP"))
    COUNTER, TICKET = COUNTER.format(p="?"), TICKET.format(p="?")

    def stored(value):
        return value.isoformat()  # as text, the way SQLAlchemy stores them in SQLite

    @contextmanager
    def transaction():
        # sqlite3 never yields to another greenlet: one connection serves every request
        _sqlite.execute("BEGIN IMMEDIATE")
        try:
            yield _sqlite
        except BaseException:
            _sqlite.execute("ROLLBACK")
            raise
        _sqlite.execute("COMMIT")

else:
    import psycopg

    conninfo = URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as setup:
        for statement in SCHEMA:
            setup.execute(statement.format(serial="SERIAL", stamp="TIMESTAMPTZ"))
    COUNTER, TICKET = COUNTER.format(p="%s"), TICKET.format(p="%s")

    def stored(value):
        return value

    _idle: LifoQueue = LifoQueue()

    @contextmanager
    def transaction():
        # one connection per concurrent request, kept open (a pool that fits the clients)
        connection = _idle.get_nowait() if _idle.qsize() else psycopg.connect(conninfo)
        try:
            with connection.transaction():
                yield connection
        finally:
            _idle.put(connection)


@app.post("/api/v1/offices/<office>/tickets")
def issue(office: str):
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("service"), str):
        abort(400)
    service = body["service"][:8]
    token = secrets.token_urlsafe(16)
    with transaction() as connection:
        (seq,) = connection.execute(COUNTER, (office, stored(DAY))).fetchone()
        number = f"{service[0]}{seq:03d}"
        connection.execute(
            TICKET,
            (office, stored(DAY), seq, number, service, token, stored(datetime.now(UTC))),
        )
    return jsonify(number=number, token=token, status="waiting"), 201


@app.get("/healthz")
def healthz():
    return jsonify(status="ok")


if __name__ == "__main__":
    from floor_serving import serve  # next to this script

    serve(app, socketio, int(sys.argv[1]), "gevent")
