"""What an issue and the forecast's appointment part cost: statements, ORM work and Python calls
(session 9), with the new paths' answers compared to the old ones."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import event, select

from queue_service import clock
from queue_service.booking.due import due_minutes
from queue_service.booking.models import Appointment, AppointmentStatus
from queue_service.extensions import db
from queue_service.offices.services import get_office
from queue_service.tickets import payloads
from queue_service.tickets import services as q
from queue_service.tickets.models import Ticket

from ..support.calls import python_calls as _calls
from ..support.sql import statements_sent


def test_an_issue_reads_nothing_before_its_transaction_for_the_admission_lock(app, aegi):
    """The process's admission lock is found by the office's slug: with it on, an issue sends
    no more statements than with it off (it read the office's catalogue revision before)."""
    q.issue_ticket("aegi", "PA")  # the office's first walk-in in this process
    db.session.commit()
    counts = {}
    for locked in (True, False, True, False):
        app.config["WALKIN_ADMISSION_LOCK"] = locked
        with statements_sent() as sent:
            q.issue_ticket("aegi", "PA")
        db.session.commit()
        counts.setdefault(locked, []).append(len(sent))
    assert counts[True] == counts[False]


def test_an_issue_inserts_its_ticket_without_the_orms_unit_of_work(aegi, clerk):
    """The ticket (and an appointment's further services) are plain INSERTs built once: no ORM
    object is made and nothing is flushed."""
    flushes = []
    listener = lambda session, context, instances: flushes.append(1)  # noqa: E731
    event.listen(db.session(), "before_flush", listener)
    try:
        q.issue_ticket("aegi", "PA", actor=clerk)
        q.issue_ticket(
            "aegi",
            "PA",
            kind="appointment",
            due_at=clock.now() + timedelta(minutes=5),
            further_services=["MB"],
            persons=2,
        )
    finally:
        event.remove(db.session(), "before_flush", listener)
    assert flushes == []
    assert not [o for o in db.session.identity_map.values() if isinstance(o, Ticket)]


def _old_view(view: dict, lang: str) -> dict:
    """The staff view as the ORM path built it, of the ticket as stored."""
    db.session.expire_all()
    ticket = db.session.scalar(select(Ticket).where(Ticket.token == view["token"]))
    assert ticket is not None
    old = payloads.staff_view(ticket, None, lang)
    # the estimate is filled in after the commit, the same way on both paths
    old["people_ahead"] = view["people_ahead"]
    old["estimated_wait_minutes"] = view["estimated_wait_minutes"]
    return old


def test_the_issued_view_is_the_staff_view_of_the_stored_ticket(aegi, clerk):
    q.open_counter("aegi", 1, actor=clerk)
    cases = [
        {},
        {"actor": clerk, "priority": True, "lang": "en"},
        {"lang": "xx"},  # an unknown language: stored as German
        {
            "kind": "appointment",
            "due_at": clock.now() + timedelta(minutes=10),
            "further_services": ["MB", "PA", "MB"],
            "persons": 3,
            "prefix": "T",
            "lang": "tr",
        },
        {"kind": "appointment", "due_at": clock.now() - timedelta(minutes=3), "lang": "en"},
    ]
    for options in cases:
        view = q.issue_ticket("aegi", "PA", idempotency_key=secrets.token_hex(8), **options)
        db.session.commit()
        assert view == _old_view(view, str(options.get("lang", "de"))), options


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


def test_call_start_and_finish_write_the_ticket_without_the_orms_unit_of_work(aegi, clerk):
    """Call-next, start and finish write the ticket by a plain UPDATE (status, stamp and the
    change's columns): nothing is flushed, and the staff view each returns is the one of the
    ticket as stored afterwards."""
    q.open_counter("aegi", 1, actor=clerk)
    q.issue_ticket("aegi", "PA")
    q.issue_ticket("aegi", "PA")
    q.issue_ticket("aegi", "PA", priority=True, actor=clerk)
    db.session.commit()
    flushes = []
    listener = lambda session, context, instances: flushes.append(1)  # noqa: E731
    event.listen(db.session(), "before_flush", listener)
    views = []

    def compared(view: dict | None, lang: str = "de") -> dict:
        assert view is not None
        assert view == _old_view(view, lang), view["status"]
        views.append(view)
        return view

    try:
        for performed in (None, "MB"):
            token = compared(q.call_next("aegi", 1, actor=clerk))["token"]
            compared(q.start_serving(token, actor=clerk, lang="en"), "en")
            compared(q.finish_ticket(token, actor=clerk, performed_service_code=performed))
    finally:
        event.remove(db.session(), "before_flush", listener)
    assert flushes == []
    assert [v["status"] for v in views] == ["called", "serving", "done"] * 2
    assert [v["performed_service"] for v in views[2::3]] == ["PA", "MB"]


def test_a_served_out_refusal_finds_the_office_and_service_in_the_kept_catalogue(client, aegi):
    """After the refused attempt's rollback, the idempotency key's lookup and the alternatives
    (next free appointment) take the office and the service from the process's kept catalogue:
    the refusal reads no office or service row (it read the office twice and the service once)."""
    from queue_service.auth.services import create_device

    from .test_served_out import _one_counter_and_a_full_day

    kiosk = create_device("aegi", "kiosk")
    _one_counter_and_a_full_day(extra=0)
    db.session.commit()

    def refused() -> dict:
        headers = {"X-Device-Token": kiosk, "Idempotency-Key": secrets.token_hex(8)}
        response = client.post(
            "/api/v1/offices/aegi/tickets", json={"service": "PA"}, headers=headers
        )
        assert response.status_code == 409
        return response.get_json()

    refused()  # the first fills the kept catalogue and the kept search
    with statements_sent() as sent:
        problem = refused()
    assert problem["reason"] == "served_out" and problem["next_free_appointment"]
    catalogue_rows = [
        s for s in sent if s.lstrip().upper().startswith(("SELECT OFFICES.", "SELECT SERVICES."))
    ]
    assert catalogue_rows == []
    # the key was still looked up: a repeat of an earlier admitted request gets its ticket
    assert any("idempotency_key" in s for s in sent)
