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
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, or_, select
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


def _closure_marks(office_id: int) -> set:
    """The office's closure days and the city-wide ones, as dates or (month, day) for
    recurring ones."""
    marks: set = set()
    for day, recurring in db.session.execute(
        select(Closure.day, Closure.recurring).where(
            or_(Closure.office_id == office_id, Closure.office_id.is_(None))
        )
    ):
        marks.add((day.month, day.day) if recurring else day)
    return marks


def appointment_windows(
    offices: list[Office], first: date, last: date
) -> dict[int, list[DayWindow]]:
    """The appointment windows of each office on each local day from ``first`` to ``last``.

    Each office day is kept per process until the catalogue changes (``offices.revision``):
    a stationary office's from its weekly windows and closures, the mobile Bürgeramt's from its
    dates (whose writes move the revision too)."""
    result: dict[int, list[DayWindow]] = {o.id: [] for o in offices}
    if not offices or first > last:
        return result
    memo = revision.memo()
    for office in offices:
        out = result[office.id]
        day_windows = _mobile_day if office.is_mobile else _stationary_day
        for day in days_between(first, last):
            key = ("day_windows", office.id, day)
            windows = memo.get(key)
            if windows is None:
                windows = memo[key] = day_windows(office, day, memo)
            out.extend(windows)  # type: ignore[arg-type]
    return result


def _is_closed(marks: set, day: date) -> bool:
    return bool(calendar.public_holiday(day)) or day in marks or (day.month, day.day) in marks


def _stationary_day(office: Office, day: date, memo: dict) -> tuple[DayWindow, ...]:
    """The appointment windows of a stationary office on one local day (none when closed)."""
    key = ("stationary", office.id)
    found = memo.get(key)
    if found is None:
        found = memo[key] = (_closure_marks(office.id), _weekly_windows([office.id])[office.id])
    marks, weekly = found
    return _open_day(office, day, marks, weekly.get(day.weekday(), ()))


def _mobile_day(office: Office, day: date, memo: dict) -> tuple[DayWindow, ...]:
    """The appointment windows of the mobile Bürgeramt on one local day: its dates there that
    take appointments (none when the day is closed). Its dates from the first day asked for on
    are read once per catalogue revision (a search asking for an earlier day reads again)."""
    key = ("mobile", office.id)
    found = memo.get(key)
    if found is None or found[0] > day:
        found = memo[key] = (day, _closure_marks(office.id), _appointment_events(office.id, day))
    _, marks, events = found
    return _open_day(office, day, marks, events.get(day, ()))


# a window as kept: local start and end, capacity (None: the able counters), the services it
# is limited to (None: all the office offers), the place of a mobile date
_Kept = tuple[time, time, int | None, frozenset[int] | None, str | None]


def _open_day(
    office: Office, day: date, marks: set, kept: Iterable[_Kept]
) -> tuple[DayWindow, ...]:
    if _is_closed(marks, day):
        return ()
    tz = calendar.office_tz(office)
    return tuple(
        DayWindow(
            day,
            clock.local_to_utc(day, start, tz),
            clock.local_to_utc(day, end, tz),
            capacity,
            service_ids,
            place,
        )
        for start, end, capacity, service_ids, place in kept
    )


def _weekly_windows(office_ids: list[int]) -> dict[int, dict[int, list[_Kept]]]:
    """Appointment windows of stationary offices, by office and weekday, in start order."""
    weekly: dict[int, dict[int, list[_Kept]]] = defaultdict(lambda: defaultdict(list))
    if office_ids:
        w = OpeningWindow
        for row in db.session.execute(
            select(w.office_id, w.weekday, w.start_time, w.end_time, w.capacity)
            .where(w.office_id.in_(office_ids), w.kind == WindowKind.APPOINTMENT)
            .order_by(w.start_time)
        ):
            weekly[row.office_id][row.weekday].append(
                (row.start_time, row.end_time, row.capacity, None, None)
            )
    return weekly


def _appointment_events(office_id: int, since: date) -> dict[date, list[_Kept]]:
    """A mobile office's dates that take appointments from ``since`` on, by day in start order."""
    events: dict[date, list[_Kept]] = defaultdict(list)
    for ev in db.session.scalars(
        select(MobileEvent)
        .options(selectinload(MobileEvent.services))
        .where(
            MobileEvent.office_id == office_id,
            MobileEvent.day >= since,
            MobileEvent.appointments.is_(True),
        )
        .order_by(MobileEvent.start_time)
    ):
        services = frozenset(s.id for s in ev.services) if ev.services else None
        events[ev.day].append((ev.start_time, ev.end_time, None, services, ev.place))
    return dict(events)


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
