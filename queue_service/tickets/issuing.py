"""Issuing tickets: walk-ins from the kiosk or staff, appointment tickets from the check-in."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Protocol, cast

from flask import current_app
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import clock
from ..auth.models import Device, DeviceKind, User
from ..auth.services import require_office_access
from ..db import run_in_transaction
from ..errors import N_, Conflict, Forbidden, Refused, UnknownService, ValidationFailed
from ..extensions import db
from ..offices import calendar
from ..offices.models import MobileEvent, Office, OfficeService, Service, WindowKind
from ..offices.services import cached_offer, cached_office, cached_service
from ..realtime import publish
from . import estimates, forecast, lifecycle, numbering, payloads, reads
from .models import Ticket, TicketKind, TicketService, TicketStatus

TICKET_LANGUAGES = ("de", "en", "tr", "ar", "uk")


def new_token() -> str:
    """An unguessable token for the public status page (192 bits)."""
    return secrets.token_urlsafe(24)


def _check_caller(
    office: Office, actor: User | None, device: Device | None, priority: bool, force: bool = False
) -> None:
    if force and actor is None:
        raise Forbidden(N_("Only staff may issue a walk-in the forecast refuses."), field="force")
    if actor is not None:
        require_office_access(actor, office)
        return
    if device is not None:
        if device.kind != DeviceKind.KIOSK:
            raise Forbidden(N_("Only kiosk devices may issue tickets."))
        if device.office_id != office.id:
            raise Forbidden(
                N_("This kiosk is not registered for %(office)s."), params={"office": office.name}
            )
        if priority:
            raise Forbidden(N_("Only staff may give a ticket priority."), field="priority")


def _service_params(service: Service) -> dict[str, str]:
    """A service named in a message: its English name, its German one (the German text uses
    ``%(service_de)s``) and its code."""
    return {"service": service.name_en, "service_de": service.name_de, "code": service.code}


def _check_service(session, office: Office, code: str | None) -> tuple[Service, OfficeService]:
    if not code or not isinstance(code, str):
        raise ValidationFailed(N_('Name the service by its code, e.g. "PA".'), field="service")
    try:
        service = cached_service(code)
    except UnknownService as exc:
        raise ValidationFailed(exc.message, field="service", params=exc.params) from exc
    offered = cached_offer(office, service)
    if offered is None:
        raise Refused(
            N_("%(office)s does not offer %(service)s (%(code)s)."),
            params={"office": office.name, **_service_params(service)},
            reason="service_not_offered",
            field="service",
        )
    return service, offered


def _check_walkin_hours(office: Office, service: Service, now: datetime) -> None:
    day = now.astimezone(calendar.office_tz(office)).date()
    if not service.walk_in_allowed:
        raise Refused(
            N_("%(service)s (%(code)s) needs an appointment; it is not served to walk-ins."),
            params=_service_params(service),
            reason="walkin_not_allowed",
            field="service",
        )
    if not any(w.contains(now) for w in calendar.windows(office, day, WindowKind.WALKIN)):
        closed = calendar.closure_reason(office, day)
        if closed:
            raise Refused(
                N_("%(office)s is closed today (%(reason)s)."),
                params={"office": office.name, "reason": closed},
                reason="closed",
                closure=closed,
            )
        upcoming = calendar.next_opening(office, now, WindowKind.WALKIN)
        when = (
            upcoming.start.astimezone(calendar.office_tz(office)).isoformat(timespec="minutes")
            if upcoming
            else None
        )
        raise Refused(
            N_("%(office)s takes no walk-ins right now. Next walk-in time starts %(when)s.")
            if when
            else N_("%(office)s takes no walk-ins right now."),
            params={"office": office.name, "when": when} if when else {"office": office.name},
            reason="outside_walkin_hours",
            next_walkin_window=when,
        )
    stopped = office.walkins_closed_reason_on(day)
    if stopped:
        raise Refused(
            N_("%(office)s gives no more walk-in tickets today: %(reason)s"),
            params={"office": office.name, "reason": stopped},
            reason="walkins_closed",
            closure=stopped,
        )
    if office.is_mobile:
        _check_mobile_event(office, service, now, day)


def _admit_walkin(
    session,
    office: Office,
    service: Service,
    offered: OfficeService,
    now: datetime,
    forecast_applies: bool,
) -> estimates.Snapshot | None:
    """Hours, the daily caps (counted under their row lock) and the forecast of a walk-in;
    the queue snapshot the forecast read (before this ticket), if it applied."""
    day = now.astimezone(calendar.office_tz(office)).date()
    _check_walkin_hours(office, service, now)
    # the office's walk-in counter is bumped (its row locked to the commit) before the forecast
    # reads the queue, also without a daily cap: concurrent walk-ins of the office, from every
    # process, are judged one after the other (without it two could take the last place)
    numbering.count_walkin(
        session,
        office.id,
        day,
        office.walkin_daily_cap,
        "walkins",
        {"name": office.name},
        lock=forecast_applies,
    )
    numbering.count_walkin(
        session,
        office.id,
        day,
        offered.walkin_daily_cap,
        f"walkins:{service.code}",
        {"name": service.name_en, "name_de": service.name_de},
    )
    if not forecast_applies:
        return None
    # after the caps' row lock: concurrent walk-ins of the office are counted one by one
    return _check_forecast(office, service, now)


def _check_forecast(office: Office, service: Service, now: datetime) -> estimates.Snapshot:
    """The kiosk's rule (``offer.walkin_offer``): refuse a walk-in the counters open now cannot
    serve before service ends today (``forecast.Forecast.can_take``)."""
    # totals, not the ranked queue: a walk-in joins at the back and waits behind everyone
    snap = estimates.queue_totals(office, now, open_now=True)
    outlook = forecast.day_forecast(office, now, snap)
    if outlook.can_take(snap.duration(service.id)):
        return snap
    raise Refused(
        N_(
            "The counters open now cannot serve another walk-in for %(service)s (%(code)s) "
            "before service ends today at %(office)s."
        ),
        params={"office": office.name, **_service_params(service)},
        reason="served_out",
        field="service",
        service_ends=payloads.local_iso(outlook.service_end, office),
        expected_last_served=payloads.local_iso(outlook.expected_last_served, office),
    )


def _add_alternatives(refusal: Refused, office_slug: str, service_code: str) -> None:
    office = cached_office(office_slug)  # read only: the kept catalogue, no query
    other = forecast.alternatives(office, service_code)
    refusal.extra["next_free_appointment"] = payloads.local_iso(
        other.get("next_free_appointment"), office
    )
    refusal.extra["book_url"] = other.get("book_url")
    refusal.extra["waitlist_url"] = other.get("waitlist_url")


def _check_mobile_event(office: Office, service: Service, now: datetime, day: date) -> None:
    """The mobile office serves, at each stop, only the services listed for that date."""
    tz = calendar.office_tz(office)
    for event in db.session.scalars(
        select(MobileEvent).where(MobileEvent.office_id == office.id, MobileEvent.day == day)
    ):
        start, end = (
            clock.local_to_utc(day, event.start_time, tz),
            clock.local_to_utc(day, event.end_time, tz),
        )
        if start <= now < end and event.walk_in:
            if event.services and service not in event.services:
                raise Refused(
                    N_("%(service)s (%(code)s) is not offered at %(place)s today."),
                    params={"place": event.place, **_service_params(service)},
                    reason="service_not_offered",
                    field="service",
                )
            return


def _check_key(key: str | None) -> str | None:
    if key is None or key == "":
        return None
    if not isinstance(key, str) or len(key) > 64 or not key.isprintable():
        raise ValidationFailed(
            N_("An idempotency key has 1 to 64 printable characters."), field="idempotency_key"
        )
    return key


@lru_cache(maxsize=1)
def _existing_stmt():
    return select(Ticket.id).where(
        Ticket.office_id == bindparam("office_id"), Ticket.idempotency_key == bindparam("key")
    )


def _existing(office_id: int, key: str) -> Ticket | None:
    """The ticket issued earlier with this key (after the key's INSERT failed, or a refusal);
    looked up as a plain row: for a refused new key there is none, and an ORM query for no row
    costs as much."""
    params = {"office_id": office_id, "key": key}
    found = db.session.connection().execute(_existing_stmt(), params).scalar()
    return None if found is None else db.session.get(Ticket, found)


@lru_cache(maxsize=1)
def _insert_further_stmt():
    return insert(TicketService)


class Issued(Protocol):
    """What ``on_issued`` learns of the ticket: its id (a new ticket is not loaded as an ORM
    object; a repeat's is the ticket found)."""

    @property
    def id(self) -> int: ...


@dataclass(frozen=True)
class _NewTicket:
    id: int


def _same_request(ticket: Ticket, service_code: str | None) -> Ticket:
    if ticket.service.code != service_code:
        raise Conflict(
            N_("This Idempotency-Key was already used for another ticket request."),
            reason="idempotency_key_reused",
            field="idempotency_key",
        )
    return ticket


def issue_ticket(
    office_slug: str,
    service_code: str | None,  # validated here: it comes straight from a request body
    *,
    priority: bool = False,
    kind: TicketKind | str = TicketKind.WALKIN,
    due_at: datetime | None = None,
    prefix: str | None = None,
    idempotency_key: str | None = None,
    actor: User | None = None,
    device: Device | None = None,
    lang: str = "de",
    further_services: Sequence[str] = (),
    persons: int = 1,
    force: bool = False,
    on_issued: Callable[[Session, Issued], object] | None = None,
) -> dict:
    """Issue a ticket and return its staff view (with token and estimate). The same ``idempotency_key`` returns the same ticket.

    An appointment's ticket carries the further services booked (``further_services``, codes
    in booked order) and the number of ``persons``; the ticket is queued for the first service.

    Walk-ins are refused on closure days, outside walk-in hours, for services that need an
    appointment, past the daily caps and when the walk-in forecast says the counters open now
    cannot serve it before closing (``served_out``, the kiosk's rule; staff may ``force`` it,
    recorded on the ticket's issue event; trusted code is not held to it) (``errors.Refused``
    with a ``reason``). Appointment
    tickets (``kind="appointment"``, from the check-in) skip hours and caps. With neither
    ``actor`` nor ``device`` the caller is trusted code (the check-in).

    ``on_issued(session, ticket)`` makes the caller's change part of this unit of work: it runs
    before the commit with the new ticket (``Issued``: its id), or with the one its idempotency
    key found (then it must accept a repeat), and what it raises rolls the ticket back.
    """
    kind = TicketKind(kind)
    key = _check_key(idempotency_key)
    if prefix is not None and not (len(prefix) == 1 and prefix.isalpha() and prefix.isupper()):
        raise ValidationFailed(N_("A ticket prefix is one capital letter."), field="prefix")
    if kind == TicketKind.APPOINTMENT and due_at is None:
        raise ValidationFailed(
            N_("An appointment ticket needs its appointment time."), field="due_at"
        )
    if kind != TicketKind.APPOINTMENT and (further_services or persons != 1):
        raise ValidationFailed(
            N_("Only an appointment's ticket has several services or persons."), field="service"
        )
    if not isinstance(persons, int) or persons < 1:
        raise ValidationFailed(N_("A ticket is for one person or more."), field="persons")

    # the queue as the forecast read it, under the caps' lock and before this ticket: a walk-in
    # without priority joins at the back, so its estimate is that queue's ``estimate_new``
    # and the read after the commit is saved
    known: list[estimates.Estimate] = []

    def work(session) -> tuple[dict, Office, int, date]:
        known.clear()
        now = clock.now()
        # office, service and offer from the process's copy of the catalogue (read here,
        # never changed; the revision is read in this transaction)
        office = cached_office(office_slug)
        _check_caller(office, actor, device, priority, force)
        service, offered = _check_service(session, office, service_code)
        # the idempotency key is not looked up first: nearly every key is new (a kiosk sends
        # one with each tap), and a repeat is found by the key's unique constraint at the
        # INSERT, or after a refusal, with everything this attempt counted rolled back (_issue)
        day = now.astimezone(calendar.office_tz(office)).date()
        if kind == TicketKind.WALKIN:
            if office_slug not in _admission_locks:  # a known office: its walk-ins queue here
                with _admission_locks_guard:
                    _admission_locks.setdefault(office_slug, threading.Lock())
            # trusted code (no caller: scripts, tests) is not held to the forecast
            forecast_applies = (actor is not None or device is not None) and not force
            snap = _admit_walkin(session, office, service, offered, now, forecast_applies)
            if snap is not None and not priority:
                known.append(snap.estimate_new(service.id))
        further = [
            _check_service(session, office, code)[0]
            for code in dict.fromkeys(further_services)
            if code != service.code
        ]
        letter = prefix or service.prefix
        token = new_token()
        ticket_lang = lang if lang in TICKET_LANGUAGES else "de"
        values = {  # its seq and number come from the prefix's day counter (insert_numbered)
            "office_id": office.id,
            "service_id": service.id,
            "business_date": day,
            "prefix": letter,
            "token": token,
            "status": TicketStatus.WAITING,
            "kind": kind,
            "priority": bool(priority),
            "due_at": due_at,
            "queued_at": now,
            "issued_at": now,
            "idempotency_key": key,
            "persons": persons,
            "lang": ticket_lang,
            "recall_count": 0,
            "transferred": False,
        }
        event = {
            "office_id": office.id,
            "at": now,
            "action": "issue",
            "from_status": None,
            "to_status": TicketStatus.WAITING,
            "counter_id": None,
            "user_id": actor.id if actor else None,
            "details": {
                "service": service.code,
                **({"further_services": [f.code for f in further]} if further else {}),
                **({"persons": persons} if persons != 1 else {}),
                "kind": kind.value,
                "priority": bool(priority),
                **({"forced": True} if force else {}),
                "by": "staff" if actor else ("kiosk" if device else "system"),
                **({"device_id": device.id} if device else {}),
            },
        }
        # the next number taken and the ticket written with plain INSERTs built once (on
        # PostgreSQL one statement), the ticket's id returned: no ORM object, flush or unit of work
        counter = numbering.counter_name(letter)
        # the issue's one numbered event is its queue_updated when nothing is written after the
        # ticket: then the ticket's statement reserves its seq too (PostgreSQL)
        alone = on_issued is None and not further
        issued_id, seq, office_seq = lifecycle.insert_numbered(
            session, values, event, counter, reserve_seq=alone
        )
        numbering.checked(seq, letter)  # past 999: refused, the counter's bump rolled back
        # a seq within the range always comes with its ticket
        ticket_id, number = cast(int, issued_id), numbering.format_number(letter, seq)
        if further:
            session.connection().execute(
                _insert_further_stmt(),
                [
                    {"ticket_id": ticket_id, "position": i, "service_id": extra.id}
                    for i, extra in enumerate(further, start=1)
                ],
            )
        if on_issued is not None:
            on_issued(session, _NewTicket(ticket_id))
        publish.queue_changed(office.slug, seq=office_seq)
        view = payloads.issued_view(
            number=number,
            token=token,
            kind=kind,
            services=[service, *further],
            persons=persons,
            ticket_lang=ticket_lang,
            office=office,
            priority=bool(priority),
            due_at=due_at,
            issued_at=now,
            business_date=day,
            lang=lang,
        )
        return view, office, ticket_id, day

    try:
        queued = kind == TicketKind.WALKIN and current_app.config["WALKIN_ADMISSION_LOCK"]
        with _admission(office_slug) if queued else nullcontext():
            view, office, ticket_id, day = _issue(
                work, key, office_slug, service_code, lang, on_issued
            )
    except Refused as refusal:
        if refusal.extra.get("reason") == "served_out" and service_code:
            # after the rollback: the next free appointment is a slot search, not under the lock
            _add_alternatives(refusal, office_slug, service_code)
        raise
    if view["status"] == TicketStatus.WAITING.value:
        # after the commit: the estimate reads the queue without holding the write lock
        # a walk-in was just let in, so a walk-in window is open (saves the calendar lookup)
        open_now = True if kind == TicketKind.WALKIN else None
        estimate = known[0] if known else reads.waiting_estimate(office, ticket_id, day, open_now)
        view["people_ahead"], view["estimated_wait_minutes"] = (
            estimate.people_ahead,
            estimate.minutes,
        )
    return view


_admission_locks: dict[str, threading.Lock] = {}
_admission_locks_guard = threading.Lock()


def _admission(office_slug: str):
    """``admitting_walkins`` for an office this process has admitted a walk-in of before (its
    slug found in the catalogue then); the very first one goes straight to the database's lock.
    Keyed by the slug the request names, so that finding the office costs no read before the
    transaction, and only known offices get a lock (the slug comes from the request)."""
    return admitting_walkins(office_slug) if office_slug in _admission_locks else nullcontext()


@contextmanager
def admitting_walkins(office_slug: str) -> Iterator[None]:
    """One walk-in of an office at a time in this process, before its transaction begins.

    The database admits an office's walk-ins one by one anyway: each takes the row lock of the
    office's ``walkins`` day counter before the forecast and holds it to its commit (the honest
    admission). Without this, every concurrent walk-in of the office took a pooled connection and
    a database backend only to wait for that lock, behind a holder whose round trips wait for
    its busy process (under gevent, "idle in transaction"), and the other requests of the
    process waited for connections. Now they wait here, holding nothing; the database lock
    still orders the walk-ins of several processes, and correctness does not depend on this
    (``WALKIN_ADMISSION_LOCK``; the concurrency tests run without it). A lock per office slug;
    cooperative under gevent's monkey-patching.
    """
    lock = _admission_locks.get(office_slug)
    if lock is None:
        with _admission_locks_guard:
            lock = _admission_locks.setdefault(office_slug, threading.Lock())
    with lock:
        yield


def _result(ticket: Ticket, lang: str) -> tuple[dict, Office, int, date]:
    view = payloads.staff_view(ticket, reads.fixed_estimate(ticket), lang)
    return view, ticket.office, ticket.id, ticket.business_date


def _issue(
    work,
    key: str | None,
    office_slug: str,
    service_code: str | None,
    lang: str,
    on_issued: Callable[[Session, Issued], object] | None,
) -> tuple:
    try:
        return run_in_transaction(work)
    except (IntegrityError, Refused):
        # IntegrityError: the key's unique constraint, a repeat (or a concurrent request with
        # the same key won the race); Refused: the office may refuse now what it admitted when
        # the key was first sent (closed since, served out, a cap reached): a repeat still
        # gets its ticket. Either way this attempt's counts and number were rolled back.
        db.session.rollback()
        if key:
            office = cached_office(office_slug)  # for its id: the kept catalogue, no query
            earlier = _existing(office.id, key)
            if earlier is not None:
                _same_request(earlier, service_code)
                if on_issued is not None:  # the first request's change, or this one's
                    run_in_transaction(lambda session: on_issued(session, earlier))
                return _result(earlier, lang)
        raise
