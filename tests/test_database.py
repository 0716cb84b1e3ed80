"""Pooled PostgreSQL connections: no round trip to check a connection that was just in use, and
an idle one that died (database restart, failover) is replaced without an error."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from queue_service import create_app
from queue_service.db import unit_of_work
from queue_service.extensions import db


@pytest.fixture
def pg_app(pg_empty_database_url):
    def make(**config):
        return create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "test",
                "SQLALCHEMY_DATABASE_URI": pg_empty_database_url,
                **config,
            }
        )

    yield make


class Pings(list):
    """Counts the dialect's connection pings of an app's engine."""

    def __init__(self, monkeypatch):
        super().__init__()
        self.monkeypatch = monkeypatch

    def watch(self, app) -> None:
        with app.app_context():
            dialect = db.engine.dialect
            original = dialect.do_ping
            self.monkeypatch.setattr(
                dialect, "do_ping", lambda conn: self.append(1) or original(conn)
            )


@pytest.fixture
def pings(monkeypatch):
    return Pings(monkeypatch)


def transactions(app, count: int) -> None:
    with app.app_context():
        for _ in range(count):
            with unit_of_work() as session:
                session.execute(text("SELECT 1"))
            db.session.remove()


def test_a_connection_in_use_is_not_pinged_before_every_transaction(pg_app, pings):
    app = pg_app()
    pings.watch(app)
    transactions(app, 10)
    assert len(pings) == 0


def test_an_idle_connection_is_pinged_and_a_dead_one_replaced(pg_app, pings):
    app = pg_app(DATABASE_PING_IDLE_SECONDS=0.0)
    pings.watch(app)
    transactions(app, 1)
    with app.app_context():
        name = db.engine.url.database
        admin = create_engine(db.engine.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:  # the server drops the pooled connection meanwhile
            dropped = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :n"
                ),
                {"n": name},
            ).scalar()
    finally:
        admin.dispose()
    assert dropped >= 1
    transactions(app, 2)  # no error: the ping found the dead connection and the pool replaced it
    assert len(pings) >= 2
    with app.app_context():
        db.engine.dispose()


def test_a_session_that_cannot_close_gives_its_connection_up(sqlite_app, monkeypatch):
    """The database dropped the connection under a request: closing the session fails, and
    close_request_session invalidates the connection (never back to the pool) and forgets the
    session, without failing the request."""
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError

    from queue_service.health import close_request_session

    with sqlite_app.app_context():
        invalidated = []
        event.listen(db.engine, "invalidate", lambda dbapi, record, exc: invalidated.append(dbapi))
        session = db.session()
        raw = session.connection().connection.dbapi_connection

        def broken_close():
            raise OperationalError("ROLLBACK", {}, Exception("server closed the connection"))

        monkeypatch.setattr(session, "close", broken_close)
        close_request_session()
        assert invalidated == [raw]
        assert not db.session.registry.has()
