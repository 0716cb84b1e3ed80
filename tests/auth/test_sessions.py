"""Staff sessions end: logout, password reset, deactivation and role change end every session of
the user (also a copied cookie), and a session expires after inactivity and after a maximum age."""

from __future__ import annotations

from datetime import timedelta

import pytest

from queue_service import clock
from queue_service.management import staff as staff_service

from ..support.html import csrf_from
from .conftest import signed_in


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def replay(app, cookie: str):
    """A different browser presenting a copied session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief


def logout(client):
    token = csrf_from(client.get("/admin/").get_data(as_text=True))
    return client.post("/admin/logout", data={"csrf_token": token})


def test_a_copied_session_cookie_stops_working_after_logout(app, people):
    desk = signed_in(app, people.clerk)
    other_pc = signed_in(app, people.clerk)
    copied = session_cookie(desk)
    assert replay(app, copied).get("/api/v1/me").status_code == 200

    assert logout(desk).status_code == 302
    assert replay(app, copied).get("/api/v1/me").status_code == 401
    # logout ends every session of the user, also the one on another PC
    assert other_pc.get("/api/v1/me").status_code == 401
    page = other_pc.get("/admin/")
    assert page.status_code == 302 and "/admin/login" in page.headers["Location"]
    # signing in again works
    assert signed_in(app, people.clerk)


def test_a_password_reset_ends_every_session_and_says_what_it_did(app, people):
    from queue_service.auth.services import create_api_token

    desk = signed_in(app, people.clerk)
    create_api_token(people.clerk.username, "Terminal")
    admin = signed_in(app, people.admin)
    page = admin.get(f"/admin/manage/staff/{people.clerk.id}")
    reset = admin.post(
        f"/admin/manage/staff/{people.clerk.id}/password",
        data={"csrf_token": csrf_from(page.get_data(as_text=True))},
    )
    assert reset.status_code == 200
    text = reset.get_data(as_text=True)
    assert "Terminal" in text  # the token that stays valid is named, not silently kept
    assert desk.get("/api/v1/me").status_code == 401
    assert admin.get("/api/v1/me").status_code == 200  # the administrator's own session goes on


@pytest.mark.parametrize("change", ["deactivate_and_reactivate", "role"])
def test_deactivation_and_role_change_end_the_sessions(app, people, change):
    desk = signed_in(app, people.clerk)
    if change == "role":
        staff_service.update_staff_account(
            people.clerk.id,
            actor=people.admin,
            role="manager",
            office_slugs=["aegi"],
            display_name="",
        )
    else:
        staff_service.set_staff_active(people.clerk.id, False, actor=people.admin)
        staff_service.set_staff_active(people.clerk.id, True, actor=people.admin)
    assert desk.get("/api/v1/me").status_code == 401


def test_a_display_name_change_keeps_the_session(app, people):
    desk = signed_in(app, people.clerk)
    staff_service.update_staff_account(
        people.clerk.id, actor=people.admin, role="clerk", office_slugs=["aegi"], display_name="Neu"
    )
    assert desk.get("/api/v1/me").status_code == 200


def test_a_staff_session_expires_after_inactivity_but_not_while_in_use(
    app, people, thursday_morning
):
    idle = app.config["STAFF_SESSION_IDLE_MINUTES"]
    desk = signed_in(app, people.clerk)
    for _ in range(3):  # in use: every request within the idle time keeps it alive
        clock.advance(timedelta(minutes=idle - 5))
        assert desk.get("/api/v1/me").status_code == 200
    clock.advance(timedelta(minutes=idle + 1))
    assert desk.get("/api/v1/me").status_code == 401
    page = desk.get("/admin/desk")
    assert page.status_code == 302 and "/admin/login" in page.headers["Location"]


def test_a_staff_session_ends_at_its_maximum_age_even_when_in_use(app, people, thursday_morning):
    desk = signed_in(app, people.clerk)
    steps = app.config["STAFF_SESSION_MAX_HOURS"] * 60 // 60
    for _ in range(steps - 1):
        clock.advance(timedelta(minutes=60))
        assert desk.get("/api/v1/me").status_code == 200
    clock.advance(timedelta(minutes=61))
    assert desk.get("/api/v1/me").status_code == 401


def test_a_session_signed_with_another_key_is_refused_and_a_fallback_key_accepted(app, people):
    """The session cookie's serializer is made once per set of keys (not per request): a new
    secret key still ends the sessions signed with the old one, unless it is a fallback."""
    client = signed_in(app, people.clerk)
    old = app.secret_key
    app.config["SECRET_KEY"] = "another-key-" + str(old)
    assert client.get("/api/v1/me").status_code == 401
    app.config["SECRET_KEY_FALLBACKS"] = [old]
    assert client.get("/api/v1/me").status_code == 200
    app.config["SECRET_KEY_FALLBACKS"] = []
    app.config["SECRET_KEY"] = old
    assert client.get("/api/v1/me").status_code == 200


def test_a_request_without_a_cookie_opens_its_session_in_a_few_python_calls(app):
    """Flask made the cookie's signing serializer on every request, also without a cookie
    (45 Python calls to open an empty session; count_queue.py's kiosk issue)."""
    import cProfile
    import pstats

    from flask import request

    with app.test_request_context("/api/v1/offices"):
        interface = app.session_interface
        interface.open_session(app, request)  # the first one makes the serializer
        profile = cProfile.Profile()
        profile.enable()
        opened = interface.open_session(app, request)
        profile.disable()
    assert opened is not None and not opened
    calls = pstats.Stats(profile).total_calls  # type: ignore[attr-defined]
    assert calls <= 20, calls
