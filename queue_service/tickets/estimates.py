"""Waiting-time estimates from the live queue.

For a waiting ticket: the tickets ranked before it (``ordering.rank``) that compete for the same
counters, the open counters able to serve it (at least one while the office is open), and
today's observed service durations (rolling median of serving -> finished per service; the
catalogue duration until there are enough observations). Counters busy with a ticket add the
expected rest of that ticket.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..offices import calendar
from ..offices.models import Counter, Office, Service, WindowKind
from ..offices.services import office_services
from . import ordering
from .models import ACTIVE_AT_COUNTER, CounterState, CounterStatus, Ticket, TicketStatus


@dataclass
class CounterInfo:
    id: int
    number: int
    name: str
    service_ids: frozenset[int]
    status: CounterStatus
    user_id: int | None
    current: Ticket | None


@dataclass
class Estimate:
    people_ahead: int
    minutes: int | None


@dataclass
class Snapshot:
    """The queue of one office and day at one moment, ranked, with estimates."""

    office: Office
    now: datetime
    day: date
    services: dict[int, Service]
    waiting: list[Ticket]
    counters: list[CounterInfo]
    durations: dict[int, float]
    open_now: bool
    estimates: dict[int, Estimate] = field(default_factory=dict)
    remaining: dict[int, float] = field(default_factory=dict)  # minutes left per busy counter

    @property
    def open_counter_ids(self) -> set[int]:
        return {c.id for c in self.counters if c.status == CounterStatus.OPEN}

    def capable(self, service_id: int, target_counter_id: int | None = None) -> frozenset[int]:
        if target_counter_id is not None:
            return frozenset({target_counter_id} & {c.id for c in self.counters})
        return frozenset(c.id for c in self.counters if service_id in c.service_ids)

    def duration(self, service_id: int) -> float:
        if service_id in self.durations:
            return self.durations[service_id]
        service = self.services.get(service_id) or db.session.get(Service, service_id)
        return float(service.duration_minutes if service else 10)

    def estimate_for(self, ticket: Ticket) -> Estimate | None:
        if ticket.status in ACTIVE_AT_COUNTER:
            return Estimate(0, 0)
        if ticket.status != TicketStatus.WAITING:
            return None
        return self.estimates.get(ticket.id)

    def estimate_new(self, service_id: int) -> Estimate:
        """The estimate of a walk-in ticket for ``service_id`` issued now (at the back)."""
        return self._estimate(self.capable(service_id), self._groups_all())

    # ----------------------------------------------------------------- computation

    def _remaining(self) -> dict[int, float]:
        rest = {}
        for c in self.counters:
            t = c.current
            if t is None:
                continue
            d = self.duration(t.service_id)
            if t.status == TicketStatus.SERVING and t.serving_at is not None:
                d -= (self.now - t.serving_at).total_seconds() / 60
            rest[c.id] = max(d, 0.0)
        return rest

    def _estimate(self, capable: frozenset[int], groups: dict) -> Estimate:
        open_ids = self.open_counter_ids
        open_capable = capable & open_ids
        competing = open_capable or capable
        ahead, work = 0, 0.0
        for counters, (count, minutes) in groups.items():
            if counters & competing:
                ahead += count
                work += minutes
        if not capable or (not open_capable and not self.open_now):
            return Estimate(ahead, None)
        busy = sum(self.remaining.get(c, 0.0) for c in open_capable)
        servers = max(len(open_capable), 1)
        return Estimate(ahead, math.ceil(round((work + busy) / servers, 6)))

    def _groups_all(self) -> dict:
        groups: dict[frozenset[int], list] = {}
        for t in self.waiting:
            key = self._competing(t)
            entry = groups.setdefault(key, [0, 0.0])
            entry[0] += 1
            entry[1] += self.duration(t.service_id)
        return groups

    def _competing(self, t: Ticket) -> frozenset[int]:
        capable = self.capable(t.service_id, t.target_counter_id)
        return (capable & self.open_counter_ids) or capable

    def compute(self) -> Snapshot:
        self.remaining = self._remaining()
        groups: dict[frozenset[int], list] = {}
        for t in self.waiting:
            capable = self.capable(t.service_id, t.target_counter_id)
            self.estimates[t.id] = self._estimate(capable, groups)
            key = (capable & self.open_counter_ids) or capable
            entry = groups.setdefault(key, [0, 0.0])
            entry[0] += 1
            entry[1] += self.duration(t.service_id)
        return self


def observed_durations(office_id: int, day: date, services: dict[int, Service]) -> dict[int, float]:
    """Minutes per service: median of today's latest serving -> finished times, else catalogue."""
    cfg = current_app.config
    sample, minimum = cfg["ESTIMATE_SAMPLE_SIZE"], cfg["ESTIMATE_MIN_SAMPLES"]
    rows = db.session.execute(
        select(Ticket.service_id, Ticket.serving_at, Ticket.finished_at)
        .where(
            Ticket.office_id == office_id,
            Ticket.business_date == day,
            Ticket.status == TicketStatus.DONE,
            Ticket.serving_at.is_not(None),
            Ticket.finished_at.is_not(None),
        )
        .order_by(Ticket.finished_at.desc())
        .limit(50 * sample)
    ).all()
    observed: dict[int, list[float]] = {}
    for service_id, started, finished in rows:
        bucket = observed.setdefault(service_id, [])
        if len(bucket) < sample:
            bucket.append(max((finished - started).total_seconds() / 60, 0.0))
    durations = {sid: float(s.duration_minutes) for sid, s in services.items()}
    for sid, values in observed.items():
        if len(values) >= minimum:
            durations[sid] = statistics.median(values)
    return durations


def ageing_weights() -> dict[int, float]:
    """QUEUE_AGEING_WEIGHTS (service code -> weight) as service id -> weight."""
    configured = current_app.config.get("QUEUE_AGEING_WEIGHTS") or {}
    if not configured:
        return {}
    rows = db.session.execute(select(Service.id, Service.code).where(Service.code.in_(configured)))
    return {sid: float(configured[code]) for sid, code in rows}


def snapshot(office: Office, now: datetime) -> Snapshot:
    """Rank today's waiting tickets of ``office`` and estimate each one's wait."""
    day = calendar.office_local_today(office)
    services = {s.id: s for s in office_services(office)}
    waiting = list(
        db.session.scalars(
            select(Ticket)
            .where(Ticket.office_id == office.id, Ticket.business_date == day,
                   Ticket.status == TicketStatus.WAITING)
            .order_by(*ordering.rank(now, ageing_weights()))
        )
    )
    counters = load_counters(office)
    snap = Snapshot(
        office=office,
        now=now,
        day=day,
        services=services,
        waiting=waiting,
        counters=counters,
        durations=observed_durations(office.id, day, services),
        open_now=True,
    )
    if not snap.open_counter_ids:
        snap.open_now = calendar.is_open(office, now, WindowKind.WALKIN) or calendar.is_open(
            office, now, WindowKind.APPOINTMENT
        )
    return snap.compute()


def load_counters(office: Office) -> list[CounterInfo]:
    """Active counters of ``office`` with their state and current ticket."""
    counters = db.session.scalars(
        select(Counter)
        .options(selectinload(Counter.services))
        .where(Counter.office_id == office.id, Counter.active.is_(True))
        .order_by(Counter.number)
    ).all()
    ids = [c.id for c in counters]
    states = {
        s.counter_id: s
        for s in db.session.scalars(select(CounterState).where(CounterState.counter_id.in_(ids)))
    }
    current = {
        t.counter_id: t
        for t in db.session.scalars(
            select(Ticket).where(Ticket.counter_id.in_(ids), Ticket.status.in_(ACTIVE_AT_COUNTER))
        )
    }
    return [
        CounterInfo(
            id=c.id,
            number=c.number,
            name=c.display_name,
            service_ids=frozenset(s.id for s in c.services),
            status=states[c.id].status if c.id in states else CounterStatus.CLOSED,
            user_id=states[c.id].user_id if c.id in states else None,
            current=current.get(c.id),
        )
        for c in counters
    ]
