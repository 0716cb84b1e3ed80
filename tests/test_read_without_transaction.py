"""Reads outside a unit of work run without a transaction on PostgreSQL (one round trip for a
statement, not BEGIN, the statement and ROLLBACK), while every unit of work stays one
transaction: queue_service/sessions.py."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select, update

from queue_service.auth.tokens import create_api_token
from queue_service.db import unit_of_work
from queue_service.extensions import db
from queue_service.offices.models import Office
from queue_service.offices.services import get_office
from queue_service.realtime.publish import current_seq
from queue_service.sessions import WriteOutsideUnitOfWork, in_autocommit_read, reading


@pytest.fixture
def statements(app, catalogue):
    """(SQL, whether it ran without a transaction) for each statement on the app's engine."""
    seen: list[tuple[str, bool]] = []

    def note(conn, cursor, statement, parameters, context, executemany) -> None:
        dbapi = conn.connection.dbapi_connection
        if conn.dialect.name == "postgresql":
            outside = bool(dbapi.autocommit)
        else:  # sqlite3: the BEGIN that SQLAlchemy sends itself opens one
            outside = not dbapi.in_transaction and not statement.startswith("BEGIN")
        seen.append((statement, outside))

    event.listen(db.engine, "before_cursor_execute", note)
    yield seen
    event.remove(db.engine, "before_cursor_execute", note)


def _phone(slug: str) -> str | None:
    with db.engine.connect() as conn:  # another connection: what is committed
        return conn.scalar(select(Office.phone).where(Office.slug == slug))


def test_a_safe_request_reads_without_a_transaction_on_postgresql(app, client, statements):
    response = client.get("/api/v1/offices/aegi/slots?services=PA")
    assert response.status_code == 200
    assert statements, "the search read the database"
    postgresql = db.engine.dialect.name == "postgresql"
    # PostgreSQL: every read is its own statement; SQLite keeps its (local) read transaction
    assert {outside for _, outside in statements} == {postgresql}


def test_a_change_request_keeps_its_transaction(app, client, statements, make_user):
    make_user("boss", role="admin", offices=())
    with app.app_context():
        token = create_api_token("boss", "Terminal")
    statements.clear()
    response = client.post(
        "/api/v1/offices/aegi/counters/1/open", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.get_json()
    assert statements and not any(outside for _, outside in statements)


def test_the_displays_reads_run_without_a_transaction_on_postgresql(app, statements):
    with app.app_context():
        with reading():
            current_seq("aegi")
        assert statements[-1][1] is (db.engine.dialect.name == "postgresql")
        db.session.rollback()
        current_seq("aegi")  # outside a read context: in a transaction, as before
        assert statements[-1][1] is False
        db.session.rollback()


def test_a_unit_of_work_after_such_reads_is_one_transaction(app, statements):
    before = _phone("aegi"), _phone("linden")
    with app.test_request_context(), reading():
        get_office("aegi")
        session = db.session()
        assert in_autocommit_read(session) is (db.engine.dialect.name == "postgresql")
        count = len(statements)
        with pytest.raises(RuntimeError), unit_of_work() as work:
            work.execute(update(Office).where(Office.slug == "aegi").values(phone="0511 1"))
            work.execute(update(Office).where(Office.slug == "linden").values(phone="0511 2"))
            assert not in_autocommit_read(work)
            raise RuntimeError("the work fails after its first writes")
        # both writes ran inside the work's transaction, and both were rolled back
        assert [outside for _, outside in statements[count:]] == [False] * len(statements[count:])
        assert (_phone("aegi"), _phone("linden")) == before
        with unit_of_work() as work:
            work.execute(update(Office).where(Office.slug == "aegi").values(phone="0511 3"))
        assert _phone("aegi") == "0511 3"


def test_a_write_after_such_reads_is_refused_and_a_write_first_gets_a_transaction(app, statements):
    """Reads and writes of one transaction share its connection: a write after a read without
    a transaction is refused (it would be committed statement by statement), and a transaction
    that begins with a write, in a read context, is a real one that sees its own writes."""
    postgresql = db.engine.dialect.name == "postgresql"
    before = _phone("aegi")
    with app.test_request_context(), reading():
        get_office("aegi")
        change = update(Office).where(Office.slug == "aegi").values(phone="0511 9")
        if postgresql:
            with pytest.raises(WriteOutsideUnitOfWork):
                db.session.execute(change)
        db.session.rollback()
        # a transaction that begins with the write: one connection, in a transaction
        db.session.execute(change)
        assert statements[-1][1] is False
        assert db.session.scalar(select(Office.phone).where(Office.slug == "aegi")) == "0511 9"
        assert statements[-1][1] is False  # the read after it on the same connection
        db.session.rollback()
    assert _phone("aegi") == before


def test_a_displays_heartbeat_reads_without_a_transaction_on_postgresql(app, statements):
    from queue_service.extensions import socketio

    client = socketio.test_client(app, namespace="/display")
    try:
        statements.clear()
        ack = client.emit("sync", {"office": "aegi"}, namespace="/display", callback=True)
        assert ack["ok"] and ack["office"] == "aegi"
        postgresql = db.engine.dialect.name == "postgresql"
        assert statements and {outside for _, outside in statements} == {postgresql}
    finally:
        client.disconnect(namespace="/display")
