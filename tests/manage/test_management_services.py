"""The management services: each change is checked, made, audited and published once."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from flask import jsonify
from sqlalchemy import select

from queue_service import clock
from queue_service.audit.models import AuditEntry
from queue_service.auth.models import Device
from queue_service.auth.services import authenticate, device_for_token
from queue_service.auth.web import current_device
from queue_service.errors import Conflict, Forbidden, Refused, ValidationFailed
from queue_service.extensions import db
from queue_service.management import catalogue, devices, messages, offices
from queue_service.management import staff as staff_service
from queue_service.management.catalogue import ServiceData
from queue_service.management.offices import OfficeDetails
from queue_service.offices import messages as ticker
from queue_service.offices.models import Counter, Office
from queue_service.offices.services import active_counters
from queue_service.scheduler import jobs

from ..support.html import csrf_from
from .conftest import logged_in


def _office(slug: str) -> Office:
    return db.session.scalar(select(Office).where(Office.slug == slug))


def _entries(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_staff_accounts_show_the_password_once_and_managers_only_manage_their_clerks(staff, app):
    manager = staff.aegi_manager
    created = staff_service.create_staff_account(
        manager.id, "neu-aegi", "clerk", ["aegi"], "Neu Aegi"
    )
    assert authenticate("neu-aegi", created.password) is not None
    (entry,) = _entries("staff.created")
    assert entry.office_id == _office("aegi").id and created.password not in json.dumps(
        entry.details
    )
    with pytest.raises(Forbidden):
        staff_service.create_staff_account(manager.id, "chef", "manager", ["aegi"])
    with pytest.raises(Forbidden):
        staff_service.create_staff_account(manager.id, "fremd", "clerk", ["linden"])
    with pytest.raises(Forbidden):
        staff_service.reset_staff_password(manager.id, staff.linden_clerk.id)
    with pytest.raises(Forbidden):
        staff_service.set_staff_active(manager.id, staff.admin.id, False)
    with pytest.raises(Conflict):
        staff_service.create_staff_account(staff.admin.id, "neu-aegi", "clerk", ["aegi"])

    reset = staff_service.reset_staff_password(manager.id, created.id)
    assert authenticate("neu-aegi", created.password) is None
    assert authenticate("neu-aegi", reset.password) is not None
    staff_service.set_staff_active(manager.id, created.id, False)
    assert authenticate("neu-aegi", reset.password) is None
    with pytest.raises(Refused):
        staff_service.set_staff_active(staff.admin.id, staff.admin.id, False)
    staff_service.update_staff_account(
        staff.admin.id,
        created.id,
        role="manager",
        office_slugs=["aegi", "linden"],
        display_name=None,
    )
    assert {e.office_id for e in _entries("staff.updated")} == {
        _office("aegi").id,
        _office("linden").id,
    }

    # the page shows the new password once and is not cached
    client = logged_in(app, staff.admin)
    page = client.get("/admin/manage/staff/new")
    response = client.post(
        "/admin/manage/staff/new",
        data={
            "username": "per-formular",
            "role": "clerk",
            "offices": "aegi",
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
    )
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    password = response.get_data(as_text=True).split("<code>")[1].split("</code>")[0]
    assert authenticate("per-formular", password) is not None


def test_devices_are_registered_with_a_one_time_key_revoked_and_seen(staff, app):
    @app.get("/_test/device")
    def _whoami():
        device = current_device()
        return jsonify({"device": device.name if device else None})

    registered = devices.register_device(staff.aegi_manager.id, "aegi", "kiosk", "Kiosk Eingang")
    assert device_for_token(registered.token).name == "Kiosk Eingang"
    stored = db.session.scalar(select(Device).where(Device.id == registered.id))
    assert registered.token not in (
        stored.token_hash,
        json.dumps(_entries("device.registered")[0].details),
    )
    with pytest.raises(Forbidden):
        devices.register_device(staff.linden_manager.id, "aegi", "display", None)

    clock.freeze(clock.now())
    client = app.test_client()
    assert client.get("/_test/device", headers={"X-Device-Token": registered.token}).get_json() == {
        "device": "Kiosk Eingang"
    }
    db.session.expire_all()
    assert db.session.get(Device, registered.id).last_seen_at == clock.now()

    # the kiosk's own browser registers through the page of issue "printing": audited too
    manager = logged_in(app, staff.aegi_manager)
    token = csrf_from(manager.get("/kiosk/register?office=aegi").get_data(as_text=True))
    assert (
        manager.post(
            "/kiosk/register", data={"csrf_token": token, "office": "aegi", "name": "Kiosk 2"}
        ).status_code
        == 302
    )
    assert [e.details["device_name"] for e in _entries("device.registered")] == [
        "Kiosk Eingang",
        "Kiosk 2",
    ]

    devices.revoke_device(staff.aegi_manager.id, "aegi", registered.id)
    assert device_for_token(registered.token) is None
    refused = client.get("/_test/device", headers={"X-Device-Token": registered.token})
    assert refused.status_code == 401  # a revoked token is refused, never treated as anonymous
    assert len(_entries("device.revoked")) == 1


def test_display_messages_are_pushed_after_the_commit_and_expire_on_time(
    staff, monkeypatch, thursday_morning
):
    sent = []
    monkeypatch.setattr(
        "queue_service.realtime.publish.emit_now",
        lambda event, data, *, room, namespace: sent.append((event, room, data)),
    )
    manager = staff.aegi_manager
    with pytest.raises(ValidationFailed):
        messages.post_office_message(manager.id, "aegi", "x" * 281)
    assert sent == []
    message = messages.post_office_message(
        manager.id,
        "aegi",
        "Platz 3 heute geschlossen",
        "Desk 3 closed today",
        active_until=clock.now() + timedelta(hours=1),
    )
    ((event, room, data),) = sent
    assert (event, room, data["text_de"], data["active"]) == (
        "office_message",
        "office:aegi",
        "Platz 3 heute geschlossen",
        True,
    )
    assert [m["id"] for m in ticker.current_office_messages(_office("aegi"))] == [message.id]
    assert ticker.current_office_messages(_office("linden")) == []

    assert jobs.expire_office_messages(clock.now()) == {"expired": 0}
    clock.advance(timedelta(hours=1, minutes=1))
    assert jobs.expire_office_messages(clock.now()) == {"expired": 1}
    assert sent[-1][0] == "office_message" and sent[-1][2]["active"] is False
    assert ticker.current_office_messages(_office("aegi")) == []
    assert jobs.expire_office_messages(clock.now()) == {"expired": 0}  # idempotent

    other = messages.post_office_message(manager.id, "aegi", "Bitte Nummer beachten")
    messages.withdraw_office_message(manager.id, "aegi", other.id)
    assert sent[-1][2] == {**sent[-1][2], "id": other.id, "active": False}
    assert [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))][
        -4:
    ] == [
        "office_message.posted",
        "office_message.expired",
        "office_message.posted",
        "office_message.withdrawn",
    ]


def test_offices_counters_and_offered_services(staff):
    admin, manager = staff.admin, staff.aegi_manager
    details = OfficeDetails(
        name="Bürgeramt Aegi (Mitte)",
        address="Aegidientorplatz 1, 30159 Hannover",
        email="aegi@hannover-stadt.de",
        walkin_daily_cap=180,
    )
    offices.update_office(manager.id, "aegi", details)
    (entry,) = _entries("office.updated")
    assert {c["field"] for c in entry.details["changes"]} == {"name", "email", "walkin_daily_cap"}
    with pytest.raises(Forbidden):
        offices.update_office(manager.id, "aegi", details, active=False)
    with pytest.raises(Forbidden):
        offices.create_office(manager.id, "neu", OfficeDetails(name="Neu"))
    offices.create_office(admin.id, "kronsberg", OfficeDetails(name="Bürgeramt Kronsberg"))
    assert _office("kronsberg").active

    counter = offices.add_counter(manager.id, "aegi", "Express", ["AB", "EID"])
    assert counter.number == 15
    offices.update_counter(
        manager.id, "aegi", counter.id, label="Express", service_codes=["AB"], active=False
    )
    assert counter.id not in {c.id for c in active_counters(_office("aegi"))}
    with pytest.raises(ValidationFailed):
        offices.add_counter(manager.id, "aegi", None, ["NOPE"])

    offer = {
        o.service.code: o.walkin_daily_cap
        for o in _office("aegi").services
        if o.service.code != "BG"
    }
    offices.set_offered_services(manager.id, "aegi", {**offer, "PA": 60})
    thirteen = db.session.scalar(
        select(Counter).where(Counter.office_id == _office("aegi").id, Counter.number == 13)
    )
    assert "BG" not in {s.code for s in thirteen.services}
    changes = _entries("office.services_changed")[0].details
    assert changes["removed"] == ["BG"] and changes["changes"] == [
        {"field": "cap:PA", "old": None, "new": 60}
    ]

    data = ServiceData(name_de="Hundesteuer", name_en="Dog tax", prefix="D", duration_minutes=10)
    with pytest.raises(Forbidden):
        catalogue.create_service(manager.id, "HST", data)
    catalogue.create_service(admin.id, "HST", data)
    with pytest.raises(Conflict):
        catalogue.create_service(admin.id, "HST", data)
    assert catalogue.service_for(manager.id, "HST").name_en == "Dog tax"
