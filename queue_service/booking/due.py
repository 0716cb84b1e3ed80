"""Tells the walk-in forecast (tickets/forecast.py) how much appointment work is still due
today: confirmed appointments not yet checked in whose check-in window has not closed, plus
checked-in ones are already in the queue as tickets. Registered at start-up, so tickets never
imports booking.

It also tells a visitor who may not be served today what to do instead: the next free
appointment for their service at their office, and links to book it and to the waitlist."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from urllib.parse import urlencode

from flask import current_app
from sqlalchemy import bindparam, select

from ..extensions import db
from ..offices.models import Office
from ..offices.services import cached_service
from ..tickets.forecast import register_alternatives, register_due_work
from . import links, next_free
from .models import Appointment, AppointmentStatus


@lru_cache(maxsize=1)
def _due_stmt():
    """Built once: the forecast asks for every admitted walk-in and every displays' read, and
    building the statement (and the ORM's execute) cost more than running it."""
    return select(Appointment.start, Appointment.end).where(
        Appointment.office_id == bindparam("office_id"),
        Appointment.status == AppointmentStatus.CONFIRMED,
        Appointment.start > bindparam("since"),
        Appointment.start < bindparam("until"),
    )


def due_minutes(office_id: int, now: datetime, until: datetime) -> float:
    """Minutes of the confirmed appointments of ``office_id`` not yet checked in whose check-in
    window is still open at ``now`` and which start before ``until``."""
    late = timedelta(minutes=int(current_app.config["CHECKIN_LATE_MINUTES"]))
    params = {"office_id": office_id, "since": now - late, "until": until}
    session = db.session()
    if session.autoflush and (session.new or session.dirty or session.deleted):
        session.flush()  # as the ORM's execute did: the caller's pending changes count
    rows = session.connection().execute(_due_stmt(), params)
    return sum((end - start).total_seconds() / 60 for start, end in rows)


def alternatives(office: Office, service_code: str) -> dict:
    """The next free appointment for ``service_code`` at ``office`` (one person), a link to its
    calendar and one to the waitlist; only the general booking start when it is not bookable
    online."""
    if not cached_service(service_code).online_bookable:
        return {"next_free_appointment": None, "book_url": links.book_url(), "waitlist_url": None}
    found = next_free.next_free_appointments([office])[office.id]
    flow = urlencode({"office": office.slug, "services": service_code, "persons": 1})
    return {
        "next_free_appointment": found["services"].get(service_code),
        "book_url": f"{links.book_url()}kalender?{flow}",
        "waitlist_url": f"{links.book_url()}warteliste?{flow}",
    }


register_due_work("booking", due_minutes)
register_alternatives("booking", alternatives)
