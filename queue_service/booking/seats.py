"""Claiming and releasing seats: the database, not the application, keeps bookings within capacity.

``claim`` writes one row per unit with ``INSERT ... ON CONFLICT (office, unit, seat) DO UPDATE
... WHERE the existing seat is stale``: a seat is either free (no row, or a row whose
``occupied_until`` has passed) and becomes ours in that one statement, or it is someone else's and
the statement leaves it alone. Seat numbers only run up to the window's capacity, so the primary
key caps every unit at its capacity on PostgreSQL and SQLite alike. There is no
check-then-insert: the read of taken seats beforehand only picks the first numbers to try.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..errors import SlotTaken
from .models import SlotSeat

_seats = SlotSeat.__table__


def unit_starts(start: datetime, units: int, unit: timedelta) -> list[datetime]:
    return [start + unit * i for i in range(units)]


def _live(now: datetime):
    return or_(_seats.c.occupied_until.is_(None), _seats.c.occupied_until > now)


def _upsert(session, rows: list[dict], now: datetime) -> set[datetime]:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(_seats).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=[_seats.c.office_id, _seats.c.unit_start, _seats.c.seat_no],
        set_={
            "appointment_id": stmt.excluded.appointment_id,
            "occupied_until": stmt.excluded.occupied_until,
        },
        where=and_(_seats.c.occupied_until.is_not(None), _seats.c.occupied_until <= now),
    ).returning(_seats.c.unit_start)
    return {row[0] for row in session.execute(stmt)}


def claim(
    session, *, office_id: int, start: datetime, units: int, unit: timedelta, capacity: int,
    appointment_id: int, until: datetime | None, now: datetime,
) -> None:
    """Take one seat below ``capacity`` in each unit for the appointment, or raise SlotTaken."""
    wanted = unit_starts(start, units, unit)
    taken: dict[datetime, set[int]] = defaultdict(set)
    for unit_start, seat_no in session.execute(
        select(_seats.c.unit_start, _seats.c.seat_no).where(
            _seats.c.office_id == office_id, _seats.c.unit_start.in_(wanted), _live(now))
    ):
        taken[unit_start].add(seat_no)
    # Unit by unit, seat numbers ascending: every claim locks rows in the same global order, so
    # concurrent claims on PostgreSQL queue up behind each other instead of deadlocking.
    for u in wanted:
        for seat_no in (n for n in range(capacity) if n not in taken[u]):
            row = {"office_id": office_id, "unit_start": u, "seat_no": seat_no,
                   "appointment_id": appointment_id, "occupied_until": until}
            if _upsert(session, [row], now):
                break
        else:
            raise SlotTaken("Someone else has just booked this time. Please choose another one.")


def retain(
    session, *, appointment_id: int, units: int, until: datetime | None, now: datetime,
) -> bool:
    """Move the appointment's live seats to ``until``; False when they are no longer all live."""
    result = session.execute(
        update(_seats)
        .where(_seats.c.appointment_id == appointment_id, _live(now))
        .values(occupied_until=until)
    )
    if result.rowcount == units:
        return True
    # expired (and perhaps partly taken over): give back what is left, the caller claims anew
    session.execute(delete(_seats).where(_seats.c.appointment_id == appointment_id))
    return False


def release(session, *, appointment_id: int, at: datetime, now: datetime) -> int:
    """Let the appointment's live seats become free at ``at`` (never extends a release)."""
    return session.execute(
        update(_seats)
        .where(
            _seats.c.appointment_id == appointment_id,
            or_(_seats.c.occupied_until.is_(None), _seats.c.occupied_until > at),
            _live(now),
        )
        .values(occupied_until=at)
    ).rowcount


def purge_stale(session, before: datetime) -> int:
    """Delete seats that became free before ``before`` (housekeeping; never needed for safety)."""
    return session.execute(
        delete(_seats).where(_seats.c.occupied_until.is_not(None), _seats.c.occupied_until <= before)
    ).rowcount


def live_seat_count(session, appointment_id: int, now: datetime) -> int:
    return len(session.execute(
        select(_seats.c.seat_no).where(_seats.c.appointment_id == appointment_id, _live(now))
    ).all())
