"""Check-in: a due appointment becomes a ticket that is called before walk-ins."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from queue_service import clock
from queue_service.auth.models import User
from queue_service.auth.services import create_device, create_user
from queue_service.booking.models import Appointment, AppointmentStatus
from queue_service.extensions import db
from queue_service.tickets import services as queue
from queue_service.tickets.models import Ticket

from .conftest import MONDAY_9, THURSDAY, at, book


@pytest.fixture
def app_config():
    return {"MAIL_BACKEND": "memory", "MAIL_ASYNC": False}


@pytest.fixture
def booked(app, catalogue):
    """Book on Monday morning (inside the booking window) for Thursday."""
    clock.freeze(MONDAY_9)

    def _book(**kwargs):
        clock.freeze(MONDAY_9)
        return book(**kwargs)

    return _book


def _kiosk(slug="aegi"):
    return {"X-Device-Token": create_device(slug, "kiosk")}


def test_a_due_appointment_becomes_a_ticket_called_before_walk_ins(booked, app):
    client = app.test_client()
    view = booked(office="aegi", services="PA", start=at(THURSDAY, 10))
    clock.freeze(at(THURSDAY, 9, 40))
    kiosk = _kiosk()
    walkin = client.post(
        "/api/v1/offices/aegi/tickets", json={"service": "PA"}, headers=kiosk
    ).get_json()
    response = client.post(
        "/api/v1/offices/aegi/check-in", json={"code": view.code.lower()}, headers=kiosk
    )
    assert response.status_code == 201, response.get_json()
    ticket = response.get_json()
    assert ticket["number"] == "T001" and ticket["kind"] == "appointment"
    assert ticket["status_url"].endswith(f"/t/{ticket['token']}")
    stored = db.session.scalar(select(Appointment).where(Appointment.code == view.code))
    db.session.refresh(stored)
    assert stored.status == AppointmentStatus.CHECKED_IN and stored.ticket_id is not None
    # at 10:00 the appointment is due: called before the walk-in who came earlier
    clock.freeze(at(THURSDAY, 10, 0))
    clerk = create_user("clerk-checkin", "clerk", ["aegi"])
    user = db.session.get(User, clerk.id)
    first = queue.call_next("aegi", 1, actor=user)
    assert first["number"] == "T001"
    assert walkin["number"] == "P001"


def test_a_second_scan_returns_the_same_ticket(booked, app):
    client = app.test_client()
    view = booked(office="aegi", services="AB", start=at(THURSDAY, 10))
    clock.freeze(at(THURSDAY, 9, 55))
    kiosk = _kiosk()
    first = client.post("/api/v1/offices/aegi/check-in", json={"code": view.code}, headers=kiosk)
    again = client.post("/api/v1/offices/aegi/check-in", json={"code": view.code}, headers=kiosk)
    assert first.status_code == 201 and again.status_code == 200
    assert first.get_json()["number"] == again.get_json()["number"]
    assert again.get_json()["already_checked_in"] is True
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1


def test_too_early_too_late_unknown_and_wrong_office_are_clear_refusals(booked, app):
    client = app.test_client()
    view = booked(office="aegi", services="PA", start=at(THURSDAY, 10))
    kiosk = _kiosk()
    clock.freeze(at(THURSDAY, 9, 0))
    early = client.post("/api/v1/offices/aegi/check-in", json={"code": view.code}, headers=kiosk)
    assert early.status_code == 409 and early.get_json()["reason"] == "too_early"
    assert early.get_json()["detail"] == (
        "Einchecken für diesen Termin ist ab 09:30 Uhr möglich. Bitte kommen Sie dann wieder."
    )
    english = client.post(
        "/api/v1/offices/aegi/check-in?lang=en", json={"code": view.code}, headers=kiosk
    )
    assert english.get_json()["detail"] == (
        "Check-in for this appointment opens at 09:30. Please come back then."
    )
    clock.freeze(at(THURSDAY, 10, 16))
    late = client.post("/api/v1/offices/aegi/check-in", json={"code": view.code}, headers=kiosk)
    assert late.status_code == 409 and late.get_json()["reason"] == "too_late"
    unknown = client.post(
        "/api/v1/offices/aegi/check-in",
        json={"code": "AAA-AAA" if view.code != "AAAAAA" else "CCC-CCC"},
        headers=kiosk,
    )
    assert unknown.status_code == 404 and unknown.get_json()["reason"] == "unknown_code"
    malformed = client.post("/api/v1/offices/aegi/check-in", json={"code": "hello!"}, headers=kiosk)
    assert malformed.status_code == 422 and malformed.get_json()["field"] == "code"
    clock.freeze(at(THURSDAY, 10, 0))
    linden = client.post(
        "/api/v1/offices/linden/check-in", json={"code": view.code}, headers=_kiosk("linden")
    )
    assert linden.status_code == 409 and linden.get_json()["reason"] == "wrong_office"
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0
    missing = client.post("/api/v1/offices/aegi/check-in", json={}, headers=kiosk)
    assert missing.status_code == 422 and missing.get_json()["field"] == "code"


def test_check_in_needs_a_kiosk_of_that_office_or_staff(booked, app):
    client = app.test_client()
    view = booked(office="aegi", services="PA", start=at(THURSDAY, 10))
    clock.freeze(at(THURSDAY, 10, 0))
    token = client.get("/api/v1/csrf-token").get_json()["csrf_token"]
    anonymous = client.post(
        "/api/v1/offices/aegi/check-in", json={"code": view.code}, headers={"X-CSRFToken": token}
    )
    assert anonymous.status_code == 401
    other = client.post(
        "/api/v1/offices/aegi/check-in", json={"code": view.code}, headers=_kiosk("linden")
    )
    assert other.status_code == 403


def test_two_kiosks_scanning_at_once_give_one_ticket(booked, app):
    view = booked(office="aegi", services="PA", start=at(THURSDAY, 10))
    clock.freeze(at(THURSDAY, 10, 0))
    headers = [_kiosk(), _kiosk()]
    results = []

    def scan(h):
        with app.app_context():
            results.append(
                app.test_client().post(
                    "/api/v1/offices/aegi/check-in", json={"code": view.code}, headers=h
                )
            )
            db.session.remove()

    threads = [threading.Thread(target=scan, args=(h,)) for h in headers * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {r.status_code for r in results} <= {200, 201}
    assert len({r.get_json()["number"] for r in results}) == 1
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1
    ticket = db.session.scalar(select(Ticket))
    stored = db.session.scalar(select(Appointment).where(Appointment.code == view.code))
    assert (stored.status, stored.ticket_id) == (AppointmentStatus.CHECKED_IN, ticket.id)


def test_a_check_in_is_one_unit_of_work_with_its_ticket(booked, app, monkeypatch):
    """The ticket and the appointment's check-in are written in one unit of work (not an issue
    followed by a second one marking the appointment)."""
    from queue_service import db as plumbing
    from queue_service.booking.checkin import check_in

    view = booked(office="aegi", services="PA", start=at(THURSDAY, 10))
    clock.freeze(at(THURSDAY, 9, 50))
    units = []
    unit_of_work = plumbing.unit_of_work

    def counted():
        units.append(1)
        return unit_of_work()

    monkeypatch.setattr(plumbing, "unit_of_work", counted)
    first = check_in("aegi", view.code)
    assert len(units) == 1
    again = check_in("aegi", view.code)
    assert again["number"] == first["number"] and again["already_checked_in"] is True
    stored = db.session.scalar(select(Appointment).where(Appointment.code == view.code))
    ticket = db.session.scalar(select(Ticket))
    assert (stored.status, stored.ticket_id) == (AppointmentStatus.CHECKED_IN, ticket.id)


def test_an_appointment_cancelled_while_its_check_in_runs_gets_no_ticket(booked, app, monkeypatch):
    """The office's closure cancels the appointment (another request, committed in another
    thread) after the check-in found it confirmed and before its ticket is issued: the
    check-in is refused and no ticket is left in the queue for a cancelled appointment (with
    the issue and the check-in in two transactions, the ticket stayed)."""
    from queue_service.booking import checkin, services
    from queue_service.db import run_in_transaction

    view = booked(office="aegi", services="PA", start=at(THURSDAY, 10))
    clock.freeze(at(THURSDAY, 9, 50))
    found = services.find_appointment_for_check_in

    def cancel_elsewhere() -> None:
        with app.app_context():
            run_in_transaction(
                lambda session: services.cancel_for_closure(view.id, "Test", notify=False)
            )
            db.session.remove()

    def found_then_cancelled(*args, **kwargs):
        lookup = found(*args, **kwargs)
        thread = threading.Thread(target=cancel_elsewhere)
        thread.start()
        thread.join()
        return lookup

    monkeypatch.setattr(checkin, "find_appointment_for_check_in", found_then_cancelled)
    response = app.test_client().post(
        "/api/v1/offices/aegi/check-in", json={"code": view.code}, headers=_kiosk()
    )
    assert response.status_code == 409, response.get_json()
    assert response.get_json()["reason"] == "not_booked"
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0
    stored = db.session.scalar(select(Appointment).where(Appointment.code == view.code))
    db.session.refresh(stored)
    assert (stored.status, stored.ticket_id) == (AppointmentStatus.CANCELLED, None)


def test_an_appointment_for_two_persons_and_two_services_becomes_a_ticket_with_both(booked, app):
    client = app.test_client()
    view = booked(office="aegi", services="PA,MB", persons=2, start=at(THURSDAY, 10))
    clock.freeze(at(THURSDAY, 9, 55))
    kiosk = _kiosk()
    ticket = client.post(
        "/api/v1/offices/aegi/check-in", json={"code": view.code}, headers=kiosk
    ).get_json()
    both = [
        {"code": "PA", "name": "Personalausweis beantragen"},
        {"code": "MB", "name": "Meldebescheinigung"},
    ]
    assert (ticket["services"], ticket["persons"]) == (both, 2)
    public = client.get(f"/api/v1/tickets/{ticket['token']}").get_json()
    assert (public["services"], public["persons"], public["service"]["code"]) == (both, 2, "PA")
    # the phone page names the persons in each language's grammar (Arabic: the dual)
    for lang, words in (("de", "Für 2 Personen"), ("ar", "لشخصين"), ("tr", "2 kişi için")):
        page = client.get(f"/t/{ticket['token']}?lang={lang}").get_data(as_text=True)
        assert f'<p class="ticket-persons">{words}</p>' in page, lang
    again = client.post("/api/v1/offices/aegi/check-in", json={"code": view.code}, headers=kiosk)
    assert again.status_code == 200 and again.get_json()["services"] == both
    # at 10:00 the appointment goes first; a walk-in behind it waits for the whole visit:
    # PA 15 min + 10 for the second person, MB 5 min (no extra minutes per person) = 30
    clock.freeze(at(THURSDAY, 10, 0))
    walkin = client.post("/api/v1/offices/aegi/tickets", json={"service": "PA"}, headers=kiosk)
    assert (walkin.get_json()["people_ahead"], walkin.get_json()["estimated_wait_minutes"]) == (
        1,
        30,
    )


def test_an_early_check_in_waits_for_its_time_not_behind_every_walk_in(booked, app):
    client = app.test_client()
    view = booked(office="aegi", services="PA", start=at(THURSDAY, 10))
    clock.freeze(at(THURSDAY, 9, 35))
    kiosk = _kiosk()
    for _ in range(5):  # 5 x 15 minutes of walk-ins, one counter
        client.post("/api/v1/offices/aegi/tickets", json={"service": "PA"}, headers=kiosk)
    ticket = client.post(
        "/api/v1/offices/aegi/check-in", json={"code": view.code}, headers=kiosk
    ).get_json()
    # it is called when its time comes (in 25 minutes), before the walk-ins still waiting then
    assert (ticket["people_ahead"], ticket["estimated_wait_minutes"]) == (0, 25)
    status = client.get(f"/api/v1/tickets/{ticket['token']}").get_json()
    assert status["estimated_wait_minutes"] == 25
