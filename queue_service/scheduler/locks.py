"""The lock that makes one scheduler active per deployment.

- PostgreSQL: a session-level ``pg_try_advisory_lock`` on a dedicated connection. PostgreSQL
  releases it when that connection ends (process killed, network gone: TCP keepalives), so a
  standby process can take over.
- SQLite: an exclusive ``flock`` on a file next to the database file; the kernel releases it
  when the process ends.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Protocol

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

# advisory locks are per database, so one key serves every deployment
LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"queue_service.scheduler").digest()[:8], "big", signed=True
)


class SchedulerLock(Protocol):
    description: str

    def try_acquire(self) -> bool: ...

    def still_held(self) -> bool: ...

    def release(self) -> None: ...


class PostgresAdvisoryLock:
    def __init__(self, database_url: str, key: int = LOCK_KEY):
        self.key = key
        self.description = f"PostgreSQL advisory lock {key}"
        self._engine = create_engine(
            database_url,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
            connect_args={
                "application_name": "queue-service scheduler",
                "keepalives": 1,
                "keepalives_idle": 10,
                "keepalives_interval": 5,
                "keepalives_count": 3,
            },
        )
        self._conn: Connection | None = None

    def try_acquire(self) -> bool:
        try:
            if self._conn is None:
                self._conn = self._engine.connect()
            return bool(
                self._conn.execute(
                    text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}
                ).scalar()
            )
        except SQLAlchemyError as exc:
            log.warning(
                "cannot reach PostgreSQL for the scheduler lock: %s", exc.__class__.__name__
            )
            self._close()
            return False

    def still_held(self) -> bool:
        if self._conn is None:
            return False
        try:
            held = self._conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND pid = pg_backend_pid()"
                )
            ).scalar()
            return bool(held)
        except SQLAlchemyError:
            self._close()
            return False

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            except SQLAlchemyError:
                pass
        self._close()

    def _close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except SQLAlchemyError:
                pass
            self._conn = None


class FileLock:
    def __init__(self, path: Path):
        self.path = path
        self.description = f"file lock {path}"
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        import fcntl

        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def still_held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            import fcntl

            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class NoLock:
    """For an in-memory database: nothing else can share it."""

    description = "no lock (in-memory database)"

    def try_acquire(self) -> bool:
        return True

    def still_held(self) -> bool:
        return True

    def release(self) -> None:
        pass


def lock_for(database_url: str) -> SchedulerLock:
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return PostgresAdvisoryLock(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return FileLock(Path(url.database + ".scheduler.lock"))
    return NoLock()
