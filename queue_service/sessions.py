"""The request session's choice of connection: reads outside a unit of work, on PostgreSQL,
run without a transaction of their own.

A read-only request on PostgreSQL (a status page, a slot search, a display's snapshot) used to
cost three round trips for one statement: psycopg's ``BEGIN``, the ``SELECT`` and the
``ROLLBACK`` at the teardown. At READ COMMITTED, the isolation this project runs at, each
statement of a transaction sees what was committed when *it* began, so a read transaction gives
its reads nothing that the statements alone would not: they run on an autocommit connection
(each statement its own transaction, one round trip), and the ``COMMIT`` or ``ROLLBACK`` that
ends the session is a no-op in psycopg for a connection with no transaction open.

What stays in a transaction, always:
- every unit of work (``db.unit_of_work``): it ends such a read first and begins its own
  transaction with the engine's default isolation, so its row locks, its writes and its
  commit are one transaction, exactly as before;
- everything outside a read context: requests with a method that may change state (POST,
  PUT, PATCH, DELETE), the scheduler's jobs, commands, migrations, ``db.engine.begin()``;
- SQLite (its BEGIN costs no round trip).

The read context is the request's method (GET, HEAD, OPTIONS; set by ``QueueApp.wsgi_app``) or
``reading()`` (the realtime dispatcher's queue reads, the displays' and desks' Socket.IO joins and
heartbeats). The choice is made at a transaction's first statement and kept to its end: a
transaction that begins with a write gets a real one, and a write after a read without one
raises ``WriteOutsideUnitOfWork`` (``QueueSession``).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event
from sqlalchemy.engine import Engine

# inside a unit of work (and there, on SQLite, BEGIN IMMEDIATE): set by db.unit_of_work
in_work = contextvars.ContextVar("qs_in_unit_of_work", default=False)
# a context whose reads may run without a transaction (a safe request, the displays' reads)
read_context = contextvars.ContextVar("qs_read_context", default=False)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# session.info: the engine the current transaction's statements go to, and the one they would
# go to without this choice ((engine, engine) for a real transaction)
CHOSEN = "qs_chosen_bind"
_VARIANT = "_qs_autocommit_variant"


def _autocommit_engine(engine: Engine) -> Engine | None:
    """The autocommit variant of ``engine`` (the same pool), None where reads keep their
    transaction (SQLite)."""
    try:
        return engine.__dict__[_VARIANT]
    except KeyError:
        # kept on the engine itself (not in a module's dict, which would keep every engine a
        # test run makes alive with its pool)
        variant = (
            engine.execution_options(isolation_level="AUTOCOMMIT")
            if engine.dialect.name == "postgresql"
            else None
        )
        engine.__dict__[_VARIANT] = variant
        return variant


class QueueSession(FlaskSession):
    """Flask-SQLAlchemy's session; outside a unit of work, in a read context, statements go to
    the engine's autocommit variant on PostgreSQL (see the module's docstring).

    The choice is made once per transaction of the session, at its first statement, and kept
    to its end: reads and writes of one transaction always share one connection. A transaction
    that begins with a write (a flush, or an INSERT, UPDATE or DELETE) gets a real one; a write
    in a transaction that began as such a read is refused (``WriteOutsideUnitOfWork``): it would
    be committed statement by statement."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        engine = super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
        if in_work.get() or bind is not None or type(engine) is not Engine:
            return engine  # a unit of work's transaction (its own, begun fresh), or given
        chosen = self.info.get(CHOSEN)
        if chosen is not None and chosen[0] is engine:
            return chosen[1]
        reading = engine
        if (
            read_context.get()
            and not (self.new or self.dirty or self.deleted)
            and not getattr(clause, "is_dml", False)
        ):
            reading = _autocommit_engine(engine) or engine
        self.info[CHOSEN] = (engine, reading)  # forgotten when the transaction ends
        return reading


class WriteOutsideUnitOfWork(RuntimeError):
    """A write in a transaction that began as a read without a database transaction."""


@event.listens_for(QueueSession, "before_flush")
def _no_flush_in_autocommit_read(session, flush_context, instances) -> None:
    if in_autocommit_read(session):
        raise WriteOutsideUnitOfWork("changes flushed in a read-only transaction: use unit_of_work")


@event.listens_for(QueueSession, "do_orm_execute")
def _no_dml_in_autocommit_read(state) -> None:
    # INSERT, UPDATE, DELETE (a text() statement cannot be told, and passes)
    if (state.is_insert or state.is_update or state.is_delete) and in_autocommit_read(
        state.session
    ):
        raise WriteOutsideUnitOfWork("a write in a read-only transaction: use unit_of_work")


@event.listens_for(QueueSession, "after_transaction_end")
def _forget_choice(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(CHOSEN, None)


def in_autocommit_read(session) -> bool:
    """The session's current transaction is a read without a database transaction."""
    chosen = session.info.get(CHOSEN)
    return chosen is not None and chosen[1] is not chosen[0]


@contextmanager
def reading() -> Iterator[None]:
    """Reads in this block (outside a unit of work) may run without a transaction."""
    token = read_context.set(True)
    try:
        yield
    finally:
        read_context.reset(token)
