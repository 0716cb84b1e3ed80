"""Statistics per office, service, local day and local hour.

Figures come from Ticket timestamps and the TicketEvent log:

- issued: tickets of the day (walk-ins at issue, appointments at check-in), bucketed by the local
  hour of ``issued_at``; served (done), no-shows, cancelled, not served (still open at close);
- waiting time: ``issued_at`` -> first ``call`` event (seconds); service time: ``serving_at`` ->
  ``finished_at`` of tickets done; punctuality: check-in (``issued_at``) minus ``due_at`` of
  appointment tickets (negative = early);
- booking lead time: appointment ``start`` minus ``booked_at`` (seconds) of the appointments that
  stood at their time (confirmed, checked in or no-show; not cancelled or lapsed), bucketed by the
  local day and hour of the appointment and its first service (the one its check-in ticket gets);
- median: the middle value (mean of the two middle values for an even count); 90th percentile:
  nearest rank (the value at position ceil(0.9 n) of the sorted list).

Past days are read from the nightly roll-up (StatsRollup); days that have not been rolled up
(today, or a day the job missed) are computed live from the tickets. Both give the same buckets.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Row, delete, func, select

from .. import clock
from ..booking.models import Appointment, AppointmentStatus
from ..db import unit_of_work
from ..extensions import db
from ..offices.models import Office, Service
from ..tickets.models import Ticket, TicketEvent, TicketKind, TicketService, TicketStatus
from .models import StatsRollup

# appointments whose lead time counts: booked and still standing at their time
LEAD_TIME_STATUSES = (
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.CHECKED_IN,
    AppointmentStatus.NO_SHOW,
)
COUNTS = (
    "issued",
    "served",
    "no_show",
    "cancelled",
    "not_served",
    "walkin",
    "appointment",
    "persons",
    "requests",
)


@dataclass
class Bucket:
    office_id: int
    service_id: int
    day: date
    hour: int
    issued: int = 0
    served: int = 0
    no_show: int = 0
    cancelled: int = 0
    not_served: int = 0
    walkin: int = 0
    appointment: int = 0
    persons: int = 0  # persons who came with the tickets issued (an appointment may bring several)
    requests: int = 0  # services asked for: every service of a ticket counts for that service
    waits: list[int] = field(default_factory=list)
    service_times: list[int] = field(default_factory=list)
    punctuality: list[int] = field(default_factory=list)
    lead_times: list[int] = field(default_factory=list)


def median(values: list[int]) -> float | None:
    return float(statistics.median(values)) if values else None


def percentile(values: list[int], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1])


# ------------------------------------------------------------------ live computation


def _seconds(later, earlier) -> int:
    return int(round((later - earlier).total_seconds()))


def live_buckets(office_ids: Iterable[int], days: Iterable[date]) -> list[Bucket]:
    """Buckets computed from the tickets of ``days`` (office-local business days)."""
    office_ids, days = list(office_ids), sorted(set(days))
    if not office_ids or not days:
        return []
    tzs = {
        o.id: ZoneInfo(o.timezone or "Europe/Berlin")
        for o in db.session.scalars(select(Office).where(Office.id.in_(office_ids)))
    }
    out: dict[tuple, Bucket] = {}
    where: dict[int, tuple] = {}  # ticket id -> (office, day, hour) of its appointment tickets
    for row in _ticket_rows(office_ids, days):
        hour = row.issued_at.astimezone(tzs.get(row.office_id, clock.LOCAL_TZ)).hour
        _count_ticket(_bucket(out, row.office_id, row.service_id, row.business_date, hour), row)
        if row.kind == TicketKind.APPOINTMENT:
            where[row.id] = (row.office_id, row.business_date, hour)
    for ticket_id, service_id in _further_services(list(where)):
        office_id, day, hour = where[ticket_id]
        _bucket(out, office_id, service_id, day, hour).requests += 1
    for office_id, service_id, day, hour, lead in _lead_times(office_ids, days, tzs):
        _bucket(out, office_id, service_id, day, hour).lead_times.append(lead)
    return list(out.values())


def _bucket(
    out: dict[tuple, Bucket], office_id: int, service_id: int, day: date, hour: int
) -> Bucket:
    """The bucket of this office, service, day and hour in ``out``, created when missing."""
    key = (office_id, service_id, day, hour)
    if key not in out:
        out[key] = Bucket(office_id, service_id, day, hour)
    return out[key]


def _ticket_rows(office_ids: list[int], days: list[date]) -> Sequence[Row]:
    """The tickets of ``days`` with the time of their first call (None: never called)."""
    first_call = (
        select(TicketEvent.ticket_id, func.min(TicketEvent.at).label("first_call"))
        .where(TicketEvent.action == "call", TicketEvent.office_id.in_(office_ids))
        .group_by(TicketEvent.ticket_id)
        .subquery()
    )
    return db.session.execute(
        select(
            Ticket.id,
            Ticket.persons,
            Ticket.office_id,
            Ticket.service_id,
            Ticket.business_date,
            Ticket.status,
            Ticket.kind,
            Ticket.issued_at,
            Ticket.serving_at,
            Ticket.finished_at,
            Ticket.due_at,
            first_call.c.first_call,
        )
        .outerjoin(first_call, first_call.c.ticket_id == Ticket.id)
        .where(Ticket.office_id.in_(office_ids), Ticket.business_date.in_(days))
    ).all()


def _count_ticket(b: Bucket, row: Row) -> None:
    """Adds one ticket (a row of ``_ticket_rows``) to its bucket."""
    b.issued += 1
    b.persons += row.persons or 1
    b.requests += 1
    if row.status == TicketStatus.DONE:
        b.served += 1
        if row.serving_at and row.finished_at:
            b.service_times.append(_seconds(row.finished_at, row.serving_at))
    elif row.status == TicketStatus.NO_SHOW:
        b.no_show += 1
    elif row.status == TicketStatus.CANCELLED:
        b.cancelled += 1
    elif row.status == TicketStatus.NOT_SERVED:
        b.not_served += 1
    if row.kind == TicketKind.APPOINTMENT:
        b.appointment += 1
        if row.due_at is not None:
            b.punctuality.append(_seconds(row.issued_at, row.due_at))
    else:
        b.walkin += 1
    if row.first_call is not None:
        b.waits.append(_seconds(row.first_call, row.issued_at))


def _further_services(ticket_ids: list[int]) -> list[tuple[int, int]]:
    """(ticket id, service id) of the further services of these tickets."""
    if not ticket_ids:
        return []
    return list(
        db.session.execute(
            select(TicketService.ticket_id, TicketService.service_id).where(
                TicketService.ticket_id.in_(ticket_ids)
            )
        ).all()
    )


def _lead_times(office_ids: list[int], days: list[date], tzs: dict[int, ZoneInfo]):
    """(office id, service id, local day, local hour, seconds booked ahead) of the appointments
    of ``days`` that stood at their time."""
    wanted = set(days)
    service_ids = dict(db.session.execute(select(Service.code, Service.id)).all())
    lo = clock.local_to_utc(days[0], time(0)) - timedelta(days=1)
    hi = clock.local_to_utc(days[-1], time(0)) + timedelta(days=2)
    rows = db.session.execute(
        select(
            Appointment.office_id,
            Appointment.service_codes,
            Appointment.start,
            Appointment.booked_at,
        ).where(
            Appointment.office_id.in_(office_ids),
            Appointment.start >= lo,
            Appointment.start < hi,
            Appointment.status.in_(LEAD_TIME_STATUSES),
            Appointment.booked_at.is_not(None),
        )
    ).all()
    for office_id, codes, start, booked_at in rows:
        local = start.astimezone(tzs.get(office_id, clock.LOCAL_TZ))
        if local.date() in wanted and codes and codes[0] in service_ids:
            yield (
                office_id,
                service_ids[codes[0]],
                local.date(),
                local.hour,
                _seconds(start, booked_at),
            )


# ------------------------------------------------------------------ roll-up


def rollup_day(day: date) -> int:
    """Write the roll-up rows of one local day for every office (replacing earlier rows).
    Idempotent; returns the number of rows written."""
    office_ids = list(db.session.scalars(select(Office.id)))
    buckets = live_buckets(office_ids, [day])
    with unit_of_work() as session:
        session.execute(delete(StatsRollup).where(StatsRollup.day == day))
        for b in buckets:
            session.add(
                StatsRollup(
                    office_id=b.office_id,
                    service_id=b.service_id,
                    day=b.day,
                    hour=b.hour,
                    **{name: getattr(b, name) for name in COUNTS},
                    waits=b.waits,
                    service_times=b.service_times,
                    punctuality=b.punctuality,
                    lead_times=b.lead_times,
                    computed_at=clock.now(),
                )
            )
    return len(buckets)


def _rolled_buckets(
    office_ids: list[int], start: date, end: date
) -> tuple[list[Bucket], set[date]]:
    rows = db.session.scalars(
        select(StatsRollup).where(StatsRollup.day >= start, StatsRollup.day <= end)
    ).all()
    rolled_days = {r.day for r in rows}
    wanted = set(office_ids)
    buckets = [
        Bucket(
            r.office_id,
            r.service_id,
            r.day,
            r.hour,
            **{n: getattr(r, n) for n in COUNTS},
            waits=list(r.waits or []),
            service_times=list(r.service_times or []),
            punctuality=list(r.punctuality or []),
            lead_times=list(r.lead_times or []),
        )
        for r in rows
        if r.office_id in wanted
    ]
    return buckets, rolled_days


def buckets(office_ids: Iterable[int], start: date, end: date) -> list[Bucket]:
    """All buckets of the offices from ``start`` to ``end`` (inclusive): rolled-up days from the
    roll-up table, the others (today, missed days) live from the tickets."""
    office_ids = list(office_ids)
    rolled, rolled_days = _rolled_buckets(office_ids, start, end)
    today = clock.today()
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    live_days = [d for d in days if d not in rolled_days or d >= today]
    live = live_buckets(office_ids, live_days)
    return [b for b in rolled if b.day not in set(live_days)] + live


# ------------------------------------------------------------------ summaries


@dataclass
class Summary:
    issued: int = 0
    served: int = 0
    no_show: int = 0
    cancelled: int = 0
    not_served: int = 0
    walkin: int = 0
    appointment: int = 0
    persons: int = 0
    requests: int = 0
    waits: list[int] = field(default_factory=list)
    service_times: list[int] = field(default_factory=list)
    punctuality: list[int] = field(default_factory=list)
    lead_times: list[int] = field(default_factory=list)

    def add(self, b: Bucket) -> None:
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(b, name))
        self.waits += b.waits
        self.service_times += b.service_times
        self.punctuality += b.punctuality
        self.lead_times += b.lead_times

    def figures(self) -> dict:
        minutes = lambda v: None if v is None else round(v / 60, 1)  # noqa: E731
        days = lambda v: None if v is None else round(v / 86400, 1)  # noqa: E731
        total = self.walkin + self.appointment
        return {
            "issued": self.issued,
            "requests": self.requests,
            "persons": self.persons,
            "served": self.served,
            "no_show": self.no_show,
            "cancelled": self.cancelled,
            "not_served": self.not_served,
            "walkin": self.walkin,
            "appointment": self.appointment,
            "walkin_share": round(100 * self.walkin / total, 1) if total else None,
            "wait_median_min": minutes(median(self.waits)),
            "wait_p90_min": minutes(percentile(self.waits, 90)),
            "service_median_min": minutes(median(self.service_times)),
            "punctuality_median_min": minutes(median(self.punctuality)),
            "on_time_share": (
                round(100 * sum(1 for v in self.punctuality if v <= 300) / len(self.punctuality), 1)
                if self.punctuality
                else None
            ),
            "lead_median_days": days(median(self.lead_times)),
            "lead_p90_days": days(percentile(self.lead_times, 90)),
        }


def summarise(items: Iterable[Bucket], key: Callable[[Bucket], object]) -> dict:
    """Group buckets by ``key`` and return {key: figures} sorted by key."""
    groups: dict = defaultdict(Summary)
    for b in items:
        groups[key(b)].add(b)
    return {k: groups[k].figures() for k in sorted(groups, key=lambda k: (str(type(k)), k))}


def total(items: Iterable[Bucket]) -> dict:
    s = Summary()
    for b in items:
        s.add(b)
    return s.figures()
