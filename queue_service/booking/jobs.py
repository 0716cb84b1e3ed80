"""What the scheduler runs (scheduler/jobs.py schedules them): each is idempotent and safe to run twice,
and none is needed for correctness (expired holds and released seats are free without them)."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update

from .. import clock
from ..db import run_in_transaction, unit_of_work
from ..extensions import db
from ..offices.models import Office
from . import mails, payloads, seats
from . import settings as booking_settings
from .models import Appointment, AppointmentStatus, SlotSeat
from .payloads import OfficeInfo

log = logging.getLogger(__name__)
S = AppointmentStatus


def expire_holds(now: datetime | None = None) -> int:
    """Mark holds and unconfirmed bookings past their expiry as expired; returns how many."""
    now = now or clock.now()
    expired = (Appointment.status.in_([S.HELD, S.PENDING]), Appointment.expires_at <= now)
    with unit_of_work() as session:
        # their seats are already free (stale); dropping the rows only keeps the table small
        session.execute(
            delete(SlotSeat).where(
                SlotSeat.appointment_id.in_(select(Appointment.id).where(*expired)),
                SlotSeat.occupied_until <= now,
            )
        )
        return session.execute(
            update(Appointment)
            .where(*expired)
            .values(status=S.EXPIRED, code=None)
            .execution_options(synchronize_session=False)
        ).rowcount


def purge_stale_seats(before: datetime | None = None) -> int:
    """Delete seat rows that became free before ``before`` (default: now)."""
    before = before or clock.now()
    with unit_of_work() as session:
        return seats.purge_stale(session, before)


def mark_overdue_no_shows(now: datetime | None = None) -> int:
    """Confirmed appointments whose check-in window closed without a check-in become no-shows."""
    now = now or clock.now()
    late = booking_settings.current().checkin_late
    with unit_of_work() as session:
        result = session.execute(
            update(Appointment)
            .where(Appointment.status == S.CONFIRMED, Appointment.start < now - late)
            .values(status=S.NO_SHOW, no_show_at=now)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount


def send_reminders_for(day: date) -> int:
    """Send the reminder mail for every confirmed appointment on local ``day`` not yet reminded.

    Idempotent: ``reminded_at`` is set in the same transaction that queues the mail, guarded so a
    second run (or a second scheduler) sends nothing.
    """
    tz = clock.LOCAL_TZ
    lo = clock.local_to_utc(day, time(0)) - timedelta(days=1)
    hi = clock.local_to_utc(day + timedelta(days=1), time(0)) + timedelta(days=1)
    candidates = db.session.execute(
        select(Appointment.id, Appointment.start, Office.timezone)
        .join(Office, Office.id == Appointment.office_id)
        .where(
            Appointment.status == S.CONFIRMED,
            Appointment.reminded_at.is_(None),
            Appointment.start >= lo,
            Appointment.start < hi,
        )
        .order_by(Appointment.start)
    ).all()
    due = [
        aid
        for aid, start, office_tz in candidates
        if start.astimezone(ZoneInfo(office_tz) if office_tz else tz).date() == day
    ]
    sent = 0
    for appointment_id in due:
        now = clock.now()

        def work(session, appointment_id=appointment_id, now=now) -> bool:
            claimed = session.execute(
                update(Appointment)
                .where(
                    Appointment.id == appointment_id,
                    Appointment.status == S.CONFIRMED,
                    Appointment.reminded_at.is_(None),
                )
                .values(reminded_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            if not claimed:
                return False
            appointment = session.get(Appointment, appointment_id, populate_existing=True)
            view = payloads.build(appointment, OfficeInfo.of(appointment.office), now=now)
            mails.enqueue(mails.REMINDER, view)
            return True

        try:
            sent += run_in_transaction(work)
        except Exception:  # one broken appointment must not stop the others
            log.exception("reminder for appointment %s failed", appointment_id)
    return sent


def anonymise_appointments_before(moment: datetime) -> int:
    """Remove personal data of appointments that ended before ``moment``; returns how many.

    Kept for statistics: office, services, persons, times, status, language. Holds and expired
    unconfirmed bookings carry nothing worth keeping and are deleted outright.
    """
    now = clock.now()
    with unit_of_work() as session:
        session.execute(
            delete(Appointment)
            .where(Appointment.end < moment, Appointment.status.in_([S.HELD, S.EXPIRED]))
            .execution_options(synchronize_session=False)
        )
        session.execute(
            delete(Appointment)
            .where(
                Appointment.end < moment,
                Appointment.status == S.PENDING,
                Appointment.expires_at <= now,
            )
            .execution_options(synchronize_session=False)
        )
        due = (Appointment.end < moment, Appointment.anonymised_at.is_(None))
        session.execute(
            delete(SlotSeat).where(SlotSeat.appointment_id.in_(select(Appointment.id).where(*due)))
        )
        return session.execute(
            update(Appointment)
            .where(*due)
            .values(
                name=None,
                email=None,
                phone=None,
                code=None,
                token_salt=None,
                token_hash=None,
                anonymised_at=now,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
