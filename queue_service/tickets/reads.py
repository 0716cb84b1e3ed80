"""Read-only views of tickets, counters and queues (no state changes here)."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from .. import clock
from ..auth.models import User
from ..auth.services import require_office_access
from ..errors import N_, NotFound, UnknownOffice
from ..extensions import db
from ..offices import calendar
from ..offices.models import Counter, Office, WindowKind
from ..offices.revision import kept_entities
from ..offices.services import cached_office, get_office
from . import estimates, forecast, payloads, shared
from .estimates import Estimate, Snapshot
from .models import ACTIVE_AT_COUNTER, Ticket, TicketStatus


def get_ticket(token: str) -> Ticket:
    ticket = db.session.scalar(select(Ticket).where(Ticket.token == token)) if token else None
    if ticket is None:
        raise NotFound(N_("There is no ticket with this code."))
    return ticket


def fixed_estimate(ticket: Ticket) -> Estimate | None:
    """The estimate of a ticket that is not waiting (0 at a counter, none when it is over)."""
    return Estimate(0, 0) if ticket.status in ACTIVE_AT_COUNTER else None


def waiting_estimate(
    office: Office, ticket_id: int, business_date, open_now: bool | None = None
) -> Estimate:
    """People ahead of a waiting ticket and its estimated wait, from a fresh snapshot."""
    if business_date != calendar.office_local_today(office):
        return Estimate(0, None)
    snap = estimates.snapshot(office, clock.now(), open_now)
    return snap.estimates.get(ticket_id) or Estimate(0, None)


def estimate_of(ticket: Ticket) -> Estimate | None:
    if ticket.status != TicketStatus.WAITING:
        return fixed_estimate(ticket)
    return waiting_estimate(ticket.office, ticket.id, ticket.business_date)


@lru_cache(maxsize=1)
def _status_stmt():
    """A ticket's status as a plain row: most asks are a waiting ticket's phone joining, whose
    view is made from these values and the office's shared queue read."""
    return (
        select(Ticket.id, Ticket.status, Office.slug, *shared.waiting_view_columns())
        .join(Office, Office.id == Ticket.office_id)
        .where(Ticket.token == bindparam("token"))
    )


def ticket_status(token: str, lang: str = "de") -> dict:
    """The public status of a ticket (for its status page and the public API), with the walk-in
    forecast's warning while it waits and may not be served before closing.

    A waiting ticket's position and estimate come from the office's queue read shared with the
    displays and the other phones while the office's seq is unchanged and neither real nor
    application time has moved on by DISPLAY_SNAPSHOT_SHARE_SECONDS (``shared.office_read``);
    the forecast behind the warning is worked out once per such read, at its moment."""
    row = (
        db.session.connection().execute(_status_stmt(), {"token": token}).first() if token else None
    )
    if row is None:
        raise NotFound(N_("There is no ticket with this code."))
    ticket_id, status, slug, number, kind, issued_at, service_id, persons, ticket_lang, day = row
    office = _office_of(slug)
    if (
        office is None
        or status != TicketStatus.WAITING
        or day != calendar.office_local_today(office)
    ):
        return _status_of(db.session.get_one(Ticket, ticket_id), lang)
    read = shared.office_read(office, clock_bound=True)
    if ticket_id not in read.snap.estimates:
        # called or sent away since it was read above (or a read kept across a change that
        # allocated no seq): as before, the estimate of a queue read now
        read = shared.office_read(office, fresh=True)
    snap = read.snap
    estimate = snap.estimates.get(ticket_id) or Estimate(0, None)
    further = snap.further_of(ticket_id)
    names = shared.service_names(snap, {service_id, *further})
    services = [names[service_id], *(names[f] for f in further if f != service_id)]
    view = payloads.waiting_public_view(
        number, kind, services, persons, ticket_lang, office, issued_at, day, estimate, lang
    )
    outlook = read.outlook
    if outlook is None:
        outlook = forecast.day_forecast(snap.office, snap.now, snap)
        shared.keep_outlook(office, read, outlook)
    warnings = forecast_warnings(snap, {ticket_id: names[service_id][0]}, outlook)
    return payloads.with_warning(view, warnings.get(ticket_id))


def _office_of(slug: str) -> Office | None:
    try:
        return cached_office(slug)
    except UnknownOffice:  # closed down since: its tickets are still shown
        return None


def _status_of(ticket: Ticket, lang: str) -> dict:
    """``ticket_status`` of a loaded ticket, its estimate from a queue read of its own."""
    office = ticket.office
    if ticket.status != TicketStatus.WAITING or ticket.business_date != (
        calendar.office_local_today(office)
    ):
        return payloads.with_warning(payloads.public_view(ticket, estimate_of(ticket), lang), None)
    snap = estimates.snapshot(office, clock.now())
    estimate = snap.estimates.get(ticket.id) or Estimate(0, None)
    warnings = forecast_warnings(snap, {ticket.id: ticket.service.code})
    return payloads.with_warning(
        payloads.public_view(ticket, estimate, lang), warnings.get(ticket.id)
    )


def forecast_warnings(
    snap: Snapshot, service_codes: dict[int, str], outlook: forecast.Forecast | None = None
) -> dict[int, dict]:
    """For the waiting tickets named (id -> its service code) that the counters open now may
    not serve before closing (``forecast.at_risk``): what their status page offers instead."""
    if not service_codes:
        return {}
    outlook = outlook or forecast.day_forecast(snap.office, snap.now, snap)
    risky = forecast.at_risk(outlook, snap) & service_codes.keys()
    found: dict[int, dict] = {}
    by_code: dict[str, dict] = {}
    for ticket_id in sorted(risky):
        code = service_codes[ticket_id]
        if code not in by_code:
            other = forecast.alternatives(snap.office, code)
            by_code[code] = {
                "service_ends": payloads.local_iso(outlook.service_end, snap.office),
                "expected_last_served": payloads.local_iso(
                    outlook.expected_last_served, snap.office
                ),
                "next_free_appointment": payloads.local_iso(
                    other.get("next_free_appointment"), snap.office
                ),
                "book_url": other.get("book_url"),
                "waitlist_url": other.get("waitlist_url"),
            }
        found[ticket_id] = by_code[code]
    return found


def _counter_view(
    info: estimates.CounterInfo, users: dict[int, User], snap: Snapshot, lang: str
) -> dict:
    user = users.get(info.user_id) if info.user_id else None
    current = db.session.get(Ticket, info.current_id) if info.current_id else None
    return {
        "number": info.number,
        "name": info.name,
        "status": info.status.value,
        "user": ({"username": user.username, "display_name": user.display_name} if user else None),
        "services": sorted(snap.services[s].code for s in info.service_ids if s in snap.services),
        "current": payloads.staff_view(current, Estimate(0, 0), lang) if current else None,
        "waiting_for_counter": sum(
            1
            for t in snap.waiting
            if t.target_counter_id == info.id
            or (t.target_counter_id is None and t.service_id in info.service_ids)
        ),
    }


def _load(ids: list[int]) -> dict[int, Ticket]:
    """Tickets with what their views show, in one query."""
    if not ids:
        return {}
    rows = db.session.scalars(
        select(Ticket)
        .where(Ticket.id.in_(ids))
        .options(joinedload(Ticket.service), joinedload(Ticket.target_counter))
    ).all()
    return {t.id: t for t in rows}


def _users(snap: Snapshot) -> dict[int, User]:
    ids = {c.user_id for c in snap.counters if c.user_id}
    if not ids:
        return {}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}


def _service_summary(snap: Snapshot, service, lang: str) -> dict:
    mine = [t for t in snap.waiting if t.service_id == service.id]
    longest = max((payloads.minutes_between(t.issued_at, snap.now) for t in mine), default=0)
    estimate = snap.estimate_new(service.id)
    return {
        "code": service.code,
        "name": service.name(lang),
        "prefix": service.prefix,
        "walk_in_allowed": service.walk_in_allowed,
        "waiting": len(mine),
        "longest_wait_minutes": longest,
        "estimated_wait_minutes": estimate.minutes,
    }


def queue_overview(office_slug: str, *, actor: User, lang: str = "de") -> dict:
    """For the clerk desk: the waiting list per service, parked tickets and every counter."""
    office = get_office(office_slug)
    require_office_access(actor, office)
    snap = estimates.snapshot(office, clock.now())
    loaded = _load([t.id for t in snap.waiting])
    ranked = [
        payloads.staff_view(loaded[t.id], snap.estimates.get(t.id), lang) for t in snap.waiting
    ]
    services = []
    for service in snap.services.values():
        summary = _service_summary(snap, service, lang)
        summary["tickets"] = [
            v for t, v in zip(snap.waiting, ranked, strict=True) if t.service_id == service.id
        ]
        services.append(summary)
    parked = db.session.scalars(
        select(Ticket)
        .where(
            Ticket.office_id == office.id,
            Ticket.business_date == snap.day,
            Ticket.status == TicketStatus.PARKED,
        )
        .order_by(Ticket.parked_at)
    ).all()
    users = _users(snap)
    return {
        "office": {"slug": office.slug, "name": office.name},
        "business_date": snap.day.isoformat(),
        "server_time": snap.now.isoformat(timespec="seconds"),
        "waiting_total": len(snap.waiting),
        "queue": ranked,
        "services": services,
        "parked": [payloads.staff_view(t, None, lang) for t in parked],
        "counters": [_counter_view(c, users, snap, lang) for c in snap.counters],
    }


def counter_overview(
    office_slug: str, counter_number: int, *, actor: User, lang: str = "de"
) -> dict:
    """One counter: its state, the clerk there, its current ticket and how many wait for it."""
    office = get_office(office_slug)
    require_office_access(actor, office)
    snap = estimates.snapshot(office, clock.now())
    for info in snap.counters:
        if info.number == counter_number:
            return _counter_view(info, _users(snap), snap, lang)
    raise NotFound(
        N_("%(office)s has no counter %(number)s."),
        params={"office": office.name, "number": counter_number},
    )


def office_status(office_slug: str, lang: str = "de") -> dict:
    """Public: per service how many wait and the estimated wait; open counters; open or closed."""
    office = get_office(office_slug)
    now = clock.now()
    snap = estimates.snapshot(office, now)
    day = snap.day
    walkin_open = calendar.is_open(office, now, WindowKind.WALKIN)
    open_now = walkin_open or calendar.is_open(office, now, WindowKind.APPOINTMENT)
    upcoming = calendar.next_opening(office, now, WindowKind.WALKIN)
    outlook = forecast.day_forecast(office, now, snap)
    return {
        "office": {"slug": office.slug, "name": office.name},
        "server_time": now.isoformat(timespec="seconds"),
        "open": open_now,
        "walkin_open": walkin_open,
        "closed_reason": calendar.closure_reason(office, day),
        "walkins_closed_reason": office.walkins_closed_reason_on(day),
        "next_walkin_window": (
            {
                "start": payloads.local_iso(upcoming.start, office),
                "end": payloads.local_iso(upcoming.end, office),
            }
            if upcoming
            else None
        ),
        "open_counters": len(snap.open_counter_ids),
        "waiting_total": len(snap.waiting),
        # the rest of the day (tickets/forecast.py): null while no counter is open
        "expected_last_served": (
            payloads.local_iso(outlook.expected_last_served, office)
            if outlook.known and outlook.expected_last_served
            else None
        ),
        "walkins_acceptable": (
            outlook.walkins_acceptable
            if walkin_open and not office.walkins_closed_reason_on(day)
            else None
        ),
        "services": [_service_summary(snap, s, lang) for s in snap.services.values()],
    }


def find_counter(office: Office, number: int) -> Counter:
    """The office's active counter ``number``, from the process's copy of the catalogue
    revision (read by the changes at a counter, never changed by them)."""
    found = kept_entities(
        ("counter", office.id, number),
        lambda session: list(
            session.scalars(
                select(Counter).where(
                    Counter.office_id == office.id,
                    Counter.number == number,
                    Counter.active.is_(True),
                )
            )
        ),
    )
    counter = found[0] if found else None
    if counter is None:
        raise NotFound(
            N_("%(office)s has no counter %(number)s."),
            params={"office": office.name, "number": number},
            field="counter",
        )
    return counter
