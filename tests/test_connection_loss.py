"""PostgreSQL drops the request's own connection at the worst moments of issuing a ticket: at the
commit, and after the commit while the answer is being finished (what ``pg_ctl stop -m fast``
does to every backend). The backend is really terminated (``pg_terminate_backend`` from a
second connection, fired by an engine or request hook), not mocked. Never a 500; a 503 says so
with Retry-After; what was acknowledged (201) is stored, what was not can be repeated safely."""

from __future__ import annotations

import threading
import time

import pytest
from flask import g
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.pool import NullPool

from queue_service.auth.tokens import create_api_token
from queue_service.extensions import db
from queue_service.tickets.models import Ticket

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def db_url(pg_schema):
    """These tests are about PostgreSQL's connections: no SQLite run."""
    return pg_schema


@pytest.fixture
def killer(app):
    """``killer(pid)`` terminates that backend and waits until it is gone."""
    admin = create_engine(db.engine.url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    killed: list[int] = []

    def _kill(pid: int) -> None:
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
            deadline = time.monotonic() + 10
            gone = "SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"
            while conn.execute(text(gone), {"pid": pid}).scalar():
                assert time.monotonic() < deadline, f"backend {pid} still there"
                time.sleep(0.01)
        killed.append(pid)

    _kill.killed = killed
    yield _kill
    admin.dispose()


@pytest.fixture
def bearer(app, catalogue, make_user, thursday_morning):
    make_user("clerk-aegi", "clerk", ["aegi"])
    return {"Authorization": f"Bearer {create_api_token('clerk-aegi')}"}


def backend_pid(connection) -> int:
    return connection.connection.dbapi_connection.info.backend_pid


def served(app, method: str, path: str, **kwargs):
    """One request as a server runs it: in its own app context (so the session is closed at the
    end of the request, as in production), on another thread. A WSGI server answers 500 to an
    exception that escapes the application; it is returned here as that exception."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["response"] = getattr(app.test_client(), method)(path, **kwargs)
        except BaseException as exc:  # what gunicorn would turn into a 500
            outcome["escaped"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    assert "escaped" not in outcome, f"500: {outcome['escaped']!r} escaped the application"
    return outcome["response"]


def _inserts_ticket(statement: str) -> bool:
    """The issue's INSERT of the ticket (on PostgreSQL in a WITH clause of the statement that
    also takes its number and writes its event)."""
    return "INSERT INTO TICKETS (" in statement.upper()


def stored_tickets() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Ticket))


def test_a_connection_killed_at_the_tickets_commit_answers_503_and_the_repeat_stores_it_once(
    app, bearer, killer
):
    def note_insert(conn, cursor, statement, parameters, context, executemany):
        if _inserts_ticket(statement):
            conn.info["qs_test_ticket_inserted"] = True

    def kill_at_commit(conn):
        if conn.info.pop("qs_test_ticket_inserted", False):
            killer(backend_pid(conn))

    event.listen(db.engine, "before_cursor_execute", note_insert)
    event.listen(db.engine, "commit", kill_at_commit)
    headers = {**bearer, "Idempotency-Key": "tap-1"}
    try:
        answer = served(
            app, "post", "/api/v1/offices/aegi/tickets", json={"service": "PA"}, headers=headers
        )
    finally:
        event.remove(db.engine, "commit", kill_at_commit)
        event.remove(db.engine, "before_cursor_execute", note_insert)
    assert len(killer.killed) == 1  # the commit really lost its connection
    assert answer.status_code == 503, answer.get_data(as_text=True)[:500]
    assert answer.mimetype == "application/problem+json"
    assert int(answer.headers["Retry-After"]) > 0
    assert stored_tickets() == 0  # the commit never reached the database: nothing acknowledged

    # service resumes by itself; the repeat with the same key stores the ticket once
    again = served(
        app, "post", "/api/v1/offices/aegi/tickets", json={"service": "PA"}, headers=headers
    )
    assert again.status_code == 201, again.get_data(as_text=True)[:500]
    assert stored_tickets() == 1


def test_a_connection_killed_after_the_commit_still_answers_201_and_keeps_the_ticket(
    app, bearer, killer
):
    """The answer is made (201) and the session still holds the read transaction of the waiting
    estimate when PostgreSQL drops the connection; closing the session must not turn the
    acknowledged ticket into a 500 (seen through nginx in the fault run of 2026-12-03)."""

    @app.after_request
    def kill_before_the_session_closes(response):
        if response.status_code == 201 and not killer.killed:
            # a read transaction as the waiting estimate leaves it (here a bearer's "last used"
            # was written and committed after it, so it is read again)
            db.session.execute(text("SELECT count(*) FROM tickets"))
            killer(backend_pid(db.session.connection()))
        return response

    answer = served(
        app,
        "post",
        "/api/v1/offices/aegi/tickets",
        json={"service": "PA"},
        headers={**bearer, "Idempotency-Key": "tap-2"},
    )
    assert len(killer.killed) == 1
    assert answer.status_code == 201, answer.get_data(as_text=True)[:500]
    token = answer.get_json()["token"]
    assert stored_tickets() == 1
    assert db.session.scalar(select(Ticket.token)) == token
    # the next request gets a working connection (the dead one was not handed out again)
    status = served(app, "get", f"/api/v1/tickets/{token}")
    assert status.status_code == 200, status.get_data(as_text=True)[:500]


def test_a_connection_killed_while_reading_after_the_commit_answers_503_that_says_so(
    app, bearer, killer
):
    """The ticket is committed, then the request's next read (its waiting estimate) loses the
    connection: a 503 (never 500) that does not claim that nothing was changed, and the repeat
    with the same Idempotency-Key returns that very ticket."""

    @app.before_request
    def watch_this_request():
        g.qs_test_watch = True  # the realtime delivery reads in an app context of its own

    def note_insert(conn, cursor, statement, parameters, context, executemany):
        if _inserts_ticket(statement):
            conn.info["qs_test_ticket_inserted"] = True
        elif (
            g.get("qs_test_committed")
            and not killer.killed
            and statement.lstrip().upper().startswith("SELECT")
        ):
            killer(backend_pid(conn))

    def note_commit(conn):
        if conn.info.pop("qs_test_ticket_inserted", False) and g.get("qs_test_watch"):
            g.qs_test_committed = True

    event.listen(db.engine, "before_cursor_execute", note_insert)
    event.listen(db.engine, "commit", note_commit)
    headers = {**bearer, "Idempotency-Key": "tap-3"}
    # issued past the walk-in forecast (staff, ``force``): an admitted walk-in takes its estimate
    # from the forecast's snapshot inside the transaction, a forced one reads it after the commit
    body = {"service": "PA", "force": True}
    try:
        answer = served(app, "post", "/api/v1/offices/aegi/tickets", json=body, headers=headers)
    finally:
        event.remove(db.engine, "commit", note_commit)
        event.remove(db.engine, "before_cursor_execute", note_insert)
    assert len(killer.killed) == 1
    assert answer.status_code == 503, answer.get_data(as_text=True)[:500]
    assert answer.mimetype == "application/problem+json"
    assert int(answer.headers["Retry-After"]) > 0
    assert "Nothing was changed" not in answer.get_json()["detail"]
    assert stored_tickets() == 1
    again = served(app, "post", "/api/v1/offices/aegi/tickets", json=body, headers=headers)
    assert again.status_code == 201
    assert stored_tickets() == 1
