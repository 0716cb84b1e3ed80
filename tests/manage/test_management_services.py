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
        "neu-aegi", "clerk", ["aegi"], "Neu Aegi", actor=manager
    )
    assert authenticate("neu-aegi", created.password) is not None
    (entry,) = _entries("staff.created")
    assert entry.office_id == _office("aegi").id and created.password not in json.dumps(
        entry.details
    )
    with pytest.raises(Forbidden):
        staff_service.create_staff_account("chef", "manager", ["aegi"], actor=manager)
    with pytest.raises(Forbidden):
        staff_service.create_staff_account("fremd", "clerk", ["linden"], actor=manager)
    with pytest.raises(Forbidden):
        staff_service.reset_staff_password(staff.linden_clerk.id, actor=manager)
    with pytest.raises(Forbidden):
        staff_service.set_staff_active(staff.admin.id, False, actor=manager)
    with pytest.raises(Conflict):
        staff_service.create_staff_account("neu-aegi", "clerk", ["aegi"], actor=staff.admin)

    reset = staff_service.reset_staff_password(created.id, actor=manager)
    assert authenticate("neu-aegi", created.password) is None
    assert authenticate("neu-aegi", reset.password) is not None
    staff_service.set_staff_active(created.id, False, actor=manager)
    assert authenticate("neu-aegi", reset.password) is None
    with pytest.raises(Refused):
        staff_service.set_staff_active(staff.admin.id, False, actor=staff.admin)
    staff_service.update_staff_account(
        created.id,
        actor=staff.admin,
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

    registered = devices.register_device("aegi", "kiosk", "Kiosk Eingang", actor=staff.aegi_manager)
    assert device_for_token(registered.token).name == "Kiosk Eingang"
    stored = db.session.scalar(select(Device).where(Device.id == registered.id))
    assert registered.token not in (
        stored.token_hash,
        json.dumps(_entries("device.registered")[0].details),
    )
    with pytest.raises(Forbidden):
        devices.register_device("aegi", "display", None, actor=staff.linden_manager)

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

    devices.revoke_device("aegi", registered.id, actor=staff.aegi_manager)
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
        messages.post_office_message("aegi", "x" * 281, actor=manager)
    assert sent == []
    message = messages.post_office_message(
        "aegi",
        "Platz 3 heute geschlossen",
        "Desk 3 closed today",
        actor=manager,
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

    other = messages.post_office_message("aegi", "Bitte Nummer beachten", actor=manager)
    messages.withdraw_office_message("aegi", other.id, actor=manager)
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
    offices.update_office("aegi", details, actor=manager)
    (entry,) = _entries("office.updated")
    assert {c["field"] for c in entry.details["changes"]} == {"name", "email", "walkin_daily_cap"}
    with pytest.raises(Forbidden):
        offices.update_office("aegi", details, actor=manager, active=False)
    with pytest.raises(Forbidden):
        offices.create_office("neu", OfficeDetails(name="Neu"), actor=manager)
    offices.create_office("kronsberg", OfficeDetails(name="Bürgeramt Kronsberg"), actor=admin)
    assert _office("kronsberg").active

    counter = offices.add_counter("aegi", "Express", ["AB", "EID"], actor=manager)
    assert counter.number == 15
    offices.update_counter(
        "aegi", counter.id, actor=manager, label="Express", service_codes=["AB"], active=False
    )
    assert counter.id not in {c.id for c in active_counters(_office("aegi"))}
    with pytest.raises(ValidationFailed):
        offices.add_counter("aegi", None, ["NOPE"], actor=manager)

    offer = {
        o.service.code: o.walkin_daily_cap
        for o in _office("aegi").services
        if o.service.code != "BG"
    }
    offices.set_offered_services("aegi", {**offer, "PA": 60}, actor=manager)
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
        catalogue.create_service("HST", data, actor=manager)
    catalogue.create_service("HST", data, actor=admin)
    with pytest.raises(Conflict):
        catalogue.create_service("HST", data, actor=admin)
    assert catalogue.service_for("HST", actor=manager).name_en == "Dog tax"
