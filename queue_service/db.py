"""Database plumbing: the aware-UTC column type, SQLite set-up and the unit of work.

Every service that changes state runs inside ``unit_of_work()``: on SQLite it opens the write
transaction with ``BEGIN IMMEDIATE`` (one writer, no SQLITE_BUSY on upgrade), on PostgreSQL with
the default READ COMMITTED plus explicit row locks. It commits, then runs the after-commit hooks
(realtime pushes, mail) registered during the work. Serialization failures and deadlocks are
retried a bounded number of times by ``run_in_transaction``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TypeVar

from flask import current_app, g, has_request_context
from flask_migrate import upgrade
from sqlalchemy import DateTime, Enum, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from . import clock
from .extensions import db
from .sessions import in_autocommit_read, in_work

log = logging.getLogger(__name__)
T = TypeVar("T")

# SQLite has one writer. Threads of this process queue here for it instead of polling in
# SQLite's busy handler (which sleeps up to 100 ms per try and is unfair under load). This is
# only about waiting well: BEGIN IMMEDIATE and the constraints keep the data right without it
# (the concurrency tests run with SQLITE_WRITER_LOCK off), and other processes still meet the
# busy timeout. PostgreSQL does not use it.
_sqlite_writers = threading.RLock()


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as UTC; always returns aware UTC (SQLite keeps naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record):
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    # Let SQLAlchemy emit BEGIN itself (pysqlite's implicit BEGIN breaks transactions).
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn):
    if conn.dialect.name != "sqlite":
        return
    conn.exec_driver_sql("BEGIN IMMEDIATE" if in_work.get() else "BEGIN")


def ping_idle_connections(engine: Engine, idle_seconds: float) -> None:
    """Check a pooled connection with a round trip only when it has been idle ``idle_seconds``.

    ``pool_pre_ping`` pings on every checkout, i.e. one extra round trip per transaction, while
    a connection in use every few seconds is known to be alive. One that sat idle (across a
    database restart, a failover, a firewall's idle timeout) is pinged and silently replaced if
    it is dead. A connection that dies while busy fails its statement either way.
    """
    if engine in _pinging:
        return
    _pinging.add(engine)
    dialect = engine.dialect

    def checkin(dbapi_connection, record) -> None:
        record.info["qs_idle_since"] = time.monotonic()

    def checkout(dbapi_connection, record, proxy) -> None:
        since = record.info.get("qs_idle_since")
        if since is None or time.monotonic() - since < idle_seconds:
            return  # just made, or in use moments ago
        try:
            alive = dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("an idle pooled connection is gone") from exc
        if not alive:
            raise DisconnectionError("an idle pooled connection is gone")

    event.listen(engine, "checkin", checkin)
    event.listen(engine, "checkout", checkout)


_pinging: weakref.WeakSet = weakref.WeakSet()


def upgrade_database() -> None:
    """Apply the migrations up to the head (in an app context: the app's database)."""
    upgrade()


def is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


_KEPT = "qs_kept_after_commit"


@contextmanager
def unit_of_work() -> Iterator:
    """A write transaction on the request's session: commit on success, roll back on error."""
    session = db.session()
    principals = _principals(session)
    if (
        session.in_transaction()
        and not is_sqlite()
        and _only_read(session)
        and not in_autocommit_read(session)
    ):
        # PostgreSQL reads at READ COMMITTED: each statement sees what was committed when it
        # began, so the request's read transaction can go on as the write transaction (one
        # COMMIT and one BEGIN, two round trips, less per change). Loaded objects and what was
        # kept for the transaction are forgotten all the same: the work reads current rows.
        # (A read without a transaction, queue_service/sessions.py, is ended below instead: its
        # connection has none to go on with, and its commit costs no round trip.)
        _expire_all_but(session, principals)
        _forget_transaction_memos(session)
    elif session.in_transaction():
        # End any read transaction so the write starts fresh (and IMMEDIATE on SQLite), and
        # expire every loaded object, so the work reads current rows.
        if principals:
            session.expire_on_commit = False
            try:
                session.commit()
            finally:
                session.expire_on_commit = True
            _expire_all_but(session, principals)
        else:
            session.commit()
    elif session.info.pop(_KEPT, False):
        # what the last unit of work kept is not current any more
        _expire_all_but(session, principals)
    token = in_work.set(True)
    serialize = is_sqlite() and current_app.config.get("SQLITE_WRITER_LOCK", True)
    if serialize:
        _sqlite_writers.acquire()
    try:
        yield session
        # The objects keep what this transaction wrote and read under its locks: the caller's
        # response is built from them without reloading each one (the next unit of work, and
        # every rollback, still starts from current rows).
        session.expire_on_commit = False
        _note_commit_attempt()
        try:
            session.commit()
        finally:
            session.expire_on_commit = True
        session.info[_KEPT] = True
    except BaseException:
        session.rollback()
        raise
    finally:
        if serialize:
            _sqlite_writers.release()
        in_work.reset(token)


_PRINCIPALS = "qs_principals"


def keep_loaded_for_request(principal: object) -> None:
    """Keep the request's authenticated user or device loaded across its units of work.

    It was authenticated from its row, read at the start of the request; expiring it with
    everything else made every change reload it (a statement and an ORM refresh per request)
    only to read the same role and office again. Authentication holds for the request, as it
    does for its other checks before the change; the next request reads the row again.
    """
    if has_request_context():
        g.setdefault(_PRINCIPALS, []).append(principal)


def _principals(session) -> list:
    if not has_request_context():
        return []
    return [p for p in g.get(_PRINCIPALS, ()) if p in session]


def _expire_all_but(session, kept: list) -> None:
    if not kept:
        session.expire_all()
        return
    for obj in list(session.identity_map.values()):
        if not any(obj is p for p in kept):
            session.expire(obj)


_WROTE = "qs_tables_written"  # the tables the session's transaction wrote so far
UNKNOWN_TABLE = "*"  # a statement whose table is not known (text)
_TRANSACTION_MEMOS: set[str] = set()


def forget_when_work_begins(key: str) -> None:
    """``session.info[key]`` holds what was read in the current transaction: dropped when a
    unit of work continues a read transaction (as a commit drops it otherwise)."""
    _TRANSACTION_MEMOS.add(key)


def _forget_transaction_memos(session) -> None:
    for key in _TRANSACTION_MEMOS:
        session.info.pop(key, None)


def _only_read(session) -> bool:
    """Nothing written, pending or waiting for a commit in the session's transaction so far
    (else ending it with a commit, as before the work, is what keeps those writes)."""
    return not (
        session.new
        or session.dirty
        or session.deleted
        or session.info.get(_WROTE)
        or session.info.get("after_commit")
        or session.in_nested_transaction()
    )


def tables_written(session) -> set[str]:
    """The tables the session's current transaction has written (flushes and statements), with
    ``UNKNOWN_TABLE`` for a statement that names none (text): forgotten at the commit and at the
    rollback (a savepoint's rollback leaves the outer transaction's)."""
    return session.info.get(_WROTE) or set()


def _note_flush(session, flush_context) -> None:
    written = session.info.setdefault(_WROTE, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        written.add(getattr(obj, "__tablename__", UNKNOWN_TABLE))


def _note_orm_write(state) -> None:
    if not state.is_select:  # DML names its table; text, whose effect is unknown, does not
        table = getattr(state.statement, "table", None)
        name = getattr(table, "name", None) or UNKNOWN_TABLE
        state.session.info.setdefault(_WROTE, set()).add(name)


def _forget_writes(session) -> None:
    session.info.pop(_WROTE, None)


def _forget_writes_unless_nested(session, previous) -> None:
    if not previous.nested:  # a savepoint's rollback leaves the outer transaction's writes
        _forget_writes(session)


def _note_commit_attempt() -> None:
    # from here on a lost connection may come after the change was saved: the 503 must not
    # claim that nothing was changed (health.database_unavailable)
    if has_request_context():
        g.qs_commit_attempted = True


def commit_attempted() -> bool:
    """This request reached a unit of work's commit (so its change may have been saved)."""
    return has_request_context() and bool(g.get("qs_commit_attempted"))


def in_unit_of_work() -> bool:
    """True inside ``unit_of_work()`` (for code that must be part of the caller's change)."""
    return in_work.get()


def after_commit(callback: Callable[[], None]) -> None:
    """Run ``callback`` once the current transaction has committed (dropped on rollback)."""
    db.session.info.setdefault("after_commit", []).append(callback)


def _run_after_commit(session) -> None:
    callbacks = session.info.pop("after_commit", [])
    for callback in callbacks:
        try:
            callback()
        except Exception:  # a failed push or mail never undoes a committed change
            log.exception("after-commit hook failed")


def _drop_after_commit(session) -> None:
    session.info.pop("after_commit", None)


def install_session_hooks() -> None:
    if not event.contains(Session, "after_commit", _run_after_commit):
        event.listen(Session, "after_commit", _run_after_commit)
        event.listen(Session, "after_soft_rollback", lambda s, t: _drop_after_commit(s))
        event.listen(Session, "after_flush", _note_flush)
        event.listen(Session, "do_orm_execute", _note_orm_write)
        event.listen(Session, "after_commit", _forget_writes)
        event.listen(Session, "after_soft_rollback", _forget_writes_unless_nested)


_RETRY_SQLSTATES = {"40001", "40P01"}


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, OperationalError) and "database is locked" in str(exc):
        return True
    if isinstance(exc, DBAPIError):
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return code in _RETRY_SQLSTATES
    return False


class StartOver(Exception):
    """Raised by a unit of work that must be rolled back and run once more from the start
    (e.g. it would otherwise take a row lock out of the global order); ``run_in_transaction``
    runs it again at once, up to three times, whatever its attempts."""


def run_in_transaction(work: Callable[..., T], *args, attempts: int = 4, **kwargs) -> T:
    """Run ``work(session, ...)`` in a unit of work, retrying serialization failures."""
    attempt = started_over = 1
    while True:
        try:
            with unit_of_work() as session:
                return work(session, *args, **kwargs)
        except StartOver:
            if started_over == 3:
                raise
            started_over += 1
        except DBAPIError as exc:
            if attempt == attempts or not _retryable(exc):
                raise
            log.warning(
                "retrying transaction after %s (attempt %d)", exc.__class__.__name__, attempt
            )
            time.sleep(random.uniform(0.005, 0.03) * attempt)
            attempt += 1


def utcnow_default() -> datetime:
    return clock.now()


def str_enum(enum_cls, length: int = 20):
    """A portable enum column storing the members' values (not their names) as VARCHAR."""
    return Enum(
        enum_cls,
        native_enum=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )
