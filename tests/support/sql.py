"""The SQL statements a block of code sends, for tests that count round trips."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from queue_service.extensions import db


@contextmanager
def statements_sent() -> Iterator[list[str]]:
    """Every statement sent on the application's engine inside the block, in order."""
    sent: list[str] = []

    def seen(conn, cursor, statement, *args):
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
