"""Tells the walk-in forecast (tickets/forecast.py) how much appointment work is still due
today: confirmed appointments not yet checked in whose check-in window has not closed, plus
checked-in ones are already in the queue as tickets. Registered at start-up, so tickets never
imports booking."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ..extensions import db
from ..tickets.forecast import register_due_work
from . import settings as booking_settings
from .models import Appointment, AppointmentStatus


def due_minutes(office_id: int, now: datetime, until: datetime) -> float:
    late = booking_settings.current().checkin_late
    rows = db.session.execute(
        select(Appointment.start, Appointment.end).where(
            Appointment.office_id == office_id,
            Appointment.status == AppointmentStatus.CONFIRMED,
            Appointment.start > now - late,
            Appointment.start < until,
        )
    ).all()
    return sum((end - start).total_seconds() / 60 for start, end in rows)


register_due_work("booking", due_minutes)
