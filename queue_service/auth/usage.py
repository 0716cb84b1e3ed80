"""Recording that an API token or a device was used: its ``last_used_at``/``last_seen_at``, at
minute resolution, for the staff pages and the clean-up of unused credentials.

It is bookkeeping on every authenticated request, so it must never hold one up:

- at most one write per row and minute of *real* time: under ``CLOCK_SPEED`` (the simulated day)
  the application's minute passes in a fraction of a second, and every request of one token
  would write;
- the write only when the stored value is older than that (the check in SQL, so requests that
  read the old value at once do not all write it);
- on PostgreSQL a request that finds the row locked by another one recording the same use skips
  it (``FOR UPDATE SKIP LOCKED``) instead of queueing behind it. Every request of an
  integration's one token did queue, as a convoy that held up a whole server under load.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import InstrumentedAttribute

from .. import clock
from ..db import is_sqlite, unit_of_work

RESOLUTION = timedelta(minutes=1)


def resolution() -> timedelta:
    """A minute of real time, measured on the application's clock."""
    return RESOLUTION * max(1.0, clock.speed())


def is_recent(used: datetime | None, now: datetime) -> bool:
    """``used`` is within the resolution of ``now``: nothing to write."""
    return used is not None and used >= now - resolution()


def record_use(column: InstrumentedAttribute, row_id: int, now: datetime) -> None:
    """Set ``column`` of row ``row_id`` to ``now`` unless it is recent or being set right now."""
    model = column.class_
    key = model.id
    due = select(key).where(key == row_id, or_(column.is_(None), column < now - resolution()))
    if not is_sqlite():  # SQLite has one writer at a time anyway, and no row locks to skip
        due = due.with_for_update(skip_locked=True)
    with unit_of_work() as session:
        session.execute(
            update(model)
            .where(key.in_(due))
            .values({column.key: now})
            # a loaded token or device (kept for the request) shows the new value
            .execution_options(synchronize_session="fetch")
        )
