"""Appointment windows and capacities of several offices over a range of days, in a few queries.

``offices.calendar.windows`` answers one office and one day (two queries each); a six-week search
over nine offices would cost hundreds of queries. This module gives the same answer in bulk
(tests check it against ``calendar.windows`` day by day) and adds what booking needs on top:
the services a mobile date offers and the counters able to serve a set of services.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Row, func, or_, select
from sqlalchemy.orm import selectinload

from .. import clock
from ..extensions import db
from ..offices import calendar, revision
from ..offices.models import (
    Closure,
    Counter,
    MobileEvent,
    Office,
    OpeningWindow,
    WindowKind,
    counter_services,
)


@dataclass(frozen=True)
class DayWindow:
    day: date  # office-local calendar day
    start: datetime  # aware UTC
    end: datetime  # aware UTC
    capacity: int | None  # parallel appointments; None: the counters able to serve
    service_ids: frozenset[int] | None = None  # a mobile date offers only these; None: all
    place: str | None = None


def days_between(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _closed_days(
    office_ids: list[int], first: date | None, last: date | None
) -> dict[int | None, set]:
    """Closure days per office id (None: city-wide), as dates or (month, day) for recurring;
    between ``first`` and ``last``, or all of them when these are None."""
    query = select(Closure.office_id, Closure.day, Closure.recurring).where(
        or_(Closure.office_id.in_(office_ids), Closure.office_id.is_(None))
    )
    if first is not None and last is not None:
        query = query.where(or_(Closure.day.between(first, last), Closure.recurring.is_(True)))
    rows = db.session.execute(query).all()
    closed: dict[int | None, set] = defaultdict(set)
    for office_id, day, recurring in rows:
        closed[office_id].add((day.month, day.day) if recurring else day)
    return closed


def appointment_windows(
    offices: list[Office], first: date, last: date
) -> dict[int, list[DayWindow]]:
    """The appointment windows of each office on each local day from ``first`` to ``last``.

    A stationary office's days come from its weekly windows and closures, kept per process until
    the catalogue changes (``offices.revision``); mobile dates are read each time."""
    result: dict[int, list[DayWindow]] = {o.id: [] for o in offices}
    if not offices or first > last:
        return result
    memo = revision.memo()
    mobile = [o for o in offices if o.is_mobile]
    if mobile:
        closed = _closed_days([o.id for o in mobile], first, last)
        events = _appointment_events([o.id for o in mobile], first, last)
        for office in mobile:
            tz = calendar.office_tz(office)
            marks = closed.get(office.id, set()) | closed.get(None, set())
            for day in days_between(first, last):
                if not _is_closed(marks, day):
                    result[office.id].extend(
                        _event_window(day, ev, tz) for ev in events[office.id].get(day, [])
                    )
    for office in offices:
        if office.is_mobile:
            continue
        out = result[office.id]
        for day in days_between(first, last):
            key = ("day_windows", office.id, day)
            windows = memo.get(key)
            if windows is None:
                windows = memo[key] = _stationary_day(office, day, memo)
            out.extend(windows)  # type: ignore[arg-type]
    return result


def _is_closed(marks: set, day: date) -> bool:
    return bool(calendar.public_holiday(day)) or day in marks or (day.month, day.day) in marks


def _stationary_day(office: Office, day: date, memo: dict) -> tuple[DayWindow, ...]:
    """The appointment windows of a stationary office on one local day (none when closed)."""
    key = ("stationary", office.id)
    found = memo.get(key)
    if found is None:
        closed = _closed_days([office.id], None, None)
        found = memo[key] = (
            closed.get(office.id, set()) | closed.get(None, set()),
            _weekly_windows([office.id])[office.id],
        )
    marks, weekly = found
    if _is_closed(marks, day):
        return ()
    tz = calendar.office_tz(office)
    return tuple(
        DayWindow(
            day,
            clock.local_to_utc(day, w.start_time, tz),
            clock.local_to_utc(day, w.end_time, tz),
            w.capacity,
        )
        for w in weekly.get(day.weekday(), [])
    )


def _weekly_windows(office_ids: list[int]) -> dict[int, dict[int, list[Row]]]:
    """Appointment windows of stationary offices (start, end, capacity rows), by office and
    weekday, in start order."""
    weekly: dict[int, dict[int, list[Row]]] = defaultdict(lambda: defaultdict(list))
    if office_ids:
        w = OpeningWindow
        for row in db.session.execute(
            select(w.office_id, w.weekday, w.start_time, w.end_time, w.capacity)
            .where(w.office_id.in_(office_ids), w.kind == WindowKind.APPOINTMENT)
            .order_by(w.start_time)
        ):
            weekly[row.office_id][row.weekday].append(row)
    return weekly


def _appointment_events(
    office_ids: list[int], first: date, last: date
) -> dict[int, dict[date, list[MobileEvent]]]:
    """Mobile dates that take appointments, by office and day, in start order."""
    events: dict[int, dict[date, list[MobileEvent]]] = defaultdict(lambda: defaultdict(list))
    if office_ids:
        for ev in db.session.scalars(
            select(MobileEvent)
            .options(selectinload(MobileEvent.services))
            .where(
                MobileEvent.office_id.in_(office_ids),
                MobileEvent.day.between(first, last),
                MobileEvent.appointments.is_(True),
            )
            .order_by(MobileEvent.start_time)
        ):
            events[ev.office_id][ev.day].append(ev)
    return events


def _event_window(day: date, ev: MobileEvent, tz) -> DayWindow:
    return DayWindow(
        day,
        clock.local_to_utc(day, ev.start_time, tz),
        clock.local_to_utc(day, ev.end_time, tz),
        None,
        frozenset(s.id for s in ev.services) if ev.services else None,
        ev.place,
    )


def able_counters(office_ids: list[int], service_ids: Iterable[int]) -> dict[int, int]:
    """Per office, how many active counters can serve every one of ``service_ids`` (kept per
    process until the catalogue changes)."""
    wanted = frozenset(service_ids)
    memo = revision.memo()
    counts = {}
    missing = []
    for office_id in office_ids:
        found = memo.get(("able", office_id, wanted))
        if found is None:
            missing.append(office_id)
        else:
            counts[office_id] = found
    if missing:
        for office_id, n in _count_able(missing, wanted).items():
            counts[office_id] = memo[("able", office_id, wanted)] = n
    return counts  # type: ignore[return-value]


def _count_able(office_ids: list[int], wanted: frozenset[int]) -> dict[int, int]:
    counts = dict.fromkeys(office_ids, 0)
    if not office_ids:
        return counts
    query = select(Counter.office_id, func.count()).where(
        Counter.office_id.in_(office_ids), Counter.active.is_(True)
    )
    if wanted:  # counters with a row for each wanted service (the key is counter and service)
        able = (
            select(counter_services.c.counter_id)
            .where(counter_services.c.service_id.in_(wanted))
            .group_by(counter_services.c.counter_id)
            .having(func.count() == len(wanted))
            .subquery()
        )
        query = query.join(able, able.c.counter_id == Counter.id)
    # counted by the database: a city's counters serve thousands of (counter, service) pairs
    for office_id, n in db.session.execute(query.group_by(Counter.office_id)):
        counts[office_id] = n
    return counts
