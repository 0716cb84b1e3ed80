"""Who may reach which management page: managers their offices, administrators all, clerks none.

The walks go over app.url_map, so pages added later are covered without editing this file.
"""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from queue_service.auth.models import Device, User
from queue_service.auth.services import create_device, create_user
from queue_service.extensions import db
from queue_service.management import closures, messages
from queue_service.offices.models import Closure, Counter, MobileEvent, OfficeMessage

from .conftest import audit_count, logged_in, office_id

MANAGE = "admin.manage."
ADMIN_ONLY = {"office_new", "service_new", "city_closures", "city_closure_delete", "jobs"}


def _objects_of(slug: str, staff) -> dict:
    """One object of each kind belonging to office ``slug`` (created through the services)."""
    oid = office_id(slug)
    manager = staff.admin
    closures.add_closure(slug, [date(2027, 3, 3)], "Betriebsausflug", actor=manager, confirmed=True)
    closures.add_closure(None, [date(2027, 3, 4)], "Stadtweit", actor=manager, confirmed=True)
    messages.post_office_message(slug, "Platz 2 heute geschlossen", actor=manager)
    create_device(slug, "display", "Anzeige Flur")
    db_select = db.session.scalar
    return {
        "counter_id": db_select(select(Counter.id).where(Counter.office_id == oid)),
        "closure_id": db_select(select(Closure.id).where(Closure.office_id == oid)),
        "city_closure_id": db_select(
            select(Closure.id).where(Closure.office_id.is_(None), Closure.reason == "Stadtweit")
        ),
        "device_id": db_select(select(Device.id).where(Device.office_id == oid)),
        "message_id": db_select(select(OfficeMessage.id).where(OfficeMessage.office_id == oid)),
        "event_id": db_select(
            select(MobileEvent.id).where(MobileEvent.office_id == office_id("mobil"))
        ),
        "user_id": db_select(select(User.id).where(User.username == ("sb-" + slug))),
    }


def _url(app, rule, slug: str, ids: dict) -> str:
    values = {}
    for arg in rule.arguments:
        if arg == "slug":
            values[arg] = "mobil" if "mobile" in rule.endpoint else slug
        elif arg == "closure_id" and rule.endpoint.endswith("city_closure_delete"):
            values[arg] = ids["city_closure_id"]
        elif arg == "weekday":
            values[arg] = 0
        elif arg == "code":
            values[arg] = "PA"
        else:
            values[arg] = ids[arg]
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def _manage_rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith(MANAGE)]


def _csrf(client) -> dict:
    return {"X-CSRFToken": client.get("/api/v1/csrf-token").get_json()["csrf_token"]}


def test_a_manager_of_aegi_can_neither_see_nor_change_linden(web):
    app, staff = web.app, web.staff
    ids = _objects_of("linden", staff)
    client = logged_in(app, staff.aegi_manager)
    headers = _csrf(client)
    before = audit_count()
    checked = 0
    for rule in _manage_rules(app):
        name = rule.endpoint.removeprefix(MANAGE)
        scoped = {"slug", "user_id"} & set(rule.arguments)
        for method in {"GET", "POST"} & rule.methods:
            expect_forbidden = (
                scoped or name in ADMIN_ONLY or (name == "service_edit" and method == "POST")
            )
            if not expect_forbidden:
                continue
            url = _url(app, rule, "linden", ids)
            response = client.open(
                url, method=method, headers=headers, data={"name": "X", "active": "1"}
            )
            assert response.status_code == 403, f"{method} {url} gave {response.status_code}"
            checked += 1
    assert checked >= 35, checked
    # nor through a filter or a form field naming Linden
    assert client.get("/admin/manage/audit?office=linden").status_code == 403
    response = client.post(
        "/admin/manage/staff/new",
        headers=headers,
        data={"username": "neu", "role": "clerk", "offices": "linden"},
    )
    assert (
        response.status_code in (403, 422) and b"neu" not in client.get("/admin/manage/staff").data
    )
    assert audit_count() == before
    # Linden does not even appear in the manager's lists
    for page in ("/admin/manage/", "/admin/manage/staff", "/admin/manage/audit", "/admin/"):
        assert "Bürgeramt Linden" not in client.get(page).get_data(as_text=True), page


def test_a_clerk_cannot_reach_any_management_page(web):
    app, staff = web.app, web.staff
    ids = _objects_of("aegi", staff)
    client = logged_in(app, staff.aegi_clerk)
    headers = _csrf(client)
    checked = 0
    for rule in _manage_rules(app):
        for method in {"GET", "POST"} & rule.methods:
            url = _url(app, rule, "aegi", ids)
            assert client.open(url, method=method, headers=headers).status_code == 403, (
                f"{method} {url}"
            )
            checked += 1
    assert checked >= 40
    assert "/admin/manage" not in client.get("/admin/").get_data(as_text=True)


def test_administrators_and_own_managers_open_every_management_page(web):
    app, staff = web.app, web.staff
    ids = _objects_of("aegi", staff)
    admin = logged_in(app, staff.admin)
    manager = logged_in(app, staff.aegi_manager)
    # the navigation offers every management area to administrators, and not the admin-only ones to managers
    nav = re.search(
        r'<nav class="staff-nav".*?</nav>', admin.get("/admin/").get_data(as_text=True), re.S
    ).group(0)
    for label in (
        "Bürgerämter",
        "Leistungen",
        "Konten der Mitarbeitenden",
        "Stadtweite Schließungen",
        "Änderungsprotokoll",
        "Geplante Aufgaben",
    ):
        assert f">{label}</a>" in nav, label
    nav = re.search(
        r'<nav class="staff-nav".*?</nav>', manager.get("/admin/").get_data(as_text=True), re.S
    ).group(0)
    assert ">Änderungsprotokoll</a>" in nav and "Geplante Aufgaben" not in nav
    mobil = logged_in(app, create_user("leitung-mobil", "manager", ["mobil"]))
    for rule in _manage_rules(app):
        if "GET" not in rule.methods:
            continue
        url = _url(app, rule, "aegi", ids)
        assert admin.get(url).status_code == 200, url
        name = rule.endpoint.removeprefix(MANAGE)
        if name in ADMIN_ONLY:
            continue
        own = mobil if "mobile" in name else manager
        assert own.get(url).status_code == 200, url
