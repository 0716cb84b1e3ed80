"""Claiming and releasing seats: the database, not the application, keeps bookings within capacity.

``claim`` writes one row per unit with ``INSERT ... ON CONFLICT (office, unit, seat) DO UPDATE
... WHERE the existing seat is stale``: a seat is either free (no row, or a row whose
``occupied_until`` has passed) and becomes ours in that one statement, or it is someone else's and
the statement leaves it alone. Seat numbers only run up to the window's capacity, so the primary
key caps every unit at its capacity on PostgreSQL and SQLite alike. There is no
check-then-insert: the read of taken seats beforehand only picks the first numbers to try.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, cast

from sqlalchemy import Integer, Table, and_, bindparam, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..db import UTCDateTime
from ..errors import N_, SlotTaken
from .models import SlotSeat

if TYPE_CHECKING:
    from .slots import Slot

_seats = cast(Table, SlotSeat.__table__)  # a mapped class's table is a Table


def unit_starts(start: datetime, units: int, unit: timedelta) -> list[datetime]:
    return [start + unit * i for i in range(units)]


def _live(now: datetime):
    return or_(_seats.c.occupied_until.is_(None), _seats.c.occupied_until > now)


_UPSERTS: dict = {}


def _upsert_statement(dialect: str):
    """INSERT ... ON CONFLICT DO UPDATE ... WHERE stale, built once per dialect (building and
    compiling it per call cost more than the database work)."""
    if dialect not in _UPSERTS:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stamp = UTCDateTime()
        stmt = insert(_seats).values(
            office_id=bindparam("office_id", type_=Integer()),
            unit_start=bindparam("unit_start", type_=stamp),
            seat_no=bindparam("seat_no", type_=Integer()),
            appointment_id=bindparam("appointment_id", type_=Integer()),
            occupied_until=bindparam("until", type_=stamp),
        )
        _UPSERTS[dialect] = stmt.on_conflict_do_update(
            index_elements=[_seats.c.office_id, _seats.c.unit_start, _seats.c.seat_no],
            set_={
                "appointment_id": stmt.excluded.appointment_id,
                "occupied_until": stmt.excluded.occupied_until,
            },
            where=and_(
                _seats.c.occupied_until.is_not(None),
                _seats.c.occupied_until <= bindparam("now", type_=stamp),
            ),
        ).returning(_seats.c.unit_start)
    return _UPSERTS[dialect]


def _upsert(session, row: dict, now: datetime) -> bool:
    """Claim one seat: True when it is ours now (it was free or stale), False when taken."""
    connection = session.connection()
    stmt = _upsert_statement(connection.dialect.name)
    return connection.execute(stmt, {**row, "now": now}).first() is not None


@dataclass(frozen=True)
class SeatRequest:
    """One seat below ``capacity`` in each of ``units`` units from ``start``, as of ``now``: what
    ``live_seats`` reads and ``claim`` takes for a time."""

    office_id: int
    start: datetime
    units: int
    unit: timedelta
    capacity: int
    now: datetime

    @classmethod
    def for_slot(cls, slot: Slot, units: int, unit: timedelta, now: datetime) -> SeatRequest:
        return cls(slot.office_id, slot.start, units, unit, slot.capacity, now)

    @cached_property
    def unit_starts(self) -> list[datetime]:
        return unit_starts(self.start, self.units, self.unit)


def live_seats(session, wanted: SeatRequest) -> dict[datetime, set[int]]:
    """The seat numbers already live in each unit of the time; SlotTaken at once when a unit has
    none left below the capacity. A read without locks: it only spares a booking that cannot
    succeed its writes, and tells ``claim`` which numbers to try first."""
    taken: dict[datetime, set[int]] = {u: set() for u in wanted.unit_starts}
    for unit_start, seat_no in session.connection().execute(
        select(_seats.c.unit_start, _seats.c.seat_no).where(
            _seats.c.office_id == wanted.office_id,
            _seats.c.unit_start.in_(wanted.unit_starts),
            _live(wanted.now),
        )
    ):
        taken[unit_start].add(seat_no)
    capacity = wanted.capacity
    if any(len({n for n in numbers if n < capacity}) >= capacity for numbers in taken.values()):
        raise SlotTaken(N_("Someone else has just booked this time. Please choose another one."))
    return taken


def claim(
    session,
    wanted: SeatRequest,
    *,
    appointment_id: int,
    until: datetime | None,
    live: dict[datetime, set[int]] | None = None,
) -> None:
    """Take one seat below the capacity in each unit for the appointment, or raise SlotTaken.
    ``live``: what ``live_seats`` read for this request earlier in the transaction."""
    taken = live if live is not None else live_seats(session, wanted)
    # Unit by unit, seat numbers ascending: every claim locks rows in the same global order, so
    # concurrent claims on PostgreSQL queue up behind each other instead of deadlocking.
    for u in wanted.unit_starts:
        for seat_no in (n for n in range(wanted.capacity) if n not in taken[u]):
            row = {
                "office_id": wanted.office_id,
                "unit_start": u,
                "seat_no": seat_no,
                "appointment_id": appointment_id,
                "until": until,
            }
            if _upsert(session, row, wanted.now):
                break
        else:
            raise SlotTaken(
                N_("Someone else has just booked this time. Please choose another one.")
            )


def retain(
    session,
    *,
    appointment_id: int,
    units: int,
    until: datetime | None,
    now: datetime,
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
        delete(_seats).where(
            _seats.c.occupied_until.is_not(None), _seats.c.occupied_until <= before
        )
    ).rowcount
