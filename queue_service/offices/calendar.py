"""When offices are open: weekly windows, public holidays (Lower Saxony), closures, mobile dates.

All answers are computed for an office-local calendar day and returned as aware UTC intervals,
so they stay right across the DST changes (29 March and 25 October 2026).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from itertools import chain
from zoneinfo import ZoneInfo

import holidays
from flask import current_app
from sqlalchemy import BindParameter, bindparam, event, or_, select
from sqlalchemy.orm import Session

from .. import clock
from ..db import forget_when_work_begins
from ..extensions import db
from . import revision
from .models import Closure, MobileEvent, Office, OpeningWindow, WindowKind


@dataclass(frozen=True)
class Window:
    start: datetime  # aware UTC
    end: datetime  # aware UTC
    capacity: int | None = None
    place: str | None = None

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


@lru_cache(maxsize=64)
def _holiday_calendar(country: str, subdiv: str, year: int) -> dict[date, str]:
    cal = holidays.country_holidays(country, subdiv=subdiv, years=year, language="de")
    return dict(cal.items())


def public_holiday(day: date) -> str | None:
    """Name of the public holiday on ``day`` (German), or None."""
    cfg = current_app.config
    return _holiday_calendar(cfg["HOLIDAY_COUNTRY"], cfg["HOLIDAY_SUBDIV"], day.year).get(day)


def office_tz(office: Office) -> ZoneInfo:
    return ZoneInfo(office.timezone or "Europe/Berlin")


# ---------------------------------------------------------------- memo per transaction
# One status read asks for the same office-days hundreds of times (estimates, next opening). The
# answers are kept in the session for the current transaction only, and forgotten as soon as the
# session writes anything that shapes a calendar, commits or rolls back.

_MEMO = "qs_calendar_memo"
forget_when_work_begins(_MEMO)
_SHAPES_CALENDAR = (Office, OpeningWindow, Closure, MobileEvent)


def _memo() -> dict:
    return db.session().info.setdefault(_MEMO, {})


@event.listens_for(Session, "after_flush")
def _forget_after_calendar_change(session, flush_context) -> None:
    if _MEMO in session.info and any(
        isinstance(obj, _SHAPES_CALENDAR)
        for obj in chain(session.new, session.dirty, session.deleted)
    ):
        session.info.pop(_MEMO, None)


@event.listens_for(Session, "do_orm_execute")
def _forget_on_bulk_write(state) -> None:
    if state.is_update or state.is_delete or state.is_insert:
        state.session.info.pop(_MEMO, None)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _forget_after_transaction(session, *args) -> None:
    session.info.pop(_MEMO, None)


@dataclass(frozen=True)
class _OfficeCalendar:
    """Everything that shapes one office's days, read in three queries."""

    weekly: dict  # (weekday, kind) -> [(start time, end time, capacity)] by start
    closures: tuple  # (day, recurring, reason) of the office's and the region's closures
    mobile: dict  # day -> [MobileEvent] by start


@lru_cache(maxsize=1)
def _calendar_stmts() -> tuple:
    """Plain rows, built once: read in nearly every transaction of the live queue, where
    loading ORM objects for them cost more than the queries."""
    office_id: BindParameter[int] = bindparam("office_id")
    weekly = (
        select(
            OpeningWindow.weekday,
            OpeningWindow.kind,
            OpeningWindow.start_time,
            OpeningWindow.end_time,
            OpeningWindow.capacity,
        )
        .where(OpeningWindow.office_id == office_id)
        .order_by(OpeningWindow.start_time)
    )
    closures = (
        select(Closure.day, Closure.recurring, Closure.reason)
        .where(or_(Closure.office_id == office_id, Closure.office_id.is_(None)))
        .order_by(Closure.id)
    )
    return weekly, closures


def _calendar_of(office: Office) -> _OfficeCalendar:
    memo, key = _memo(), ("office", office.id)
    found = memo.get(key)
    if found is None:
        if office.is_mobile:  # its dates (mobile_events) are not part of the catalogue
            found = _read_calendar(office)
        else:
            # hours and closures are: kept per process under the catalogue's revision (one
            # primary-key read per transaction instead of two statements)
            revision.flush_catalogue_changes()
            found = revision.remembered(("calendar", office.id), lambda: _read_calendar(office))
        memo[key] = found
    return found


def _read_calendar(office: Office) -> _OfficeCalendar:
    weekly_stmt, closures_stmt = _calendar_stmts()
    params = {"office_id": office.id}
    session = db.session()
    if session.autoflush and (session.new or session.dirty or session.deleted):
        session.flush()  # as the ORM's execute would: pending hours or closures count
    conn = session.connection()  # plain rows, without the ORM's execute around them
    weekly: dict = {}
    for weekday, kind, start, end, capacity in conn.execute(weekly_stmt, params):
        weekly.setdefault((weekday, kind), []).append((start, end, capacity))
    closures = tuple(conn.execute(closures_stmt, params).all())
    mobile: dict = {}
    if office.is_mobile:
        for ev in db.session.scalars(
            select(MobileEvent)
            .where(MobileEvent.office_id == office.id)
            .order_by(MobileEvent.day, MobileEvent.start_time)
        ):
            mobile.setdefault(ev.day, []).append(ev)
    return _OfficeCalendar(weekly, closures, mobile)


def closure_reason(office: Office, day: date) -> str | None:
    """Why ``office`` is closed all day on ``day`` (holiday or closure), or None if it is not."""
    holiday = public_holiday(day)
    if holiday:
        return holiday
    for closure_day, recurring, reason in _calendar_of(office).closures:
        # recurring closures (24 December...) match on month and day
        if closure_day == day or (
            recurring and (closure_day.month, closure_day.day) == (day.month, day.day)
        ):
            return reason
    return None


def windows(office: Office, day: date, kind: WindowKind) -> list[Window]:
    """The opening windows of ``office`` on local ``day`` for appointments or walk-ins."""
    if closure_reason(office, day):
        return []
    tz = office_tz(office)
    cal = _calendar_of(office)
    if office.is_mobile:
        return [
            Window(
                clock.local_to_utc(day, ev.start_time, tz),
                clock.local_to_utc(day, ev.end_time, tz),
                None,
                ev.place,
            )
            for ev in cal.mobile.get(day, ())
            if (ev.walk_in if kind == WindowKind.WALKIN else ev.appointments)
        ]
    return [
        Window(clock.local_to_utc(day, start, tz), clock.local_to_utc(day, end, tz), capacity)
        for start, end, capacity in cal.weekly.get((day.weekday(), kind), ())
    ]


def is_open(office: Office, moment: datetime, kind: WindowKind) -> bool:
    day = moment.astimezone(office_tz(office)).date()
    return any(w.contains(moment) for w in windows(office, day, kind))


def next_opening(
    office: Office, after: datetime, kind: WindowKind, horizon_days: int = 60
) -> Window | None:
    """The next window of ``kind`` that is open at or after ``after`` (within the horizon)."""
    start_day = after.astimezone(office_tz(office)).date()
    for offset in range(horizon_days + 1):
        day = start_day + timedelta(days=offset)
        for window in windows(office, day, kind):
            if window.end > after:
                return window
    return None


def office_local_today(office: Office) -> date:
    return clock.local_now(office_tz(office)).date()
