"""Every staff view of a resident's personal data (name, e-mail, phone of an appointment) is in
the audit log (who, when, which appointment and booking code), never the data itself; and no
staff page shows that data anywhere else."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from queue_service import clock
from queue_service.audit.models import AuditEntry
from queue_service.extensions import db

from ..booking.conftest import MONDAY_9, THURSDAY, at, book
from ..conftest import login
from ..manage.conftest import logged_in

NAME, EMAIL, PHONE = "Erika Mustermann", "erika.mustermann@example.org", "0511 4711 0815"


@pytest.fixture
def app_config():
    return {"MAIL_BACKEND": "memory", "MAIL_ASYNC": False}


@pytest.fixture
def booked(staff):
    clock.freeze(MONDAY_9)
    return book(
        office="linden", services="PA", start=at(THURSDAY, 8), name=NAME, email=EMAIL, phone=PHONE
    )


def _views() -> list[AuditEntry]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "personal_data.viewed")
            .order_by(AuditEntry.id)
        )
    )


def _text(entry: AuditEntry) -> str:
    return json.dumps({c.name: str(getattr(entry, c.name)) for c in AuditEntry.__table__.columns})


def test_a_clerk_opening_an_appointment_is_logged_without_its_personal_data(app, staff, booked):
    client = logged_in(app, staff.linden_clerk)
    api = client.get(f"/api/v1/appointments/{booked.token}")
    assert api.status_code == 200 and api.get_json()["name"] == NAME  # the clerk did see it
    page = client.get(f"/termin/verwalten/{booked.token}")
    assert page.status_code == 200 and NAME in page.get_data(as_text=True)
    entries = _views()
    assert [(e.actor_name, e.object_type, e.object_id, e.details["via"]) for e in entries] == [
        ("sb-linden", "appointment", str(booked.id), "api"),
        ("sb-linden", "appointment", str(booked.id), "manage_page"),
    ]
    assert all(
        e.details["booking_code"] == booked.code and e.office_id is not None for e in entries
    )
    assert entries[0].details["fields"] == ["name", "email", "phone"]
    assert entries[0].at == clock.now()
    for entry in entries:
        text = _text(entry)
        for secret in (NAME, "Erika", "Mustermann", EMAIL, "erika.mustermann", "4711"):
            assert secret not in text


def test_the_resident_viewing_their_own_appointment_writes_no_entry(app, staff, booked):
    client = app.test_client()
    assert client.get(f"/api/v1/appointments/{booked.token}").status_code == 200
    assert client.get(f"/termin/verwalten/{booked.token}").status_code == 200
    assert _views() == []


def test_the_linden_manager_reads_the_entry_in_the_audit_page(app, staff, booked):
    logged_in(app, staff.linden_clerk).get(f"/api/v1/appointments/{booked.token}")
    client = app.test_client()
    assert (
        login(client, staff.linden_manager.username, staff.linden_manager.password).status_code
        == 302
    )
    page = client.get("/admin/manage/audit", query_string={"action": "personal_data.viewed"})
    html = page.get_data(as_text=True)
    assert (
        page.status_code == 200
        and "sb-linden" in html
        and "Erika" not in html
        and EMAIL not in html
    )


def test_no_staff_page_shows_a_resident_s_personal_data(app, staff, booked):
    """Walks every staff GET page (as an administrator, for Linden) with an appointment booked
    and checked in: none of them shows the name, e-mail or phone."""
    from queue_service.booking.checkin import check_in

    clock.freeze(at(THURSDAY, 7, 55))
    check_in("linden", booked.code)
    client = logged_in(app, staff.admin)
    seen = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or not rule.rule.startswith(("/admin", "/api/v1/offices")):
            continue
        if set(rule.arguments) - {"slug"}:
            continue
        url = rule.rule.replace("<slug>", "linden")
        response = client.get(url)
        if response.status_code != 200:
            continue
        seen += 1
        text = response.get_data(as_text=True)
        for secret in ("Mustermann", EMAIL, "4711 0815"):
            assert secret not in text, url
    assert seen >= 15
    assert _views() == []  # nothing shown, nothing logged
