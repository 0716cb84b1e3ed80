"""What an issue and the forecast's appointment part cost: statements, ORM work and Python calls
(session 9), with the new paths' answers compared to the old ones."""

from __future__ import annotations

import cProfile
import pstats
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from queue_service import clock
from queue_service.booking.due import due_minutes
from queue_service.booking.models import Appointment, AppointmentStatus
from queue_service.extensions import db
from queue_service.offices.services import get_office


def _calls(function, *args, **kwargs) -> tuple[object, int]:
    profile = cProfile.Profile()
    profile.enable()
    try:
        result = function(*args, **kwargs)
    finally:
        profile.disable()
    return result, pstats.Stats(profile).total_calls  # type: ignore[attr-defined]


def _appointment(office_id: int, start, minutes: int, status: AppointmentStatus) -> Appointment:
    return Appointment(
        public_id=secrets.token_hex(8),
        office_id=office_id,
        status=status,
        start=start,
        end=start + timedelta(minutes=minutes),
        service_codes=["PA"],
    )


def test_the_forecasts_appointment_minutes_are_a_statement_built_once(aegi):
    """``due_minutes`` (booking's part of the walk-in forecast, asked for every admitted walk-in
    and displays' read) sums the same appointments as the ORM query it replaced, for well under
    half the Python calls."""
    office_id = get_office("aegi").id
    now = clock.now()
    for offset, minutes, status in (
        (-30, 15, AppointmentStatus.CONFIRMED),  # check-in window closed
        (-10, 15, AppointmentStatus.CONFIRMED),
        (20, 30, AppointmentStatus.CONFIRMED),
        (40, 10, AppointmentStatus.CHECKED_IN),
        (50, 20, AppointmentStatus.CANCELLED),
        (300, 45, AppointmentStatus.CONFIRMED),  # after ``until``
    ):
        db.session.add(_appointment(office_id, now + timedelta(minutes=offset), minutes, status))
    db.session.flush()
    until = now + timedelta(hours=4)
    late = timedelta(minutes=int(current_app.config["CHECKIN_LATE_MINUTES"]))
    old_rows = db.session.execute(
        select(Appointment.start, Appointment.end).where(
            Appointment.office_id == office_id,
            Appointment.status == AppointmentStatus.CONFIRMED,
            Appointment.start > now - late,
            Appointment.start < until,
        )
    ).all()
    assert due_minutes(office_id, now, until) == sum(
        (end - start).total_seconds() / 60 for start, end in old_rows
    )
    assert due_minutes(office_id, now, until) == 45.0
    due_minutes(office_id, now, until)  # warm
    _, calls = _calls(due_minutes, office_id, now, until)
    assert calls < 350, calls  # 544 (SQLite) and 619 (PostgreSQL) through the ORM, built anew
