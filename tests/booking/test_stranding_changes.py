"""Management changes that would strand booked appointments (a service no longer offered,
shorter opening hours, an office taken out of service) list them without names, ask first, and
once confirmed cancel them and mail the residents after the commit."""

from __future__ import annotations

import re
from datetime import time

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from queue_service import clock
from queue_service.audit.models import AuditEntry
from queue_service.booking.models import Appointment, AppointmentStatus
from queue_service.errors import ConfirmationRequired
from queue_service.extensions import db
from queue_service.management import hours, offices
from queue_service.management.hours import WindowSpec
from queue_service.offices.models import WindowKind
from queue_service.offices.services import get_office

from ..conftest import login
from .conftest import MONDAY_9, THURSDAY, at, book


@pytest.fixture
def app_config():
    return {"MAIL_BACKEND": "memory", "MAIL_ASYNC": False}


@pytest.fixture
def outbox(app):
    box = app.extensions.setdefault("mail_outbox", [])
    box.clear()
    return box


def _status(appointment) -> AppointmentStatus:
    db.session.expire_all()
    return db.session.get(Appointment, appointment.id).status


def _offer_without(slug: str, *codes: str) -> dict[str, int | None]:
    return {
        o.service.code: o.walkin_daily_cap
        for o in get_office(slug).services
        if o.service.code not in codes
    }


def test_removing_a_service_lists_asks_and_cancels_only_its_appointments(
    app, catalogue, make_user, outbox
):
    manager = make_user("leitung", "manager", ["linden"])
    clock.freeze(MONDAY_9)
    rp = book(office="linden", services="RP", start=at(THURSDAY, 8), email="erika@example.org")
    both = book(
        office="linden", services=["PA", "RP"], start=at(THURSDAY, 9), email="max@example.org"
    )
    pa = book(office="linden", services="PA", start=at(THURSDAY, 10), email="paula@example.org")
    outbox.clear()
    offer = _offer_without("linden", "RP")
    with pytest.raises(ConfirmationRequired) as asked:
        offices.set_offered_services("linden", offer, actor=manager)
    items = asked.value.items
    assert [int(i.key) for i in items] == [rp.id, both.id]
    assert all("Erika" not in i.summary and "@" not in i.summary for i in items)
    assert rp.code.replace("-", "") in items[0].summary.replace("-", "")
    assert "RP" in {s.service.code for s in get_office("linden").services}  # nothing changed yet
    assert _status(rp) == AppointmentStatus.CONFIRMED and outbox == []

    offices.set_offered_services(
        "linden",
        offer,
        actor=manager,
        confirmed=True,
        notify=True,
        acknowledged=[i.ref for i in items],
    )
    assert "RP" not in {s.service.code for s in get_office("linden").services}
    assert (_status(rp), _status(both), _status(pa)) == (
        AppointmentStatus.CANCELLED,
        AppointmentStatus.CANCELLED,
        AppointmentStatus.CONFIRMED,
    )
    assert sorted(m["To"] for m in outbox) == ["erika@example.org", "max@example.org"]
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "office.services_changed")
    ).one()
    assert entry.details["removed"] == ["RP"] and len(entry.details["affected"]) == 2
    assert "erika" not in str(entry.details).lower()


def test_a_service_added_meanwhile_booked_appointment_must_be_acknowledged(
    app, catalogue, make_user
):
    manager = make_user("leitung", "manager", ["linden"])
    clock.freeze(MONDAY_9)
    book(office="linden", services="RP", start=at(THURSDAY, 8))
    offer = _offer_without("linden", "RP")
    with pytest.raises(ConfirmationRequired) as asked:
        offices.set_offered_services("linden", offer, actor=manager)
    seen = [i.ref for i in asked.value.items]
    book(office="linden", services="RP", start=at(THURSDAY, 11))  # booked while the manager read
    with pytest.raises(ConfirmationRequired):
        offices.set_offered_services(
            "linden", offer, actor=manager, confirmed=True, acknowledged=seen
        )
    assert "RP" in {s.service.code for s in get_office("linden").services}


def test_shorter_hours_cancel_the_appointments_that_fall_outside(app, catalogue, make_user, outbox):
    manager = make_user("leitung", "manager", ["linden"])
    clock.freeze(MONDAY_9)
    early = book(office="linden", services="PA", start=at(THURSDAY, 8), email="early@example.org")
    late = book(office="linden", services="PA", start=at(THURSDAY, 14), email="late@example.org")
    outbox.clear()
    morning_only = [WindowSpec(WindowKind.APPOINTMENT, time(8), time(12), None)]
    with pytest.raises(ConfirmationRequired) as asked:
        hours.set_day_windows("linden", THURSDAY.weekday(), morning_only, actor=manager)
    assert [int(i.key) for i in asked.value.items] == [late.id]
    hours.set_day_windows(
        "linden", THURSDAY.weekday(), morning_only, actor=manager, confirmed=True, notify=True
    )
    assert (_status(early), _status(late)) == (
        AppointmentStatus.CONFIRMED,
        AppointmentStatus.CANCELLED,
    )
    assert [m["To"] for m in outbox] == ["late@example.org"]


def test_taking_an_office_out_of_service_cancels_its_appointments_after_asking(
    app, catalogue, make_user, outbox
):
    admin = make_user("admin", "admin", [])
    clock.freeze(MONDAY_9)
    linden = book(office="linden", services="PA", start=at(THURSDAY, 8), email="erika@example.org")
    aegi = book(office="aegi", services="PA", start=at(THURSDAY, 8), email="max@example.org")
    outbox.clear()
    office = get_office("linden")
    details = offices.OfficeDetails(
        name=office.name,
        address=office.address,
        phone=office.phone,
        email=office.email,
        walkin_daily_cap=office.walkin_daily_cap,
    )
    with pytest.raises(ConfirmationRequired) as asked:
        offices.update_office("linden", details, actor=admin, active=False)
    assert [int(i.key) for i in asked.value.items] == [linden.id]
    assert get_office("linden").active is True
    offices.update_office(
        "linden", details, actor=admin, active=False, confirmed=True, notify=False
    )
    assert (_status(linden), _status(aegi)) == (
        AppointmentStatus.CANCELLED,
        AppointmentStatus.CONFIRMED,
    )
    assert outbox == []  # notify was not ticked


def test_the_services_page_shows_the_affected_and_saves_after_confirmation(
    app, catalogue, make_user, outbox
):
    manager = make_user("leitung", "manager", ["linden"])
    clock.freeze(MONDAY_9)
    rp = book(
        office="linden",
        services="RP",
        start=at(THURSDAY, 8),
        name="Erika Mustermann",
        email="erika@example.org",
    )
    outbox.clear()
    client = app.test_client()
    assert login(client, manager.username, manager.password).status_code == 302
    page = client.get("/admin/manage/offices/linden/services").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {
        "csrf_token": token,
        **{f"offer-{code}": "1" for code in _offer_without("linden", "RP")},
    }
    asked = client.post("/admin/manage/offices/linden/services", data=form)
    html = asked.get_data(as_text=True)
    assert (
        asked.status_code == 200
        and "26.11.2026 08:00" in html
        and "Reisepass beantragen (auch Express)" in html
    )
    assert "Erika" not in html and "erika@" not in html
    hidden = re.findall(r'<input type="hidden" name="([\w-]+)" value="([^"]*)"', html)
    assert ("confirmed", "1") in hidden and ("ack", f"booking:{rp.id}") in hidden
    repost = MultiDict(
        [pair for pair in hidden if pair[0] != "csrf_token"]
        + [("csrf_token", token), ("notify", "1")]
    )
    done = client.post("/admin/manage/offices/linden/services", data=repost)
    assert done.status_code == 302
    assert _status(rp) == AppointmentStatus.CANCELLED and [m["To"] for m in outbox] == [
        "erika@example.org"
    ]
