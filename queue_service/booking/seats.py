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
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import (
    Integer,
    Table,
    bindparam,
    delete,
    or_,
    text,
    update,
)
from sqlalchemy.sql.selectable import TextualSelect
from sqlalchemy.types import TypeEngine

from ..db import StartOver, UTCDateTime
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


@dataclass(frozen=True)
class Ahead:
    """Rows a booking writes in the statement that claims its seats, ahead of them (PostgreSQL:
    data-modifying CTEs, so the appointment, its mail and its seats are one round trip): the
    CTEs' SQL text (fixed, so the statement is built once), the name of the CTE returning the
    appointment's ``id`` (no row: nothing is claimed), the values the statement returns
    besides the seats (SQL expressions, the appointment's id first), the parameters' types and
    values."""

    sql: str
    appointment: str
    returns: tuple[str, ...]
    types: tuple[tuple[str, TypeEngine], ...]
    values: dict[str, Any]


def _upsert_statement(rows: int, ahead: Ahead | None = None):
    """INSERT ... ON CONFLICT DO UPDATE ... WHERE stale of ``rows`` seats (``unit_start_<i>``,
    ``seat_no_<i>``) for one appointment, the same text for PostgreSQL and SQLite, built once
    per number of rows (SQLAlchemy compiles a multi-row ``insert().values([...])`` on every
    execution; a text statement's compiled form is cached). With ``ahead`` (PostgreSQL): its
    rows written first in the same statement, the seats for its appointment (in the VALUES
    order still); it returns a row per seat claimed (or one without a seat) with ``ahead``'s
    values."""
    key = (rows, ahead.sql if ahead else None)
    if key not in _UPSERTS:
        conflict = (
            "ON CONFLICT (office_id, unit_start, seat_no) DO UPDATE SET "
            "appointment_id = excluded.appointment_id, "
            "occupied_until = excluded.occupied_until "
            "WHERE slot_seats.occupied_until IS NOT NULL "
            "AND slot_seats.occupied_until <= :now "
            "RETURNING slot_seats.unit_start"
        )
        columns = "slot_seats (office_id, unit_start, seat_no, appointment_id, occupied_until)"
        types: tuple[tuple[str, TypeEngine], ...] = ()
        if ahead is None:
            values = ", ".join(
                f"(:office_id, :unit_start_{i}, :seat_no_{i}, :appointment_id, :until)"
                for i in range(rows)
            )
            sql = f"INSERT INTO {columns} VALUES {values} {conflict}"  # noqa: S608 (placeholders only)
        else:
            values = ", ".join(
                f"(:office_id, :unit_start_{i}, :seat_no_{i}, :until)" for i in range(rows)
            )
            returned = ", ".join(f"{r} AS ahead_{i}" for i, r in enumerate(ahead.returns))
            # placeholders and fixed names only
            sql = (
                f"WITH {ahead.sql}, claimed AS (INSERT INTO {columns} "  # noqa: S608
                f"SELECT v.office_id, v.unit_start, v.seat_no, {ahead.appointment}.id, v.until "
                f"FROM {ahead.appointment}, (VALUES {values}) "
                f"AS v (office_id, unit_start, seat_no, until) WHERE true {conflict}) "
                f"SELECT claimed.unit_start, {returned} "
                "FROM (SELECT 1 AS one) AS one LEFT OUTER JOIN claimed ON true"
            )
            types = ahead.types
        stamp = UTCDateTime()
        _UPSERTS[key] = (
            text(sql)
            .bindparams(
                bindparam("office_id", type_=Integer()),
                *([] if ahead else [bindparam("appointment_id", type_=Integer())]),
                bindparam("until", type_=stamp),
                bindparam("now", type_=stamp),
                *(bindparam(f"unit_start_{i}", type_=stamp) for i in range(rows)),
                *(bindparam(f"seat_no_{i}", type_=Integer()) for i in range(rows)),
                *(bindparam(name, type_=type_) for name, type_ in types),
            )
            .columns(unit_start=stamp)
        )
    return _UPSERTS[key]


def _upsert(
    session,
    wanted: SeatRequest,
    seats: list[tuple[datetime, int]],
    ahead: Ahead | None = None,
    **row,
) -> tuple[set, tuple]:
    """Claim these (unit start, seat number) seats in one statement; the unit starts of those
    that are ours now (they were free or stale), and ``ahead``'s returned values. The others'
    rows are locked all the same."""
    connection = session.connection()
    stmt = _upsert_statement(len(seats), ahead)
    values = {"office_id": wanted.office_id, "now": wanted.now, **row}
    for i, (unit_start, seat_no) in enumerate(seats):
        values[f"unit_start_{i}"] = unit_start
        values[f"seat_no_{i}"] = seat_no
    if ahead is None:
        return set(connection.execute(stmt, values).scalars()), ()
    values.update(ahead.values)
    rows = connection.execute(stmt, values).all()
    return {row[0] for row in rows if row[0] is not None}, tuple(rows[0][1:])


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
    taken, _ = read_live_seats(session, wanted)
    refuse_when_full(wanted, taken)
    return taken


@dataclass(frozen=True)
class Along:
    """A query of one value read with the live seats (``read_live_seats``): a scalar subquery's
    SQL text (fixed, so the statement is built once), its parameters' types and values; and
    the one-row select the read starts from (``first``: e.g. one that takes a lock first)."""

    sql: str
    types: tuple[tuple[str, TypeEngine], ...]
    values: dict[str, Any]
    first: str = "SELECT 1 AS one"


_READS: dict = {}


def _read_statement(units: int, along: Along | None) -> TextualSelect:
    """The live seats of ``units`` units (``seat_unit_<i>``), with ``along``'s value on every row
    and on one row at least when there are none, as text built once per number of units and
    ``along`` (a Core select was built, and its cache key computed, on every booking: a few
    hundred Python calls)."""
    key = (units, (along.sql, along.first) if along else None)
    found = _READS.get(key)
    if found is not None:
        return found
    in_units = ", ".join(f":seat_unit_{i}" for i in range(units))
    live = (
        f"slot_seats.office_id = :seat_office AND slot_seats.unit_start IN ({in_units}) "
        "AND (slot_seats.occupied_until IS NULL OR slot_seats.occupied_until > :seat_now)"
    )
    if along is None:
        sql = f"SELECT slot_seats.unit_start, slot_seats.seat_no FROM slot_seats WHERE {live}"  # noqa: S608 (placeholders only)
        types: tuple[tuple[str, TypeEngine], ...] = ()
    else:  # one row at least, for the value, joined with the seats there are
        sql = (
            f"SELECT slot_seats.unit_start, slot_seats.seat_no, {along.sql} AS along "  # noqa: S608
            f"FROM ({along.first}) AS one LEFT OUTER JOIN slot_seats ON {live}"
        )
        types = along.types
    stamp = UTCDateTime()
    found = _READS[key] = (
        text(sql)
        .bindparams(
            bindparam("seat_office", type_=Integer()),
            bindparam("seat_now", type_=stamp),
            *(bindparam(f"seat_unit_{i}", type_=stamp) for i in range(units)),
            *(bindparam(name, type_=type_) for name, type_ in types),
        )
        .columns(unit_start=stamp)
    )
    return found


def read_live_seats(
    session, wanted: SeatRequest, *, along: Along | None = None
) -> tuple[dict[datetime, set[int]], Any]:
    """The seat numbers live in each unit of the time, and the value of ``along`` (a query of
    one value) read in the same statement: one round trip for both."""
    unit_starts = wanted.unit_starts
    taken: dict[datetime, set[int]] = {u: set() for u in unit_starts}
    values = {"seat_office": wanted.office_id, "seat_now": wanted.now}
    for i, u in enumerate(unit_starts):
        values[f"seat_unit_{i}"] = u
    if along is not None:
        values.update(along.values)
    value = None
    for unit_start, seat_no, *rest in session.connection().execute(
        _read_statement(len(unit_starts), along), values
    ):
        if rest:
            value = rest[0]
        if unit_start is not None:
            taken[unit_start].add(seat_no)
    return taken, value


def refuse_when_full(wanted: SeatRequest, taken: dict[datetime, set[int]]) -> None:
    """SlotTaken when a unit has no seat left below the capacity."""
    capacity = wanted.capacity
    if any(len({n for n in numbers if n < capacity}) >= capacity for numbers in taken.values()):
        raise SlotTaken(N_("Someone else has just booked this time. Please choose another one."))


_SEAT_BY_SEAT = "qs_claim_seat_by_seat"


def claims_at_once(session) -> bool:
    """Whether ``claim`` tries all units in one statement in this transaction (else it claims
    seat by seat: the transaction started over after an earlier unit's seat was taken)."""
    return not session.info.get(_SEAT_BY_SEAT, False)


def claim(
    session,
    wanted: SeatRequest,
    *,
    appointment_id: int | None,
    until: datetime | None,
    live: dict[datetime, set[int]] | None = None,
    ahead: Ahead | None = None,
) -> tuple:
    """Take one seat below the capacity in each unit for the appointment, or raise SlotTaken.
    ``live``: what ``live_seats`` read for this request earlier in the transaction. ``ahead``
    (only while ``claims_at_once``, then without ``appointment_id``): rows written in the
    claim's first statement, ahead of the seats; their returned values are returned (the
    appointment's id None: it was not written, and no seat was claimed).

    Every claim locks seat rows in one global order, unit by unit and seat numbers ascending,
    so concurrent claims on PostgreSQL queue up behind each other instead of deadlocking. The
    first free number of every unit is tried in one statement (its rows locked in that order);
    when a unit's number was taken meanwhile, the last unit tries its next numbers, and an
    earlier one makes the transaction start over (its later units' rows are locked already),
    claiming seat by seat in the order this time."""
    taken = live if live is not None else live_seats(session, wanted)
    row = {"appointment_id": appointment_id, "until": until}
    free = {
        u: iter([n for n in range(wanted.capacity) if n not in taken[u]])
        for u in wanted.unit_starts
    }
    if session.info.pop(_SEAT_BY_SEAT, False):
        if ahead is not None:
            raise ValueError("rows ahead of the seats only while claims_at_once")
        for u in wanted.unit_starts:
            _claim_unit(session, wanted, u, free[u], row)
        return ()
    first = [(u, next(free[u], None)) for u in wanted.unit_starts]
    if any(n is None for _, n in first):
        raise SlotTaken(N_("Someone else has just booked this time. Please choose another one."))
    got, returned = _upsert(session, wanted, cast(list[tuple[datetime, int]], first), ahead, **row)
    if ahead is not None:
        if returned[0] is None:  # no appointment written: nothing claimed either
            return returned
        row["appointment_id"] = returned[0]
    missed = [u for u in wanted.unit_starts if u not in got]
    if not missed:
        return returned
    if missed != wanted.unit_starts[-1:]:
        session.info[_SEAT_BY_SEAT] = True
        raise StartOver()
    _claim_unit(session, wanted, missed[0], free[missed[0]], row)
    return returned


def _claim_unit(session, wanted: SeatRequest, u: datetime, numbers, row: dict) -> None:
    """The first of these seat numbers still free in unit ``u``, in ascending order."""
    for seat_no in numbers:
        if _upsert(session, wanted, [(u, seat_no)], **row)[0]:
            return
    raise SlotTaken(N_("Someone else has just booked this time. Please choose another one."))


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
