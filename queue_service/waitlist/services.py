"""The waitlist ("Terminwecker"): requests, offers of freed times, accept, decline, lapse.

Fairness rules, enforced where they can be by the database:
- first come, first served: matching requests are tried in the order they were confirmed
  (``queued_at``, then id); a request holding an open offer is skipped, so no request is offered
  a second time while another one waits longer;
- one open offer per request (a partial unique index) and one offer per freed seat (the seat rows
  move to the offer's held appointment in one UPDATE, so a seat cannot be offered twice);
- a time freed by a cancellation or a move goes to the waitlist first, in the same transaction;
  only when no request wants it does it return to the public after the usual release delay.

Each public function is one unit of work; mails go out after the commit.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import func, select, text, update

from .. import clock
from ..booking import capacity, seats, slots, tokens
from ..booking import payloads as booking_payloads
from ..booking import services as booking
from ..booking import settings as booking_settings
from ..booking.models import Appointment, AppointmentStatus, SlotSeat
from ..db import run_in_transaction, unit_of_work
from ..errors import N_, InvalidTransition, NotFound, Refused, SlotTaken, ValidationFailed
from ..extensions import db
from ..offices.models import Office
from ..offices.services import get_office
from . import mails, payloads
from .links import offer_token, request_token
from .models import OfferStatus, RequestStatus, WaitlistOffer, WaitlistRequest

R = RequestStatus
O = OfferStatus  # noqa: E741
A = AppointmentStatus
WAITING = (R.PENDING, R.ACTIVE, R.OFFERED)
# an offer's seats stay held a little beyond its expiry, so that the lapse job (not the public)
# decides who gets them next
OFFER_GRACE = timedelta(minutes=15)
CANDIDATES_PER_TIME = 200  # matching requests looked at per freed time (oldest first)


@dataclass(frozen=True)
class Settings:
    offer: timedelta
    max_active_per_email: int
    max_range_days: int
    max_lapses: int


def settings() -> Settings:
    cfg = current_app.config
    return Settings(
        offer=timedelta(minutes=int(cfg["WAITLIST_OFFER_MINUTES"])),
        max_active_per_email=int(cfg["WAITLIST_MAX_ACTIVE_PER_EMAIL"]),
        max_range_days=int(cfg["WAITLIST_MAX_RANGE_DAYS"]),
        max_lapses=int(cfg["WAITLIST_MAX_LAPSES"]),
    )


# ---------------------------------------------------------------- tokens


def _by_token(model, token: str):
    if not tokens.looks_like_token(token):
        raise NotFound(N_("Nothing belongs to this link."))
    row = db.session.scalar(select(model).where(model.token_hash == tokens.token_hash(token)))
    if row is None:
        raise NotFound(N_("Nothing belongs to this link. It may have ended."))
    return row


def _new_secret(derive) -> tuple[str, str]:
    salt = tokens.new_salt()
    return salt, tokens.token_hash(derive(salt))


# ---------------------------------------------------------------- validation


def _parse_day(value, field: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(N_("Please give a date as YYYY-MM-DD."), field=field) from exc


def _parse_time(value, field: str) -> time | None:
    if value in (None, ""):
        return None
    if isinstance(value, time):
        return value
    try:
        return time.fromisoformat(str(value))
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(N_("Please give a time as HH:MM."), field=field) from exc


def _parse_weekdays(values) -> list[int] | None:
    if values in (None, "", []):
        return None
    if isinstance(values, str):
        values = [v for v in values.split(",") if v.strip()]
    try:
        days = sorted({int(v) for v in values})
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(
            N_("Weekdays are numbers from 0 (Monday) to 6."), field="weekdays"
        ) from exc
    if not days or any(d < 0 or d > 6 for d in days):
        raise ValidationFailed(N_("Weekdays are numbers from 0 (Monday) to 6."), field="weekdays")
    return days


@dataclass(frozen=True)
class _Wish:
    request: slots.BookingRequest
    office_ids: list[int] | None
    first_day: date
    last_day: date
    weekdays: list[int] | None
    earliest: time | None
    latest: time | None


def _validate_wish(
    service_codes,
    persons,
    offices: Sequence[str] | None,
    first_day,
    last_day,
    weekdays,
    earliest,
    latest,
    now: datetime,
) -> _Wish:
    s = settings()
    request = slots.resolve_request(service_codes, persons)
    office_ids: list[int] | None = None
    if offices:
        if isinstance(offices, str):
            offices = [o for o in offices.split(",") if o.strip()]
        office_ids = []
        for slug in offices:
            office = get_office(str(slug).strip())
            slots.resolve_request(request.codes, request.persons, office)  # offers them all?
            if office.id not in office_ids:
                office_ids.append(office.id)
    today = now.astimezone(clock.LOCAL_TZ).date()
    first = _parse_day(first_day or today, "first_day")
    last = (
        _parse_day(last_day, "last_day") if last_day else first + timedelta(days=s.max_range_days)
    )
    if first < today:
        raise ValidationFailed(N_("The first day cannot lie in the past."), field="first_day")
    if last < first:
        raise ValidationFailed(
            N_("The last day must not lie before the first day."), field="last_day"
        )
    if (last - first).days > s.max_range_days:
        raise ValidationFailed(
            N_("A waitlist request covers at most %(n)s days."),
            field="last_day",
            params={"n": s.max_range_days},
        )
    start, end = _parse_time(earliest, "earliest"), _parse_time(latest, "latest")
    if start and end and end < start:
        raise ValidationFailed(
            N_("The latest time must not lie before the earliest."), field="latest"
        )
    return _Wish(request, office_ids, first, last, _parse_weekdays(weekdays), start, end)


def _baseline(request: slots.BookingRequest, office_ids: list[int] | None, now) -> datetime | None:
    """The first free time today, for the "days gained" figure."""
    offices = (
        [db.session.get_one(Office, i) for i in office_ids] if office_ids is not None else None
    )
    try:
        found = slots.earliest_slots(request, offices, now)
    except Exception:  # a figure for statistics must never refuse a request
        return None
    return found[0].start if found else None


def _guard_email_limit(session, email: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(
            hashlib.blake2b(b"waitlist:" + email.encode(), digest_size=8).digest(),
            "big",
            signed=True,
        )
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    limit = settings().max_active_per_email
    count = session.scalar(
        select(func.count(WaitlistRequest.id)).where(
            WaitlistRequest.email == email, WaitlistRequest.status.in_(list(WAITING))
        )
    )
    if count >= limit:
        raise Refused(
            N_(
                "This e-mail address is already on the waitlist %(n)s times. Please cancel a "
                "request you no longer need first."
            ),
            params={"n": limit},
            field="email",
        )


# ---------------------------------------------------------------- requests


def request_waitlist(
    service_codes: str | Sequence[str],
    persons: int | str = 1,
    offices: Sequence[str] | str | None = None,
    first_day: date | str | None = None,
    last_day: date | str | None = None,
    weekdays: Sequence[int | str] | str | None = None,
    earliest: time | str | None = None,
    latest: time | str | None = None,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    lang: str | None = None,
) -> payloads.WaitlistView:
    """Put a resident on the waitlist (confirmed from the mail when BOOKING_DOUBLE_OPT_IN)."""
    now = clock.now()
    wish = _validate_wish(
        service_codes, persons, offices, first_day, last_day, weekdays, earliest, latest, now
    )
    contact = booking.validate_contact(name, email, phone, lang)
    pending = bool(current_app.config["BOOKING_DOUBLE_OPT_IN"])
    confirm = booking_settings.current().confirm
    baseline = _baseline(wish.request, wish.office_ids, now)

    def work(session) -> payloads.WaitlistView:
        _guard_email_limit(session, contact.email)
        salt, digest = _new_secret(request_token)
        row = WaitlistRequest(
            status=R.PENDING if pending else R.ACTIVE,
            service_codes=wish.request.codes,
            persons=wish.request.persons,
            units=wish.request.units,
            office_ids=wish.office_ids,
            first_day=wish.first_day,
            last_day=wish.last_day,
            weekdays=wish.weekdays,
            earliest=wish.earliest,
            latest=wish.latest,
            name=contact.name,
            email=contact.email,
            phone=contact.phone,
            lang=contact.lang,
            token_salt=salt,
            token_hash=digest,
            created_at=now,
            queued_at=None if pending else now,
            expires_at=now + confirm if pending else None,
            baseline_start=baseline,
        )
        session.add(row)
        session.flush()
        view = payloads.build(row, token=request_token(salt))
        mails.enqueue(mails.CONFIRM if pending else mails.LISTED, view)
        return view

    return run_in_transaction(work)


def request_earlier(
    appointment_token: str,
    first_day: date | str | None = None,
    weekdays: Sequence[int | str] | str | None = None,
    earliest: time | str | None = None,
    latest: time | str | None = None,
) -> payloads.WaitlistView:
    """Wait for an earlier time for a booked appointment (same office, services and persons);
    accepting an offer moves the appointment and keeps its booking code. The manage link proves
    the address, so no further confirmation is needed."""
    now = clock.now()
    appointment = booking.get_appointment(appointment_token)
    if appointment.status != A.CONFIRMED.value or appointment.start <= now:
        raise InvalidTransition(N_("Only a confirmed appointment that lies ahead can be moved."))
    local_day = appointment.start.astimezone(clock.LOCAL_TZ).date()
    wish = _validate_wish(
        appointment.service_codes,
        appointment.persons,
        [appointment.office.slug],
        first_day,
        local_day,
        weekdays,
        earliest,
        latest,
        now,
    )
    appointment_id = appointment.id

    def work(session) -> payloads.WaitlistView:
        existing = session.scalar(
            select(WaitlistRequest).where(
                WaitlistRequest.appointment_id == appointment_id,
                WaitlistRequest.status.in_(list(WAITING)),
            )
        )
        if existing is not None:
            return payloads.build(existing, token=request_token(existing.token_salt))
        held = session.get(Appointment, appointment_id)
        salt, digest = _new_secret(request_token)
        row = WaitlistRequest(
            status=R.ACTIVE,
            service_codes=list(held.service_codes),
            persons=held.persons,
            units=wish.request.units,
            office_ids=[held.office_id],
            first_day=wish.first_day,
            last_day=wish.last_day,
            weekdays=wish.weekdays,
            earliest=wish.earliest,
            latest=wish.latest,
            appointment_id=appointment_id,
            name=held.name,
            email=held.email,
            phone=held.phone,
            lang=held.lang,
            token_salt=salt,
            token_hash=digest,
            created_at=now,
            queued_at=now,
            baseline_start=held.start,
        )
        session.add(row)
        session.flush()
        view = payloads.build(row, token=request_token(salt))
        mails.enqueue(mails.LISTED, view)
        return view

    return run_in_transaction(work)


def get_waitlist(token: str) -> payloads.WaitlistView:
    row = _by_token(WaitlistRequest, token)
    return payloads.build(row, token=token)


def confirm_waitlist(token: str) -> payloads.WaitlistView:
    """The resident confirmed the address: the request joins the queue now (twice is harmless)."""
    now = clock.now()
    row = _by_token(WaitlistRequest, token)
    if row.status != R.PENDING:
        if row.status in (R.ACTIVE, R.OFFERED):
            return payloads.build(row, token=token)
        raise InvalidTransition(N_("This waitlist request has ended."))
    row_id = row.id

    def work(session) -> payloads.WaitlistView:
        changed = session.execute(
            update(WaitlistRequest)
            .where(
                WaitlistRequest.id == row_id,
                WaitlistRequest.status == R.PENDING,
                WaitlistRequest.expires_at > now,
            )
            .values(status=R.ACTIVE, queued_at=now, expires_at=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not changed:
            raise InvalidTransition(
                N_("The time to confirm this request has run out. Please ask again.")
            )
        fresh = session.get(WaitlistRequest, row_id, populate_existing=True)
        view = payloads.build(fresh, token=token)
        mails.enqueue(mails.LISTED, view)
        return view

    return run_in_transaction(work)


def cancel_waitlist(token: str) -> payloads.WaitlistView:
    """Leave the waitlist; an open offer is withdrawn and its time goes to the next in line."""
    now = clock.now()
    row = _by_token(WaitlistRequest, token)
    if row.status not in WAITING:
        raise InvalidTransition(N_("This waitlist request has already ended."))
    row_id = row.id

    def work(session) -> payloads.WaitlistView:
        changed = session.execute(
            update(WaitlistRequest)
            .where(WaitlistRequest.id == row_id, WaitlistRequest.status.in_(list(WAITING)))
            .values(status=R.CANCELLED, ended_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not changed:
            raise InvalidTransition(N_("This waitlist request has already ended."))
        offer = session.scalar(
            select(WaitlistOffer).where(
                WaitlistOffer.request_id == row_id, WaitlistOffer.status == O.OPEN
            )
        )
        if offer is not None:
            _close_offer(session, offer.id, O.WITHDRAWN, now)
            _pass_on(session, offer.appointment_id, now)
        fresh = session.get(WaitlistRequest, row_id, populate_existing=True)
        return payloads.build(fresh, token=token)

    return run_in_transaction(work)


# ---------------------------------------------------------------- matching and offering


def _local(moment: datetime) -> datetime:
    return moment.astimezone(clock.LOCAL_TZ)


def wants(row: WaitlistRequest, office_id: int, start: datetime) -> bool:
    """Does the request's wish cover a time at this office (ignoring capacity)?"""
    if row.office_ids is not None and office_id not in row.office_ids:
        return False
    local = _local(start)
    if not row.first_day <= local.date() <= row.last_day:
        return False
    if row.weekdays is not None and local.weekday() not in row.weekdays:
        return False
    clock_time = local.time().replace(tzinfo=None)
    if row.earliest is not None and clock_time < row.earliest:
        return False
    if row.latest is not None and clock_time > row.latest:
        return False
    return True


def _freed_runs(session, appointment_id: int, now: datetime) -> list[tuple[int, datetime, int]]:
    """The appointment's released-but-still-held seats as runs (office, first unit, units)."""
    unit = booking_settings.current().unit
    rows = session.execute(
        select(SlotSeat.office_id, SlotSeat.unit_start)
        .where(
            SlotSeat.appointment_id == appointment_id,
            SlotSeat.occupied_until.is_not(None),
            SlotSeat.occupied_until > now,
        )
        .order_by(SlotSeat.unit_start)
    ).all()
    runs: list[tuple[int, datetime, int]] = []
    for office_id, unit_start in rows:
        if runs and runs[-1][0] == office_id and runs[-1][1] + unit * runs[-1][2] == unit_start:
            runs[-1] = (office_id, runs[-1][1], runs[-1][2] + 1)
        else:
            runs.append((office_id, unit_start, 1))
    return runs


def _already_offered(session, request_id: int, office_id: int, start: datetime) -> bool:
    return (
        session.scalar(
            select(func.count(WaitlistOffer.id)).where(
                WaitlistOffer.request_id == request_id,
                WaitlistOffer.office_id == office_id,
                WaitlistOffer.start == start,
            )
        )
        > 0
    )


def _fits(session, row: WaitlistRequest, office: Office, start: datetime, now) -> bool:
    """Is ``start`` a bookable time for the request's services at this office?"""
    try:
        request = slots.resolve_request(list(row.service_codes), row.persons, office)
        slots.check_slot(office, request, start, now, waitlist=True)
    except (ValidationFailed, SlotTaken):
        return False
    if row.appointment_id is not None:
        current = session.get(Appointment, row.appointment_id)
        if current is None or current.status != A.CONFIRMED or current.start <= start:
            return False  # only an earlier time is an improvement
    return True


def _candidates(session, now: datetime):
    return session.scalars(
        select(WaitlistRequest)
        .where(WaitlistRequest.status == R.ACTIVE)
        .order_by(WaitlistRequest.queued_at, WaitlistRequest.id)
        .limit(CANDIDATES_PER_TIME)
    ).all()


def _offer_run(session, source_id: int, office_id: int, first: datetime, units: int, now) -> bool:
    """Offer (part of) one freed run to the longest-waiting request that wants it."""
    unit, grid = booking_settings.current().unit, booking_settings.current().grid
    office = session.get(Office, office_id)
    end = first + unit * units
    for row in _candidates(session, now):
        if row.units > units:
            continue
        start = first
        while start + unit * row.units <= end:
            if (
                (start - first) % grid == timedelta(0)
                and wants(row, office_id, start)
                and not _already_offered(session, row.id, office_id, start)
                and _fits(session, row, office, start, now)
            ):
                if _make_offer(session, row.id, source_id, office_id, start, row.units, now):
                    return True
                break  # the request was taken meanwhile: try the next one
            start += unit
    return False


def _pass_on(session, source_id: int, now: datetime) -> None:
    """Offer the source appointment's freed seats to the waitlist, run by run, until nobody
    wants what is left; what is left stays with the source (the caller decides when it goes
    public)."""
    for _ in range(50):  # each offer takes at least one unit, so this ends; bound it anyway
        if not any(
            _offer_run(session, source_id, office_id, first, units, now)
            for office_id, first, units in _freed_runs(session, source_id, now)
        ):
            return


def _make_offer(
    session, request_id: int, source_id: int, office_id: int, start: datetime, units: int, now
) -> bool:
    s = settings()
    unit = booking_settings.current().unit
    if not session.execute(
        update(WaitlistRequest)
        .where(WaitlistRequest.id == request_id, WaitlistRequest.status == R.ACTIVE)
        .values(status=R.OFFERED)
        .execution_options(synchronize_session=False)
    ).rowcount:
        return False
    row = session.get(WaitlistRequest, request_id)
    expires = now + s.offer
    salt, digest = _new_secret(tokens.manage_token)
    hold = Appointment(
        public_id=uuid.uuid4().hex,
        office_id=office_id,
        status=A.HELD,
        start=start,
        end=start + unit * units,
        persons=row.persons,
        service_codes=list(row.service_codes),
        lang=row.lang,
        token_salt=salt,
        token_hash=digest,
        created_at=now,
        expires_at=expires + OFFER_GRACE,
    )
    session.add(hold)
    session.flush()
    moved = session.execute(
        update(SlotSeat)
        .where(
            SlotSeat.appointment_id == source_id,
            SlotSeat.unit_start >= start,
            SlotSeat.unit_start < start + unit * units,
            SlotSeat.occupied_until.is_not(None),
            SlotSeat.occupied_until > now,
        )
        .values(appointment_id=hold.id, occupied_until=hold.expires_at)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != units:
        raise AssertionError(f"offer took {moved} seats, expected {units}")
    return _record_offer(session, row, hold, expires, now)


def _record_offer(session, row: WaitlistRequest, hold: Appointment, expires, now) -> bool:
    salt, digest = _new_secret(offer_token)
    offer = WaitlistOffer(
        request_id=row.id,
        appointment_id=hold.id,
        office_id=hold.office_id,
        start=hold.start,
        end=hold.end,
        status=O.OPEN,
        token_salt=salt,
        token_hash=digest,
        offered_at=now,
        expires_at=expires,
    )
    session.add(offer)
    session.flush()
    view = payloads.build_offer(offer, row, offer_token(salt))
    mails.enqueue_offer(view)
    return True


def _on_freed(session, appointment_id: int, now: datetime) -> None:
    """Booking's hook: a cancelled or moved appointment's time goes to the waitlist first."""
    _pass_on(session, appointment_id, now)


capacity.register_freed_handler("waitlist", _on_freed)


# ---------------------------------------------------------------- deciding


def _close_offer(session, offer_id: int, status: OfferStatus, now) -> bool:
    return bool(
        session.execute(
            update(WaitlistOffer)
            .where(WaitlistOffer.id == offer_id, WaitlistOffer.status == O.OPEN)
            .values(status=status, decided_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
    )


def _retire_hold(session, hold_id: int, now) -> None:
    """The offer's held appointment ends; seats nobody on the list took are public at once."""
    session.execute(
        update(SlotSeat)
        .where(SlotSeat.appointment_id == hold_id, SlotSeat.occupied_until > now)
        .values(occupied_until=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Appointment)
        .where(Appointment.id == hold_id, Appointment.status == A.HELD)
        .values(status=A.EXPIRED, expires_at=now, code=None)
        .execution_options(synchronize_session=False)
    )


def get_offer(token: str) -> payloads.OfferView:
    offer = _by_token(WaitlistOffer, token)
    return payloads.build_offer(offer, offer.request, token)


def accept_offer(token: str) -> booking_payloads.AppointmentView:
    """Book the offered time, or move the resident's appointment onto it (keeping its code)."""
    now = clock.now()
    offer = _by_token(WaitlistOffer, token)
    if offer.status != O.OPEN or offer.expires_at <= now:
        raise InvalidTransition(
            N_("This offer is no longer open. The time has gone to someone else.")
        )
    offer_id, request_id, hold_id = offer.id, offer.request_id, offer.appointment_id

    def work(session) -> booking_payloads.AppointmentView:
        if not session.execute(
            update(WaitlistOffer)
            .where(
                WaitlistOffer.id == offer_id,
                WaitlistOffer.status == O.OPEN,
                WaitlistOffer.expires_at > now,
            )
            .values(status=O.ACCEPTED, decided_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount:
            raise InvalidTransition(
                N_("This offer is no longer open. The time has gone to someone else.")
            )
        session.execute(
            update(WaitlistRequest)
            .where(WaitlistRequest.id == request_id)
            .values(status=R.FULFILLED, ended_at=now)
            .execution_options(synchronize_session=False)
        )
        row = session.get(WaitlistRequest, request_id)
        hold = session.get(Appointment, hold_id)
        if row.appointment_id is not None:
            return _move_onto(session, row.appointment_id, hold, now)
        return _book_hold(session, row, hold, now)

    return run_in_transaction(work)


def _book_hold(
    session, row: WaitlistRequest, hold: Appointment, now
) -> booking_payloads.AppointmentView:
    assert row.email is not None  # an open request keeps its address
    booking.check_email_limit(session, row.email, now)
    session.execute(
        update(SlotSeat)
        .where(SlotSeat.appointment_id == hold.id)
        .values(occupied_until=None)
        .execution_options(synchronize_session=False)
    )
    hold.status = A.CONFIRMED
    hold.name, hold.email, hold.phone, hold.lang = row.name, row.email, row.phone, row.lang
    hold.code = tokens.new_code()
    hold.booked_at = hold.confirmed_at = now
    hold.expires_at = None
    session.flush()
    view = booking_payloads.build(hold, now=now)
    booking.mails.enqueue(booking.mails.BOOKED, view)
    return view


def _move_onto(
    session, appointment_id: int, hold: Appointment, now
) -> booking_payloads.AppointmentView:
    current = session.get(Appointment, appointment_id)
    if current is None or current.status != A.CONFIRMED or current.start <= now:
        raise InvalidTransition(N_("Only a confirmed appointment that lies ahead can be moved."))
    delay = booking_settings.current().release_delay
    seats.release(session, appointment_id=appointment_id, at=now + delay, now=now)
    session.execute(
        update(SlotSeat)
        .where(SlotSeat.appointment_id == hold.id)
        .values(appointment_id=appointment_id, occupied_until=None)
        .execution_options(synchronize_session=False)
    )
    current.start, current.end = hold.start, hold.end
    current.revision = current.revision + 1
    current.reminded_at = None
    hold.status, hold.expires_at = A.EXPIRED, now
    session.flush()
    # the old time is free now: the next one on the list may have it
    _pass_on(session, appointment_id, now)
    view = booking_payloads.build(current, now=now)
    booking.mails.enqueue(booking.mails.RESCHEDULED, view)
    return view


def decline_offer(token: str) -> payloads.OfferView:
    """Say no to this time: the request stays on the list, the time goes to the next in line."""
    now = clock.now()
    offer = _by_token(WaitlistOffer, token)
    if offer.status != O.OPEN:
        raise InvalidTransition(N_("This offer is no longer open."))
    offer_id, request_id, hold_id = offer.id, offer.request_id, offer.appointment_id

    def work(session) -> payloads.OfferView:
        if not _close_offer(session, offer_id, O.DECLINED, now):
            raise InvalidTransition(N_("This offer is no longer open."))
        session.execute(
            update(WaitlistRequest)
            .where(WaitlistRequest.id == request_id, WaitlistRequest.status == R.OFFERED)
            .values(status=R.ACTIVE)
            .execution_options(synchronize_session=False)
        )
        _pass_on(session, hold_id, now)
        _retire_hold(session, hold_id, now)
        fresh = session.get(WaitlistOffer, offer_id, populate_existing=True)
        return payloads.build_offer(fresh, fresh.request, token)

    return run_in_transaction(work)


# ---------------------------------------------------------------- jobs


def lapse_offers(now: datetime | None = None) -> int:
    """Offers nobody answered in time: the time goes to the next in line (one transaction each)."""
    now = now or clock.now()
    ids = db.session.scalars(
        select(WaitlistOffer.id).where(
            WaitlistOffer.status == O.OPEN, WaitlistOffer.expires_at <= now
        )
    ).all()
    db.session.rollback()
    lapsed = 0
    max_lapses = settings().max_lapses
    for offer_id in ids:

        def work(session, offer_id=offer_id) -> bool:
            offer = session.get(WaitlistOffer, offer_id)
            if offer is None or not _close_offer(session, offer_id, O.LAPSED, now):
                return False
            count = session.scalar(
                select(func.count(WaitlistOffer.id)).where(
                    WaitlistOffer.request_id == offer.request_id,
                    WaitlistOffer.status == O.LAPSED,
                )
            )
            session.execute(
                update(WaitlistRequest)
                .where(WaitlistRequest.id == offer.request_id, WaitlistRequest.status == R.OFFERED)
                .values(
                    status=R.EXPIRED if count >= max_lapses else R.ACTIVE,
                    ended_at=now if count >= max_lapses else None,
                )
                .execution_options(synchronize_session=False)
            )
            _pass_on(session, offer.appointment_id, now)
            _retire_hold(session, offer.appointment_id, now)
            return True

        lapsed += bool(run_in_transaction(work))
    return lapsed


def expire_requests(now: datetime | None = None) -> int:
    """Requests whose range has passed, and unconfirmed ones past their confirmation time."""
    now = now or clock.now()
    today = now.astimezone(clock.LOCAL_TZ).date()
    with unit_of_work() as session:
        ended = session.execute(
            update(WaitlistRequest)
            .where(WaitlistRequest.status == R.ACTIVE, WaitlistRequest.last_day < today)
            .values(status=R.EXPIRED, ended_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        ended += session.execute(
            update(WaitlistRequest)
            .where(WaitlistRequest.status == R.PENDING, WaitlistRequest.expires_at <= now)
            .values(status=R.EXPIRED, ended_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
    return ended


def offer_free_capacity(now: datetime | None = None, limit: int = 50) -> int:
    """Capacity that became free otherwise (a closure lifted, counters added, a day released, a
    hold run out): the longest-waiting requests, in order, get the first free matching time."""
    now = now or clock.now()
    ids = db.session.scalars(
        select(WaitlistRequest.id)
        .where(WaitlistRequest.status == R.ACTIVE)
        .order_by(WaitlistRequest.queued_at, WaitlistRequest.id)
        .limit(limit)
    ).all()
    db.session.rollback()
    offered = 0
    for request_id in ids:
        found = _first_free_time(request_id, now)
        if found is None:
            continue
        office, slot, request = found

        def work(session, request_id=request_id, office=office, slot=slot, request=request):
            if not session.execute(
                update(WaitlistRequest)
                .where(WaitlistRequest.id == request_id, WaitlistRequest.status == R.ACTIVE)
                .values(status=R.OFFERED)
                .execution_options(synchronize_session=False)
            ).rowcount:
                return False
            row = session.get(WaitlistRequest, request_id)
            expires = now + settings().offer
            salt, digest = _new_secret(tokens.manage_token)
            hold = Appointment(
                public_id=uuid.uuid4().hex,
                office_id=office.id,
                status=A.HELD,
                start=slot.start,
                end=slot.end,
                persons=row.persons,
                service_codes=list(row.service_codes),
                lang=row.lang,
                token_salt=salt,
                token_hash=digest,
                created_at=now,
                expires_at=expires + OFFER_GRACE,
            )
            session.add(hold)
            session.flush()
            seats.claim(
                session,
                seats.SeatRequest.for_slot(
                    slot, request.units, booking_settings.current().unit, now
                ),
                appointment_id=hold.id,
                until=hold.expires_at,
            )
            return _record_offer(session, row, hold, expires, now)

        try:
            offered += bool(run_in_transaction(work))
        except SlotTaken:
            continue  # someone booked it meanwhile; the next run looks again
    return offered


def _first_free_time(request_id: int, now: datetime):
    """The earliest free time that the request wants, over all its offices in one slot search
    (the engine reads windows and seats of many offices at once)."""
    row = db.session.get_one(WaitlistRequest, request_id)
    try:
        request = slots.resolve_request(list(row.service_codes), row.persons)
        if row.office_ids is None:
            offices = slots.offices_offering(request)
        else:
            offered = {o.id for o in slots.offices_offering(request, include_mobile=True)}
            offices = [db.session.get_one(Office, i) for i in row.office_ids if i in offered]
        found = slots.free_slots_many(
            offices, request, row.first_day, row.last_day, now, waitlist=True
        )
        by_id = {o.id: o for o in offices}
        best = None
        for office_id, free in found.items():
            for slot in free:
                if best is not None and slot.start >= best[1].start:
                    break
                if not wants(row, office_id, slot.start):
                    continue
                if _already_offered(db.session, row.id, office_id, slot.start):
                    continue
                if row.appointment_id is not None and not _fits(
                    db.session, row, by_id[office_id], slot.start, now
                ):
                    continue
                best = (by_id[office_id], slot, request)
                break
        return best
    finally:
        db.session.rollback()


def anonymise_ended_before(moment: datetime) -> int:
    """Remove the personal data of requests that ended before ``moment`` (DSGVO retention)."""
    now = clock.now()
    with unit_of_work() as session:
        return session.execute(
            update(WaitlistRequest)
            .where(
                WaitlistRequest.status.not_in(list(WAITING)),
                WaitlistRequest.ended_at < moment,
                WaitlistRequest.anonymised_at.is_(None),
            )
            .values(name=None, email=None, phone=None, anonymised_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
