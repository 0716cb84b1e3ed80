"""State changes of appointments: hold, book, confirm, cancel, reschedule, check-in hand-over.

Each function is one unit of work (validate, change, commit, then mail). Routes, commands and the
scheduler all call these; nothing else writes appointments. The jobs the scheduler runs live in
``jobs.py``.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import TypeVar, cast

from flask import current_app
from sqlalchemy import BigInteger, String, Table, bindparam, func, select, text, update
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..db import UTCDateTime, run_in_transaction
from ..errors import N_, InvalidTransition, NotFound, Refused, UnknownService, ValidationFailed
from ..extensions import db
from ..notify import outbox
from ..offices.services import cached_office, cached_service
from . import capacity, mails, payloads, seats, slots, tokens, writes
from . import settings as booking_settings
from .models import Appointment, AppointmentStatus
from .payloads import AppointmentView, OfficeInfo, ServiceInfo

T = TypeVar("T")
S = AppointmentStatus

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")
_PHONE = re.compile(r"^[0-9+()/ \-]{5,30}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Contact:
    name: str
    email: str
    phone: str | None
    lang: str


@dataclass(frozen=True)
class CheckInLookup:
    """An appointment found by its code at an office, and where it stands in its check-in window."""

    appointment: AppointmentView
    timing: str  # "early" | "due" | "late"
    opens_at: datetime
    closes_at: datetime

    @property
    def is_due(self) -> bool:
        return self.timing == "due"


# ---------------------------------------------------------------- helpers


# what a resident is told about each contact field (English; the pages translate it)
CONTACT_MESSAGES = {
    "name": N_("Please enter your first name and surname (2 to 100 characters)."),
    "email": N_("Please enter a valid e-mail address, e.g. name@example.org."),
    "phone": N_(
        "Please enter the phone number with digits only (and + ( ) / -), or leave it empty."
    ),
}


def contact_problems(
    name: str | None, email: str | None, phone: str | None = None
) -> dict[str, str]:
    """Every problem with the contact details, by field (empty when they are fine)."""
    problems: dict[str, str] = {}
    name = " ".join((name or "").split())
    if not 2 <= len(name) <= 100 or _CONTROL.search(name) or not any(c.isalpha() for c in name):
        problems["name"] = CONTACT_MESSAGES["name"]
    email = (email or "").strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        problems["email"] = CONTACT_MESSAGES["email"]
    phone = " ".join((phone or "").split())
    if phone and not _PHONE.match(phone):
        problems["phone"] = CONTACT_MESSAGES["phone"]
    return problems


def validate_contact(
    name: str | None, email: str | None, phone: str | None = None, lang: str | None = None
) -> Contact:
    """Name, e-mail, optional phone and language as stored (errors name the field)."""
    problems = contact_problems(name, email, phone)
    if problems:
        field, detail = next(iter(problems.items()))
        raise ValidationFailed(detail, field=field)
    languages = current_app.config["LANGUAGES"]
    lang = (
        lang
        if lang is not None and lang in languages
        else current_app.config["BABEL_DEFAULT_LOCALE"]
    )
    return Contact(
        " ".join((name or "").split()),
        (email or "").strip().lower(),
        " ".join((phone or "").split()) or None,
        lang,
    )


def _transact(work: Callable[..., T]) -> T:
    """run_in_transaction, plus a retry when a random code or token happened to collide."""
    for attempt in range(3):
        try:
            return run_in_transaction(work)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _new_code(session) -> str:
    """A random booking code; the unique constraint catches the (1 in ~10^8) collision and
    ``_transact`` retries the whole booking."""
    return tokens.new_code()


def _find_by_token(token: str) -> Appointment:
    if not tokens.looks_like_token(token):
        raise NotFound(N_("No appointment belongs to this link."))
    appointment = db.session.scalar(
        select(Appointment).where(Appointment.token_hash == tokens.token_hash(token))
    )
    if appointment is None:
        raise NotFound(N_("No appointment belongs to this link. It may have been deleted."))
    return appointment


def _email_lock_key(email: str) -> int:
    return int.from_bytes(
        hashlib.blake2b(email.encode(), digest_size=8).digest(), "big", signed=True
    )


def _serialise_address(session, email: str) -> None:
    """On PostgreSQL, bookings of one address one after the other (to the commit), so two
    parallel requests cannot both pass the count (SQLite's writers are one at a time anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _email_lock_key(email)})


def _active_count(email: str, now: datetime, exclude_id: int | None = None):
    """The query counting the address's booked, future appointments."""
    query = select(func.count(Appointment.id)).where(
        Appointment.email == email,
        Appointment.end > now,
        (Appointment.status == S.CONFIRMED)
        | ((Appointment.status == S.PENDING) & (Appointment.expires_at > now)),
    )
    if exclude_id is not None:
        query = query.where(Appointment.id != exclude_id)
    return query


# the same count as ``_active_count`` as text, read with a booking's live seats (built once:
# the select was built and its cache key computed on every booking)
_ACTIVE_COUNT_SQL = (
    "(SELECT count(appointments.id) FROM appointments WHERE appointments.email = :active_email "
    'AND appointments."end" > :active_now AND (appointments.status = :active_confirmed '
    "OR (appointments.status = :active_pending AND appointments.expires_at > :active_now)))"
)


# on PostgreSQL the read takes the address's lock first, in the same round trip
_ADDRESS_LOCK_SQL = "SELECT pg_advisory_xact_lock(:address_lock) AS one"


def _active_count_along(email: str, now: datetime, *, lock: bool = False) -> seats.Along:
    """``_active_count(email, now)`` to read along with the live seats; ``lock``: the read
    takes the address's advisory lock first (``_serialise_address``, PostgreSQL)."""
    types: tuple = (
        ("active_email", String()),
        ("active_now", UTCDateTime()),
        ("active_confirmed", String()),
        ("active_pending", String()),
    )
    values = {
        "active_email": email,
        "active_now": now,
        "active_confirmed": S.CONFIRMED.value,
        "active_pending": S.PENDING.value,
    }
    if not lock:
        return seats.Along(_ACTIVE_COUNT_SQL, types, values)
    values["address_lock"] = _email_lock_key(email)
    return seats.Along(
        _ACTIVE_COUNT_SQL, (*types, ("address_lock", BigInteger())), values, _ADDRESS_LOCK_SQL
    )


def _refuse_beyond_limit(active: int) -> None:
    """Refused when the address already holds MAX_ACTIVE_APPOINTMENTS_PER_EMAIL appointments."""
    limit = booking_settings.current().max_active_per_email
    if active >= limit:
        raise Refused(
            N_(
                "This e-mail address already has %(limit)s booked appointments. Please cancel "
                "one you no longer need first."
            ),
            params={"limit": limit},
            field="email",
        )


def _guard_email_limit(session, email: str, now: datetime, exclude_id: int | None = None) -> None:
    """At most MAX_ACTIVE_APPOINTMENTS_PER_EMAIL booked, future appointments per address."""
    _serialise_address(session, email)
    _refuse_beyond_limit(session.scalar(_active_count(email, now, exclude_id)))


def check_email_limit(session, email: str, now: datetime) -> None:
    """Refused when the address already holds MAX_ACTIVE_APPOINTMENTS_PER_EMAIL appointments
    (for callers that book inside their own unit of work, e.g. an accepted waitlist offer)."""
    _guard_email_limit(session, email, now)


def _transition(session, appointment_id: int, allowed: Sequence[S], **values) -> bool:
    """Change an appointment only if it is still in one of the ``allowed`` states."""
    result = session.execute(
        update(Appointment)
        .where(Appointment.id == appointment_id, Appointment.status.in_(list(allowed)))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _reload(session, appointment_id: int, office: OfficeInfo, services, now) -> AppointmentView:
    appointment = session.get(Appointment, appointment_id, populate_existing=True)
    return payloads.build(appointment, office, services, now)


# ---------------------------------------------------------------- reading


def get_appointment(token: str) -> AppointmentView:
    """The appointment behind a manage link."""
    return payloads.build(_find_by_token(token))


# ---------------------------------------------------------------- holding and booking


def hold_slot(
    office_slug: str,
    service_codes: str | Sequence[str] | None,
    persons: int | str,
    start: datetime,
) -> AppointmentView:
    """Hold a free time for HOLD_MINUTES while the resident fills in the form (the view's token
    identifies the hold)."""
    s = booking_settings.current()
    now = clock.now()
    office = cached_office(office_slug)
    request = slots.resolve_request(service_codes, persons, office)
    slot = slots.check_slot(office, request, start, now)
    office_info = OfficeInfo.of(office)
    service_info = tuple(ServiceInfo.of(sv) for sv in request.services)

    def work(session) -> AppointmentView:
        salt = tokens.new_salt()
        appointment = Appointment(
            public_id=uuid.uuid4().hex,
            office_id=office_info.id,
            status=S.HELD,
            start=slot.start,
            end=slot.end,
            persons=request.persons,
            service_codes=request.codes,
            lang=current_app.config["BABEL_DEFAULT_LOCALE"],
            token_salt=salt,
            token_hash=tokens.token_hash(tokens.manage_token(salt)),
            created_at=now,
            expires_at=now + s.hold,
        )
        session.add(appointment)
        session.flush()
        seats.claim(
            session,
            seats.SeatRequest.for_slot(slot, request.units, s.unit, now),
            appointment_id=appointment.id,
            until=appointment.expires_at,
        )
        return payloads.build(appointment, office_info, service_info, now)

    return _transact(work)


def book_appointment(
    office_slug: str,
    service_codes: str | Sequence[str] | None,
    persons: int | str,
    start: datetime,
    name: str | None,
    email: str | None,
    phone: str | None = None,
    lang: str | None = None,
    hold_token: str | None = None,
) -> AppointmentView:
    """Book a time (or complete a hold for it); SlotTaken when the time is gone."""
    contact = validate_contact(name, email, phone, lang)
    if hold_token:
        held = _find_by_token(hold_token)
        office = cached_office(office_slug)
        request = slots.resolve_request(service_codes, persons, office)
        if (held.office_id, list(held.service_codes), held.persons, held.start) != (
            office.id,
            request.codes,
            request.persons,
            start,
        ):
            raise ValidationFailed(
                N_("The hold is for another office, service or time."), field="hold"
            )
        return _complete(held, contact)
    s = booking_settings.current()
    now = clock.now()
    office = cached_office(office_slug)
    request = slots.resolve_request(service_codes, persons, office)
    slot = slots.check_slot(office, request, start, now)
    office_info = OfficeInfo.of(office)
    service_info = tuple(ServiceInfo.of(sv) for sv in request.services)

    def work(session) -> AppointmentView:
        # the address's count and the time's live seats in one read; a time already full
        # fails here, before anything is written. On PostgreSQL the read takes the address's
        # lock (bookings of one address one after the other, to the commit) in the same round
        # trip, so its count is as of the read's snapshot, which may predate the lock: the
        # write counts again in its own (``ahead_of_seats``) and writes nothing at the limit.
        postgresql = session.get_bind().dialect.name == "postgresql"
        wanted = seats.SeatRequest.for_slot(slot, request.units, s.unit, now)
        live, active = seats.read_live_seats(
            session, wanted, along=_active_count_along(contact.email, now, lock=postgresql)
        )
        _refuse_beyond_limit(active)
        seats.refuse_when_full(wanted, live)
        salt = tokens.new_salt()
        token = tokens.manage_token(salt)
        pending = s.double_opt_in
        until = now + s.confirm if pending else None
        values = {
            "public_id": uuid.uuid4().hex,
            "office_id": office_info.id,
            "status": S.PENDING if pending else S.CONFIRMED,
            "start": slot.start,
            "end": slot.end,
            "persons": request.persons,
            "service_codes": request.codes,
            "lang": contact.lang,
            "name": contact.name,
            "email": contact.email,
            "phone": contact.phone,
            "code": _new_code(session),
            "token_salt": salt,
            "token_hash": tokens.token_hash(token),
            "revision": 0,
            "created_at": now,
            "booked_at": now,
            "confirmed_at": None if pending else now,
            "expires_at": until,
        }
        kind = mails.CONFIRM_REQUEST if pending else mails.BOOKED
        view = payloads.of_values(0, values, office_info, service_info, now, token)
        data = mails.draft_data(kind, view)
        assert data is not None  # a booking always has an address
        mail = outbox.draft_row(kind, mails.COMPOSER, data)
        if postgresql and seats.claims_at_once(session):
            # the appointment, its mail and its seats in one statement, the seats last in it:
            # their row locks are held from there to the commit
            appointment_id, mail_id = seats.claim(
                session,
                wanted,
                appointment_id=None,
                until=until,
                live=live,
                ahead=writes.ahead_of_seats(
                    values, mail, _active_count_along(contact.email, now), s.max_active_per_email
                ),
            )
            if appointment_id is None:  # the address reached its limit meanwhile
                _refuse_beyond_limit(s.max_active_per_email)
        else:
            if postgresql:  # counted again after the lock (see above)
                _, active = seats.read_live_seats(
                    session, wanted, along=_active_count_along(contact.email, now)
                )
                _refuse_beyond_limit(active)
            appointment_id = writes.insert_appointment(session, values)
            mail_id = outbox.insert_row(mail)
            # the seats last: their row locks are held from here to the commit, while other
            # bookings of the same time wait for them (a SlotTaken rolls back the mail too)
            seats.claim(session, wanted, appointment_id=appointment_id, until=until, live=live)
        view = replace(view, id=appointment_id)
        outbox.written(mail_id, mail, known=view)
        return view

    return _transact(work)


def complete_hold(
    hold_token: str, name: str, email: str, phone: str | None = None, lang: str | None = None
) -> AppointmentView:
    """Turn a hold into a booking with the resident's details."""
    return _complete(_find_by_token(hold_token), validate_contact(name, email, phone, lang))


def _complete(held: Appointment, contact: Contact) -> AppointmentView:
    s = booking_settings.current()
    now = clock.now()
    # an expired hold (marked by the job or not) may still be completed while its time is free
    if held.status not in (S.HELD, S.EXPIRED) or held.name is not None:
        raise InvalidTransition(
            N_("This time has already been booked with this link."), field="hold"
        )
    office = cached_office(held.office.slug)
    request = slots.resolve_request(list(held.service_codes), held.persons, office)
    office_info = OfficeInfo.of(office)
    service_info = tuple(ServiceInfo.of(sv) for sv in request.services)
    held_id, held_start = held.id, held.start
    held_units = int((held.end - held.start) / s.unit)

    def work(session) -> AppointmentView:
        _guard_email_limit(session, contact.email, now, exclude_id=held_id)
        pending = s.double_opt_in
        until = now + s.confirm if pending else None
        changed = _transition(
            session,
            held_id,
            [S.HELD, S.EXPIRED],
            status=S.PENDING if pending else S.CONFIRMED,
            name=contact.name,
            email=contact.email,
            phone=contact.phone,
            lang=contact.lang,
            code=_new_code(session),
            booked_at=now,
            confirmed_at=None if pending else now,
            expires_at=until,
        )
        if not changed:
            raise InvalidTransition(
                N_("This time has already been booked with this link."), field="hold"
            )
        view = _reload(session, held_id, office_info, service_info, now)
        mails.enqueue(mails.CONFIRM_REQUEST if pending else mails.BOOKED, view)
        # the seats last: their row locks are held from here to the commit
        if not seats.retain(
            session, appointment_id=held_id, units=held_units, until=until, now=now
        ):
            # the hold ran out and its seats were free to take: claim the time anew if still free
            slot = slots.check_slot(office, request, held_start, now)
            seats.claim(
                session,
                seats.SeatRequest.for_slot(slot, held_units, s.unit, now),
                appointment_id=held_id,
                until=until,
            )
        return view

    return _transact(work)


def confirm_appointment(token: str) -> AppointmentView:
    """Double opt-in: the resident confirmed from the mail (confirming twice is harmless)."""
    s = booking_settings.current()
    now = clock.now()
    appointment = _find_by_token(token)
    if appointment.status == S.CONFIRMED:
        return payloads.build(appointment)
    if appointment.status != S.PENDING or payloads.effective_status(appointment, now) != S.PENDING:
        raise InvalidTransition(
            N_("The time to confirm this appointment has run out. Please book again.")
        )
    office_info = OfficeInfo.of(appointment.office)
    service_info = payloads.service_infos(list(appointment.service_codes))
    appointment_id = appointment.id
    units = int((appointment.end - appointment.start) / s.unit)

    def work(session) -> AppointmentView:
        if not seats.retain(
            session, appointment_id=appointment_id, units=units, until=None, now=now
        ):
            raise InvalidTransition(
                N_("The time to confirm this appointment has run out. Please book again.")
            )
        if not _transition(
            session,
            appointment_id,
            [S.PENDING],
            status=S.CONFIRMED,
            confirmed_at=now,
            expires_at=None,
        ):
            raise InvalidTransition(N_("This appointment cannot be confirmed any more."))
        view = _reload(session, appointment_id, office_info, service_info, now)
        mails.enqueue(mails.BOOKED, view)
        return view

    return _transact(work)


# ---------------------------------------------------------------- managing


def cancel_appointment(token: str) -> AppointmentView:
    """Cancel a booked appointment; its time returns to the pool after RELEASE_DELAY_MINUTES."""
    s = booking_settings.current()
    now = clock.now()
    appointment = _find_by_token(token)
    view = payloads.build(appointment, now=now)
    if not view.is_changeable(now):
        raise InvalidTransition(N_("This appointment can no longer be cancelled."))
    was_pending = view.status == S.PENDING.value
    appointment_id, office_info, service_info = appointment.id, view.office, view.services

    def work(session) -> AppointmentView:
        if not _transition(
            session,
            appointment_id,
            [S.CONFIRMED, S.PENDING],
            status=S.CANCELLED,
            cancelled_at=now,
            expires_at=None,
            revision=Appointment.revision + 1,
        ):
            raise InvalidTransition(N_("This appointment can no longer be cancelled."))
        # unconfirmed bookings were never tradeable: their time is free at once
        seats.release(
            session,
            appointment_id=appointment_id,
            at=now if was_pending else now + s.release_delay,
            now=now,
        )
        capacity.freed(session, appointment_id, now)  # the waitlist may take the time first
        cancelled = _reload(session, appointment_id, office_info, service_info, now)
        if not was_pending:
            mails.enqueue(mails.CANCELLED, cancelled)
        return cancelled

    return _transact(work)


def cancel_for_closure(appointment_id: int, reason: str, *, notify: bool) -> bool:
    """Cancel an appointment because its office closes that day, inside the caller's unit of
    work (the management change); the resident is mailed after the commit. The time is not
    returned to the pool (the day is closed)."""
    session = db.session()
    now = clock.now()
    if not _transition(
        session,
        appointment_id,
        [S.CONFIRMED, S.PENDING],
        status=S.CANCELLED,
        cancelled_at=now,
        expires_at=None,
        revision=Appointment.revision + 1,
    ):
        return False
    seats.release(session, appointment_id=appointment_id, at=now, now=now)
    if notify:
        cancelled = payloads.build(
            session.get_one(Appointment, appointment_id, populate_existing=True), now=now
        )
        if cancelled.email:
            mails.enqueue(mails.CANCELLED, cancelled, closure_reason=reason)
    return True


def reschedule_appointment(token: str, start: datetime) -> AppointmentView:
    """Move a booked appointment to another free time at the same office (name and services stay)."""
    s = booking_settings.current()
    now = clock.now()
    appointment = _find_by_token(token)
    if appointment.status != S.CONFIRMED or appointment.start <= now:
        raise InvalidTransition(N_("Only a confirmed appointment that lies ahead can be moved."))
    office = cached_office(appointment.office.slug)
    request = slots.resolve_request(list(appointment.service_codes), appointment.persons, office)
    slot = slots.check_slot(office, request, start, now)
    if slot.start == appointment.start:
        return payloads.build(appointment, now=now)
    office_info = OfficeInfo.of(office)
    service_info = tuple(ServiceInfo.of(sv) for sv in request.services)
    appointment_id = appointment.id

    def work(session) -> AppointmentView:
        if not _transition(
            session,
            appointment_id,
            [S.CONFIRMED],
            start=slot.start,
            end=slot.end,
            revision=Appointment.revision + 1,
            reminded_at=None,
        ):
            raise InvalidTransition(
                N_("Only a confirmed appointment that lies ahead can be moved.")
            )
        seats.release(session, appointment_id=appointment_id, at=now + s.release_delay, now=now)
        seats.claim(
            session,
            seats.SeatRequest.for_slot(slot, request.units, s.unit, now),
            appointment_id=appointment_id,
            until=None,
        )
        capacity.freed(session, appointment_id, now)  # the old time: the waitlist first
        moved = _reload(session, appointment_id, office_info, service_info, now)
        mails.enqueue(mails.RESCHEDULED, moved)
        return moved

    return _transact(work)


# ---------------------------------------------------------------- check-in (wired with tickets)


def find_appointment_for_check_in(
    office_slug: str, code: str, now: datetime | None = None
) -> CheckInLookup:
    """The confirmed appointment with this booking code at this office, and whether check-in is
    too early, due or too late (CHECKIN_EARLY_MINUTES before to CHECKIN_LATE_MINUTES after)."""
    s = booking_settings.current()
    now = now or clock.now()
    office = cached_office(office_slug)
    normalised = tokens.normalise_code(code)
    if not tokens.is_well_formed_code(normalised):
        raise ValidationFailed(
            N_("A booking code has six letters and digits, e.g. K7M-4PX."), field="code"
        )
    appointment = db.session.scalar(select(Appointment).where(Appointment.code == normalised))
    if appointment is None or appointment.status in (S.HELD, S.EXPIRED):
        raise NotFound(N_("There is no appointment with this booking code."), field="code")
    if appointment.office_id != office.id:
        raise Refused(
            N_("This appointment is at %(office)s."),
            params={"office": appointment.office.name},
            field="code",
            office=appointment.office.slug,
        )
    if appointment.status == S.CHECKED_IN:
        raise InvalidTransition(N_("This appointment has already been checked in."), field="code")
    if appointment.status != S.CONFIRMED:
        raise Refused(
            N_("This appointment is not (or no longer) booked."),
            field="code",
            status=appointment.status.value,
        )
    opens, closes = appointment.start - s.checkin_early, appointment.start + s.checkin_late
    timing = "early" if now < opens else "late" if now > closes else "due"
    # the office and the services from the process's copy of the catalogue (a check-in at a
    # kiosk asks for them on every scan; the booking's own codes name them)
    services = tuple(_cached_service_info(c) for c in appointment.service_codes)
    view = payloads.build(appointment, OfficeInfo.of(office), services, now)
    return CheckInLookup(view, timing, opens, closes)


def _cached_service_info(code: str) -> ServiceInfo:
    try:
        return ServiceInfo.of(cached_service(code))
    except UnknownService:  # withdrawn from the catalogue since the booking
        return ServiceInfo(code, code, code)


def mark_checked_in(appointment_id: int, ticket_id: int) -> AppointmentView:
    """Record that the appointment became queue ticket ``ticket_id`` (exactly once), in a unit
    of work of its own (the check-in itself does it in its ticket's: ``check_in_as_ticket``)."""

    def work(session) -> AppointmentView:
        check_in_as_ticket(session, appointment_id, ticket_id)
        return payloads.build(
            session.get(Appointment, appointment_id, populate_existing=True), now=clock.now()
        )

    return run_in_transaction(work)


@lru_cache(maxsize=1)
def _check_in_stmt():
    """``_transition`` from confirmed to checked in, built once and on the table: every check-in
    runs it, and the ORM's bulk update cost more than the rest of the check-in's writes."""
    table = cast(Table, Appointment.__table__)
    return (
        update(table)
        .where(table.c.id == bindparam("appointment"), table.c.status == S.CONFIRMED)
        .values(status=S.CHECKED_IN, checked_in_at=bindparam("at"), ticket_id=bindparam("ticket"))
    )


def check_in_as_ticket(session, appointment_id: int, ticket_id: int) -> None:
    """The check-in's part of the unit of work that issues its ticket: the confirmed
    appointment becomes queue ticket ``ticket_id``, exactly once. Already checked in as this
    ticket (a repeat scan): nothing to do. Cancelled or checked in as another ticket meanwhile:
    refused, and the ticket is rolled back with it."""
    params = {"appointment": appointment_id, "ticket": ticket_id, "at": clock.now()}
    if session.execute(_check_in_stmt(), params).rowcount == 1:
        return
    status, current = session.execute(
        select(Appointment.status, Appointment.ticket_id).where(Appointment.id == appointment_id)
    ).one()
    if status == S.CHECKED_IN and current == ticket_id:
        return
    if status == S.CHECKED_IN:
        raise InvalidTransition(N_("This appointment has already been checked in."), field="code")
    raise Refused(
        N_("This appointment is not (or no longer) booked."),
        field="code",
        reason="not_booked",
        status=status.value,
    )


def mark_no_show(appointment_id: int) -> AppointmentView:
    """Record that nobody came: only after the check-in window has closed."""
    s = booking_settings.current()
    now = clock.now()

    def work(session) -> AppointmentView:
        appointment = session.get(Appointment, appointment_id)
        if appointment is None:
            raise NotFound(N_("No such appointment."))
        if now <= appointment.start + s.checkin_late:
            raise InvalidTransition(N_("The check-in window of this appointment is still open."))
        if not _transition(
            session, appointment_id, [S.CONFIRMED], status=S.NO_SHOW, no_show_at=now
        ):
            raise InvalidTransition(N_("Only a confirmed appointment can become a no-show."))
        return payloads.build(
            session.get(Appointment, appointment_id, populate_existing=True), now=now
        )

    return run_in_transaction(work)
