"""The booking jobs are thin wrappers: run through the scheduler's runner with a moved clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from queue_service import clock
from queue_service.booking.models import Appointment
from queue_service.extensions import db
from queue_service.scheduler import jobs

from ..booking.conftest import MONDAY_9, THURSDAY, at, book


@pytest.fixture
def app_config():
    return {"MAIL_BACKEND": "memory", "MAIL_ASYNC": False}


def test_retention_purge_removes_personal_data_after_the_retention_period(app, catalogue):
    clock.freeze(MONDAY_9)
    view = book(office="linden", start=at(THURSDAY, 8))
    # one day after the appointment: still kept (default retention 2 days)
    clock.freeze(at(THURSDAY, 8) + timedelta(days=1))
    assert jobs.purge_personal_data(clock.now()) == {"anonymised": 0, "turn_alert_addresses": 0}
    clock.freeze(at(THURSDAY, 9) + timedelta(days=2))
    assert jobs.purge_personal_data(clock.now()) == {"anonymised": 1, "turn_alert_addresses": 0}
    stored = db.session.scalar(select(Appointment).where(Appointment.id == view.id))
    db.session.refresh(stored)
    assert (stored.name, stored.email, stored.phone) == (None, None, None)
    assert stored.start == at(THURSDAY, 8) and stored.service_codes == ["PA"]  # statistics stay


def test_reminders_go_out_once_for_tomorrow(app, catalogue):
    outbox = app.extensions.setdefault("mail_outbox", [])
    clock.freeze(MONDAY_9)
    book(office="linden", start=at(THURSDAY, 8))
    outbox.clear()
    clock.freeze(datetime(2026, 11, 25, 17, 0, tzinfo=clock.LOCAL_TZ))
    assert jobs.send_appointment_reminders(clock.now()) == {"reminded": 1}
    assert jobs.send_appointment_reminders(clock.now()) == {"reminded": 0}
    assert len(outbox) == 1


def test_no_show_marking_after_the_check_in_window(app, catalogue):
    clock.freeze(MONDAY_9)
    book(office="linden", start=at(THURSDAY, 8))
    clock.freeze(at(THURSDAY, 8, 10))
    assert jobs.mark_appointment_no_shows(clock.now()) == {"no_shows": 0}
    clock.freeze(at(THURSDAY, 8, 16))
    assert jobs.mark_appointment_no_shows(clock.now()) == {"no_shows": 1}
