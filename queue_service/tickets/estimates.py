"""Waiting-time estimates from the live queue.

For a waiting ticket: the tickets ranked before it (``ordering.rank``) that compete for the same
counters, the open counters able to serve it (at least one while the office is open), and
today's observed service durations (rolling median of serving -> finished per service; the
catalogue duration until there are enough observations). Counters busy with a ticket add the
expected rest of that ticket.

The snapshot reads plain rows (no ORM objects): it runs after every issue and every change.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from types import MappingProxyType

from flask import current_app
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    String,
    bindparam,
    case,
    cast,
    func,
    select,
    true,
)

from ..extensions import app_object, db
from ..offices import calendar, revision
from ..offices.models import Counter, Office, OfficeService, Service, WindowKind, counter_services
from . import ordering
from .models import (
    ACTIVE_AT_COUNTER,
    CounterState,
    CounterStatus,
    Ticket,
    TicketKind,
    TicketService,
    TicketStatus,
    at_counter,
)


@dataclass(frozen=True)
class Waiting:
    """A waiting ticket as the estimates see it."""

    id: int
    service_id: int
    target_counter_id: int | None
    issued_at: datetime
    persons: int = 1
    further: tuple[int, ...] = ()  # further services of an appointment, booked order
    due_at: datetime | None = None  # an appointment queued by its time (not put back by staff)
    ahead_of_walkins: bool = False  # at the front, or an appointment whose time has come


@dataclass
class CounterInfo:
    id: int
    number: int
    name: str
    service_ids: frozenset[int]
    status: CounterStatus
    user_id: int | None
    current_id: int | None = None  # the ticket called or served there
    current_service_id: int | None = None
    current_status: TicketStatus | None = None
    current_serving_at: datetime | None = None
    current_persons: int = 1
    current_further: tuple[int, ...] = ()


@dataclass(frozen=True)
class ServiceInfo:
    id: int
    code: str
    prefix: str
    name_de: str
    name_en: str
    walk_in_allowed: bool
    duration_minutes: int
    extra_person_minutes: int = 0

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_de


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
    services: dict[int, ServiceInfo]  # offered by the office, in catalogue order
    waiting: list[Waiting]  # in call order
    counters: list[CounterInfo]
    durations: dict[int, float]
    open_now: bool | None = None  # any opening window now; worked out only when needed
    estimates: dict[int, Estimate] = field(default_factory=dict)
    remaining: dict[int, float] = field(default_factory=dict)  # minutes left per busy counter
    _capable: dict = field(default_factory=dict)
    # count and work of everyone waiting per set of competing counters (see ``compute``)
    _totals: dict | None = None
    # catalogue minutes of everyone waiting, one service each (the forecast's rule)
    waiting_minutes: float | None = None
    _further: dict[int, tuple[int, ...]] | None = None

    def __post_init__(self) -> None:
        self.open_counter_ids = frozenset(
            c.id for c in self.counters if c.status == CounterStatus.OPEN
        )

    def capable(self, service_id: int, target_counter_id: int | None = None) -> frozenset[int]:
        key = (service_id, target_counter_id)
        if key not in self._capable:
            if target_counter_id is not None:
                found = {c.id for c in self.counters if c.id == target_counter_id}
            else:
                found = {c.id for c in self.counters if service_id in c.service_ids}
            self._capable[key] = frozenset(found)
        return self._capable[key]

    def further_of(self, ticket_id: int) -> tuple[int, ...]:
        """The further services of a waiting ticket (an appointment's), in booked order."""
        if self._further is None:
            self._further = {t.id: t.further for t in self.waiting if t.further}
        return self._further.get(ticket_id, ())

    def office_open(self) -> bool:
        if self.open_now is None:
            self.open_now = calendar.is_open(self.office, self.now, WindowKind.WALKIN) or (
                calendar.is_open(self.office, self.now, WindowKind.APPOINTMENT)
            )
        return self.open_now

    def duration(self, service_id: int) -> float:
        if service_id not in self.durations:
            service = db.session.get(Service, service_id)
            self.durations[service_id] = float(service.duration_minutes if service else 10)
        return self.durations[service_id]

    def work(self, service_id: int, persons: int = 1, further: tuple[int, ...] = ()) -> float:
        """Minutes a visit takes: each service's duration, plus its catalogue's extra minutes
        for every further person (as an appointment of that size is booked)."""
        total = 0.0
        for sid in (service_id, *further):
            total += self.duration(sid)
            if persons > 1:
                info = self.services.get(sid)
                total += (persons - 1) * (info.extra_person_minutes if info else 0)
        return total

    def estimate_for(self, ticket) -> Estimate | None:
        if ticket.status in ACTIVE_AT_COUNTER:
            return Estimate(0, 0)
        if ticket.status != TicketStatus.WAITING:
            return None
        return self.estimates.get(ticket.id)

    def estimate_new(self, service_id: int) -> Estimate:
        """The estimate of a walk-in ticket for ``service_id`` issued now (at the back): everyone
        waiting competes, so it is read from the totals ``compute`` summed once per snapshot."""
        if self._totals is None:
            self._totals = {}
            for t in self.waiting:
                self._count(self._totals, t)
        return self._estimate(self.capable(service_id), self._totals)

    # ----------------------------------------------------------------- computation

    def _competing(self, capable: frozenset[int]) -> frozenset[int]:
        return (capable & self.open_counter_ids) or capable

    def _count(self, groups: dict, t: Waiting) -> None:
        entry = groups.setdefault(
            self._competing(self.capable(t.service_id, t.target_counter_id)), [0, 0.0]
        )
        entry[0] += 1
        entry[1] += self.work(t.service_id, t.persons, t.further)

    def _estimate(self, capable: frozenset[int], groups: dict) -> Estimate:
        open_capable = capable & self.open_counter_ids
        competing = open_capable or capable
        ahead, work = 0, 0.0
        for counters, (count, minutes) in groups.items():
            if counters & competing:
                ahead += count
                work += minutes
        if not capable or (not open_capable and not self.office_open()):
            return Estimate(ahead, None)
        busy = sum(self.remaining.get(c, 0.0) for c in open_capable)
        servers = max(len(open_capable), 1)
        return Estimate(ahead, math.ceil(round((work + busy) / servers, 6)))

    def _busy_counters(self) -> None:
        for c in self.counters:
            if c.current_id is None or c.current_service_id is None:
                continue  # a counter without a current ticket (both are set together)
            left = self.work(c.current_service_id, c.current_persons, c.current_further)
            if c.current_status == TicketStatus.SERVING and c.current_serving_at is not None:
                left -= (self.now - c.current_serving_at).total_seconds() / 60
            self.remaining[c.id] = max(left, 0.0)

    def compute(self) -> Snapshot:
        self._busy_counters()
        # Tickets with the same (service, target counter) compete for the same counters; walk
        # the ranked list once, keeping count and work per set of competing counters.
        groups: dict[frozenset[int], list] = {}
        kinds: dict[tuple, tuple] = {}
        for t in self.waiting:
            key = (t.service_id, t.target_counter_id)
            if key not in kinds:
                capable = self.capable(*key)
                kinds[key] = (capable, self._competing(capable), self.duration(t.service_id))
            capable, competing, minutes = kinds[key]
            if t.persons != 1 or t.further:
                minutes = self.work(t.service_id, t.persons, t.further)
            self.estimates[t.id] = self._estimate(capable, groups)
            entry = groups.setdefault(competing, [0, 0.0])
            entry[0] += 1
            entry[1] += minutes
        self._totals = groups  # the whole queue: what a ticket issued now waits behind
        self.waiting_minutes = sum(self.duration(t.service_id) for t in self.waiting)
        for t in self.waiting:
            if t.due_at is not None and t.due_at > self.now:
                self._estimate_when_due(t)
        return self

    def count_groups(self, groups: list[tuple[int, int | None, int, int, float]]) -> Snapshot:
        """The totals from aggregated rows instead of the ranked queue: (service, target
        counter, persons, tickets, extra minutes of their further services). Enough for
        ``estimate_new`` and the forecast, whatever the length of the queue; ``waiting`` and
        ``estimates`` stay empty."""
        self._busy_counters()
        totals: dict[frozenset[int], list] = {}
        queue_minutes = 0.0
        for service_id, target, persons, tickets, further in groups:
            competing = self._competing(self.capable(service_id, target))
            entry = totals.setdefault(competing, [0, 0.0])
            entry[0] += tickets
            entry[1] += tickets * self.work(service_id, persons) + further
            queue_minutes += tickets * self.duration(service_id)
        self._totals, self.waiting_minutes = totals, queue_minutes
        return self

    def _estimate_when_due(self, ticket: Waiting) -> None:
        """An appointment checked in early waits behind walk-ins only until its time: from then
        on only tickets put at the front and appointments due before it go first. Its wait is
        the shorter of the two ways, and never less than the time left until its appointment."""
        groups: dict[frozenset[int], list] = {}
        for t in self.waiting:
            if t.id == ticket.id:
                continue
            earlier = t.due_at is not None and (t.due_at, t.id) < (ticket.due_at, ticket.id)
            if t.ahead_of_walkins or earlier:
                self._count(groups, t)
        when_due = self._estimate(self.capable(ticket.service_id, ticket.target_counter_id), groups)
        now_rank = self.estimates.get(ticket.id)
        if when_due.minutes is None or now_rank is None or now_rank.minutes is None:
            return
        assert ticket.due_at is not None  # only tickets due later get here
        until_due = math.ceil((ticket.due_at - self.now).total_seconds() / 60)
        minutes = max(when_due.minutes, until_due)
        if minutes < now_rank.minutes:
            self.estimates[ticket.id] = Estimate(when_due.people_ahead, minutes)


# The statements below are built once (with bound parameters) and reused: they run after every
# issue and change, and building SQL expressions costs more than running them.

_OFFICE: BindParameter[int] = bindparam("office_id")
_DAY: BindParameter[date] = bindparam("day")


def _run(statement, params: dict):
    """Run a plain (non-ORM) statement on the session's connection, skipping the ORM layer."""
    return db.session.connection().execute(statement, params)


@lru_cache(maxsize=8)
def _durations_stmt(sample: int):
    """The latest ``sample`` finished tickets of each service today: what the medians need,
    however many the office has served."""
    latest = (
        select(
            Ticket.service_id,
            Ticket.serving_at,
            Ticket.finished_at,
            func.row_number()
            .over(partition_by=Ticket.service_id, order_by=Ticket.finished_at.desc())
            .label("latest"),
        )
        .where(
            Ticket.office_id == _OFFICE,
            Ticket.business_date == _DAY,
            Ticket.status == TicketStatus.DONE,
            Ticket.serving_at.is_not(None),
            Ticket.finished_at.is_not(None),
        )
        .subquery()
    )
    return select(latest.c.service_id, latest.c.serving_at, latest.c.finished_at).where(
        latest.c.latest <= sample
    )


@dataclass(frozen=True)
class Finished:
    """How many of an office's tickets of the day are done, and the last of them: tickets only
    ever become done (no transition leaves ``done``, a done ticket's times never change), so
    the pair changes exactly when one more finishes."""

    count: int
    last_id: int | None


def observed_durations(
    office_id: int, day: date, catalogue: dict[int, float], finished: Finished | None = None
) -> dict[int, float]:
    """Minutes per service: median of today's latest serving -> finished times, else catalogue.

    With ``finished`` (read in the snapshot's counters statement) the medians are kept per
    office and day until the next ticket finishes: every issue, call and start reads them
    again, only a finish changes them."""
    cfg = current_app.config
    sample, minimum = cfg["ESTIMATE_SAMPLE_SIZE"], cfg["ESTIMATE_MIN_SAMPLES"]
    memo = None
    if finished is not None:
        memo = app_object().extensions.setdefault("qs_observed_durations", {})
        kept = memo.get((office_id, day))
        if kept is not None and kept[0] == (finished, sample, minimum):
            return {**catalogue, **kept[1]}
    medians = _observed_medians(office_id, day, sample, minimum)
    if memo is not None:
        if len(memo) > _MEMO_OFFICE_DAYS:
            memo.clear()  # yesterday's and older: not asked for again
        memo[(office_id, day)] = ((finished, sample, minimum), medians)
    return {**catalogue, **medians}


_MEMO_OFFICE_DAYS = 256


def _observed_medians(office_id: int, day: date, sample: int, minimum: int) -> dict[int, float]:
    """The median of the latest ``sample`` durations of each service with ``minimum`` of them."""
    rows = _run(_durations_stmt(sample), {"office_id": office_id, "day": day}).all()
    observed: dict[int, list[float]] = {}
    for service_id, started, finished in rows:
        observed.setdefault(service_id, []).append(
            max((finished - started).total_seconds() / 60, 0.0)
        )
    return {
        sid: statistics.median(values) for sid, values in observed.items() if len(values) >= minimum
    }


def ageing_weights() -> ordering.Weights:
    """QUEUE_AGEING_WEIGHTS (service code -> weight) as sorted (service id, weight) pairs."""
    configured = current_app.config.get("QUEUE_AGEING_WEIGHTS") or {}
    if not configured:
        return ()
    rows = db.session.execute(select(Service.id, Service.code).where(Service.code.in_(configured)))
    return tuple(sorted((sid, float(configured[code])) for sid, code in rows))


def _further_column():
    """The further services of the statement's ticket as "position:service id" pairs joined by
    commas, aggregated by the database (NULL for a ticket without any: every walk-in); the
    order of an aggregate is not guaranteed on SQLite, so the positions come along."""
    further = TicketService.__table__
    pair = cast(further.c.position, String) + ":" + cast(further.c.service_id, String)
    return (
        select(func.aggregate_strings(pair, ","))
        .where(further.c.ticket_id == Ticket.id)
        .scalar_subquery()
    )


def _further_ids(pairs: str | None) -> tuple[int, ...]:
    """``_further_column``'s value as service ids in booked order."""
    if not pairs:
        return ()
    booked = sorted(tuple(int(n) for n in pair.split(":")) for pair in pairs.split(","))
    return tuple(service_id for _, service_id in booked)


@lru_cache(maxsize=8)
def _waiting_stmt(weights: ordering.Weights):
    return (
        select(
            Ticket.id,
            Ticket.service_id,
            Ticket.target_counter_id,
            Ticket.issued_at,
            Ticket.persons,
            Ticket.kind,
            Ticket.due_at,
            Ticket.placement,
            ordering.tier(),
            _further_column(),
        )
        .where(
            Ticket.office_id == _OFFICE,
            Ticket.business_date == _DAY,
            Ticket.status == TicketStatus.WAITING,
        )
        .order_by(*ordering.rank(weights))
    )


def ranked_waiting(office_id: int, day: date, now: datetime) -> list[Waiting]:
    """The office's waiting tickets of ``day`` in call order, with an appointment's further
    services (read in the same statement)."""
    params = {"office_id": office_id, "day": day, **ordering.rank_params(now)}
    rows = _run(_waiting_stmt(ageing_weights()), params).all()
    return [
        Waiting(
            tid,
            service_id,
            target,
            issued_at,
            persons or 1,
            _further_ids(further) if further else (),
            due_at if kind == TicketKind.APPOINTMENT and placement is None else None,
            level < 2,
        )
        for tid, service_id, target, issued_at, persons, kind, due_at, placement, level, further in (
            rows
        )
    ]


def _waiting_groups_column():
    """The office's waiting tickets of the day in ``_group_stmts``' groups, as
    "service:target counter:persons:tickets:appointments" joined by commas, aggregated by the
    database (NULL when nobody waits; an empty target for none)."""
    groups = _group_stmts()[0].subquery("waiting_groups")
    parts = [func.coalesce(cast(column, String), "") for column in groups.c]
    row: ColumnElement[str] = parts[0]
    for part in parts[1:]:
        row = row + ":" + part
    return select(func.aggregate_strings(row, ",")).scalar_subquery()


def _waiting_groups(value: str | None) -> list[tuple[int, int | None, int | None, int, int]]:
    """``_waiting_groups_column``'s value as the rows of ``_group_stmts``' first statement."""
    if not value:
        return []
    rows = []
    for group in value.split(","):
        service_id, target, persons, tickets, appointments = group.split(":")
        rows.append(
            (
                int(service_id),
                int(target) if target else None,
                int(persons) if persons else None,
                int(tickets),
                int(appointments),
            )
        )
    return rows


@lru_cache(maxsize=2)
def _counters_stmt(waiting: bool = False):
    """One row per counter with its state, its current ticket (with an appointment's further
    services) and the ids of the services it serves (aggregated by the database): a counter has at most one ticket called or served
    (uq_tickets_active_counter), so the outer join keeps one row per counter. With ``waiting``
    each row also has the office's waiting tickets in groups (``_waiting_groups_column``)."""
    serves = (
        select(func.aggregate_strings(cast(counter_services.c.service_id, String), ","))
        .where(counter_services.c.counter_id == Counter.id)
        .scalar_subquery()
    )
    # the office's done tickets of the day (an aggregate over ix_tickets_queue, one row, read
    # once per statement): the key the observed durations are kept under
    finished = Ticket.__table__.alias("finished")
    done = (
        select(func.count().label("count"), func.max(finished.c.id).label("last_id"))
        .where(
            finished.c.office_id == _OFFICE,
            finished.c.business_date == _DAY,
            finished.c.status == TicketStatus.DONE,
        )
        .subquery("done")
    )
    return (
        select(
            Counter.id,
            Counter.number,
            Counter.label,
            CounterState.status,
            CounterState.user_id,
            Ticket.id,
            Ticket.service_id,
            Ticket.status,
            Ticket.serving_at,
            Ticket.persons,
            _further_column(),
            serves,
            done.c.count,
            done.c.last_id,
            *([_waiting_groups_column()] if waiting else []),
        )
        .select_from(Counter)
        .join(done, true())
        .outerjoin(CounterState, CounterState.counter_id == Counter.id)
        .outerjoin(Ticket, at_counter(Counter.id))
        .where(Counter.office_id == _OFFICE, Counter.active.is_(True))
        .order_by(Counter.number)
    )


def load_counters(
    office_id: int, day: date, waiting: bool = False
) -> tuple[list[CounterInfo], Finished | None, list | None]:
    """Active counters of an office with their services, state and current ticket; the
    office's done tickets of ``day``; with ``waiting`` its waiting tickets in groups (the rows
    of ``_group_stmts``' first). Both None without an active counter (no row to read them on)."""
    rows = _run(_counters_stmt(waiting), {"office_id": office_id, "day": day}).all()
    counters = []
    finished = groups = None
    for row in rows:
        if waiting:
            *row, grouped = row
            groups = _waiting_groups(grouped)
        cid, number, label, status, user_id, *current, serves, done, last_done = row
        finished = Finished(done, last_done)
        info = CounterInfo(
            cid,
            number,
            label or f"Platz {number}",
            frozenset(int(i) for i in serves.split(",")) if serves else frozenset(),
            status or CounterStatus.CLOSED,
            user_id,
        )
        tid, service_id, ticket_status, serving_at, persons, further = current
        if tid is not None:
            info.current_id, info.current_service_id = tid, service_id
            info.current_status, info.current_serving_at = ticket_status, serving_at
            info.current_persons = persons or 1
            info.current_further = _further_ids(further)
        counters.append(info)
    return counters, finished, groups


@lru_cache(maxsize=1)
def _catalogue_stmt():
    return (
        select(
            Service.id,
            Service.code,
            Service.prefix,
            Service.name_de,
            Service.name_en,
            Service.walk_in_allowed,
            Service.duration_minutes,
            Service.extra_person_minutes,
        )
        .join(OfficeService, OfficeService.service_id == Service.id)
        .where(OfficeService.office_id == _OFFICE)
        .order_by(Service.sort_order, Service.code)
    )


def office_catalogue(office_id: int) -> tuple[Mapping[int, ServiceInfo], dict[int, float]]:
    """The services the office offers and their catalogue minutes, kept per process under the
    catalogue's revision (a primary-key read per transaction instead of a join)."""
    revision.flush_catalogue_changes()
    return revision.remembered(("queue_catalogue", office_id), lambda: _read_catalogue(office_id))


def _read_catalogue(office_id: int) -> tuple[Mapping[int, ServiceInfo], dict[int, float]]:
    rows = _run(_catalogue_stmt(), {"office_id": office_id}).all()
    services = {row[0]: ServiceInfo(*row) for row in rows}
    # shared between requests: never changed (observed_durations copies the minutes)
    minutes = {sid: float(s.duration_minutes) for sid, s in services.items()}
    return MappingProxyType(services), minutes


@lru_cache(maxsize=1)
def _group_stmts() -> tuple:
    waiting = (
        Ticket.office_id == _OFFICE,
        Ticket.business_date == _DAY,
        Ticket.status == TicketStatus.WAITING,
    )
    appointments = func.sum(case((Ticket.kind == TicketKind.APPOINTMENT, 1), else_=0))
    groups = (
        select(
            Ticket.service_id, Ticket.target_counter_id, Ticket.persons, func.count(), appointments
        )
        .where(*waiting)
        .group_by(Ticket.service_id, Ticket.target_counter_id, Ticket.persons)
    )
    further = (
        select(
            Ticket.service_id,
            Ticket.target_counter_id,
            Ticket.persons,
            TicketService.service_id,
            func.count(),
        )
        .join(TicketService, TicketService.ticket_id == Ticket.id)
        .where(*waiting)
        .group_by(
            Ticket.service_id, Ticket.target_counter_id, Ticket.persons, TicketService.service_id
        )
    )
    return groups, further


def _unranked(
    office: Office, now: datetime, open_now: bool | None, waiting: bool = False
) -> tuple[Snapshot, list | None]:
    """The office's catalogue, counters and durations at ``now``; no waiting tickets yet (with
    ``waiting``, their groups as ``load_counters`` read them)."""
    day = now.astimezone(calendar.office_tz(office)).date()
    services, catalogue = office_catalogue(office.id)
    counters, finished, groups = load_counters(office.id, day, waiting)
    snap = Snapshot(
        office=office,
        now=now,
        day=day,
        services=dict(services),  # the kept one is shared and read only
        waiting=[],
        counters=counters,
        durations=observed_durations(office.id, day, catalogue, finished),
        open_now=open_now,
    )
    return snap, groups


def queue_totals(office: Office, now: datetime, open_now: bool | None = None) -> Snapshot:
    """What a new walk-in waits behind and what the forecast counts, from two aggregate
    statements: its cost does not grow with the queue in Python, unlike ``snapshot``'s ranking.
    Only ``estimate_new``, ``waiting_minutes`` and the counters are filled in."""
    # the groups come with the counters (one statement), or on their own without a counter
    snap, groups = _unranked(office, now, open_now, waiting=True)
    groups_stmt, further_stmt = _group_stmts()
    params = {"office_id": office.id, "day": snap.day}
    if groups is None:
        groups = _run(groups_stmt, params).all()
    extra: dict[tuple, float] = {}
    if any(appointments for *_, appointments in groups):  # only they have further services
        for service_id, target, persons, further_id, tickets in _run(further_stmt, params):
            key = (service_id, target, persons or 1)
            extra[key] = extra.get(key, 0.0) + tickets * snap.work(further_id, persons or 1)
    rows = []
    for service_id, target, persons, tickets, _ in groups:
        key = (service_id, target, persons or 1)
        rows.append((service_id, target, persons or 1, tickets, extra.pop(key, 0.0)))
    return snap.count_groups(rows)


def snapshot(office: Office, now: datetime, open_now: bool | None = None) -> Snapshot:
    """Rank today's waiting tickets of ``office`` and estimate each one's wait.

    ``open_now``: whether an opening window is open now, if the caller knows already."""
    snap, _ = _unranked(office, now, open_now)
    snap.waiting = ranked_waiting(office.id, snap.day, now)
    return snap.compute()
