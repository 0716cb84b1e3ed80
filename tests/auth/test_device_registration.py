"""Registering a browser as a kiosk or display: staff only, office scope, CSRF, the device cookie,
revocation and the last-seen heartbeat."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from queue_service import clock
from queue_service.auth import services as auth
from queue_service.auth.models import Device
from queue_service.auth.web import DEVICE_COOKIE, current_device
from queue_service.errors import NotFound, ValidationFailed
from queue_service.extensions import db

from ..conftest import login
from ..support.html import csrf_from


def devices() -> list[Device]:
    db.session.expire_all()
    return list(db.session.scalars(select(Device).order_by(Device.id)))


def register(client, path="/kiosk/register", **data):
    token = csrf_from(client.get(path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def device_cookie(response) -> str:
    (header,) = [
        h for h in response.headers.getlist("Set-Cookie") if h.startswith(DEVICE_COOKIE + "=")
    ]
    return header


def cookie_value(header: str) -> str:
    return header.split(";", 1)[0].split("=", 1)[1]


def test_anonymous_visitors_are_sent_to_the_staff_login(client, catalogue):
    response = client.get("/kiosk/register")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]
    # nobody is signed in, so the answer is the login (not a CSRF error), and nothing happens
    posted = client.post("/display/register", data={"office": "aegi"})
    assert posted.status_code == 302 and "/admin/login" in posted.headers["Location"]
    assert devices() == []


def test_clerks_may_not_register_devices(client, catalogue, make_user):
    clerk = make_user("clerk-aegi", "clerk", ["aegi"])
    login(client, "clerk-aegi", clerk.password)
    assert client.get("/kiosk/register").status_code == 403


def test_manager_registers_a_kiosk_gets_the_cookie_and_is_logged_out(client, catalogue, make_user):
    manager = make_user("manager-aegi", "manager", ["aegi"])
    login(client, "manager-aegi", manager.password)
    page = client.get("/kiosk/register?office=aegi").get_data(as_text=True)
    assert "Bürgeramt Aegi" in page and "Bürgeramt Linden" not in page

    response = register(client, office="aegi", name="Kiosk Eingang", printer="Kiosk_Aegi")
    assert response.status_code == 302 and response.headers["Location"].endswith("/kiosk/aegi")
    header = device_cookie(response)
    lowered = header.lower()
    assert "httponly" in lowered and "samesite=strict" in lowered and "path=/" in lowered
    assert "max-age=" in lowered and "expires=" in lowered
    (device,) = devices()
    assert (device.office.slug, device.kind.value, device.name, device.printer) == (
        "aegi",
        "kiosk",
        "Kiosk Eingang",
        "Kiosk_Aegi",
    )
    assert device.token_hash == auth.hash_token(cookie_value(header))
    # the kiosk is a public device now: the manager's session is gone from this browser
    assert client.get("/admin/").status_code == 302
    assert "Bürgeramt Aegi" in client.get("/kiosk/aegi").get_data(as_text=True)


def test_the_cookie_identifies_the_device_until_it_is_revoked(app, client, catalogue, make_user):
    manager = make_user("manager-aegi", "manager", ["aegi"])
    login(client, "manager-aegi", manager.password)
    token = cookie_value(device_cookie(register(client, office="aegi")))
    (device,) = devices()

    with app.test_request_context("/kiosk/aegi", headers={"Cookie": f"{DEVICE_COOKIE}={token}"}):
        assert current_device().id == device.id
    auth.revoke_device(device.id)
    auth.revoke_device(device.id)  # idempotent
    with app.test_request_context("/kiosk/aegi", headers={"Cookie": f"{DEVICE_COOKIE}={token}"}):
        assert current_device() is None
    with app.test_request_context("/api/v1/x", headers={"X-Device-Token": token}):
        assert current_device() is None
    assert devices()[0].revoked_at is not None


def test_a_manager_of_aegi_cannot_register_a_linden_kiosk(client, catalogue, make_user):
    manager = make_user("manager-aegi", "manager", ["aegi"])
    login(client, "manager-aegi", manager.password)
    response = register(client, office="linden", name="sneaky")
    assert response.status_code == 403
    assert DEVICE_COOKIE not in response.headers.get("Set-Cookie", "")
    assert devices() == []


def test_registration_requires_the_csrf_token(client, catalogue, make_user):
    manager = make_user("manager-aegi", "manager", ["aegi"])
    login(client, "manager-aegi", manager.password)
    response = client.post("/kiosk/register", data={"office": "aegi", "name": "no token"})
    assert response.status_code == 400
    assert devices() == []


def test_admin_registers_a_display_for_any_office(client, catalogue, make_user):
    admin = make_user("admin", "admin", [])
    login(client, "admin", admin.password)
    page = client.get("/display/register").get_data(as_text=True)
    assert "Bürgeramt Linden" in page and "Bürgeramt Aegi" in page
    assert 'name="printer"' not in page  # displays do not print
    response = register(client, "/display/register", office="linden", name="Anzeige Wartebereich")
    assert response.status_code == 302 and response.headers["Location"].endswith("/display/linden")
    (device,) = devices()
    assert (device.office.slug, device.kind.value) == ("linden", "display")
    assert device_cookie(response)


def test_an_invalid_printer_name_is_shown_next_to_the_field(client, catalogue, make_user):
    manager = make_user("manager-aegi", "manager", ["aegi"])
    login(client, "manager-aegi", manager.password)
    response = register(client, office="aegi", name="Kiosk", printer="two words")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="printer-error"' in html and 'aria-invalid="true"' in html
    assert "&#39;two words&#39; ist kein gültiger CUPS-Druckername" in html  # German first
    english = register(client, path="/kiosk/register?lang=en", office="aegi", printer="a/b")
    assert "&#39;a/b&#39; is not a valid CUPS printer name" in english.get_data(as_text=True)
    assert devices() == []


def test_an_unknown_office_is_a_404(client, catalogue, make_user):
    admin = make_user("admin", "admin", [])
    login(client, "admin", admin.password)
    assert register(client, office="atlantis").status_code == 404


def test_a_registered_browser_is_told_so_before_registering_again(client, catalogue, make_user):
    manager = make_user("manager-aegi", "manager", ["aegi"])
    login(client, "manager-aegi", manager.password)
    register(client, office="aegi", name="Kiosk Eingang")
    login(client, "manager-aegi", manager.password)
    assert "Kiosk Eingang" in client.get("/kiosk/register").get_data(as_text=True)


def test_set_device_printer_validates_and_only_kiosks_print(app, catalogue):
    auth.create_device("aegi", "kiosk", "k")
    auth.create_device("aegi", "display", "d")
    kiosk, display = devices()
    auth.set_device_printer(kiosk.id, "Thermo_80")
    assert devices()[0].printer == "Thermo_80"
    auth.set_device_printer(kiosk.id, "")
    assert devices()[0].printer is None
    with pytest.raises(ValidationFailed) as caught:
        auth.set_device_printer(kiosk.id, "-o evil")
    assert caught.value.field == "printer"
    assert str(caught.value).startswith("'-o evil' is not a valid CUPS printer name")  # logs
    with pytest.raises(ValidationFailed):
        auth.set_device_printer(display.id, "Thermo_80")
    with pytest.raises(NotFound):
        auth.set_device_printer(9999, "Thermo_80")


def test_last_seen_is_written_at_most_once_a_minute(app, catalogue, thursday_morning):
    auth.create_device("aegi", "display", "d")
    (device,) = devices()
    assert device.last_seen_at is None
    auth.touch_device_last_seen(device.id)
    first = devices()[0].last_seen_at
    assert first == clock.now()
    clock.advance(timedelta(seconds=30))
    auth.touch_device_last_seen(device.id)
    assert devices()[0].last_seen_at == first
    clock.advance(timedelta(seconds=31))
    auth.touch_device_last_seen(device.id)
    assert devices()[0].last_seen_at == clock.now()
