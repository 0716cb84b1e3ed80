"""A bearer header means bearer authentication only: an invalid, expired or revoked token is a
401 with a challenge, never a fall-back to the session cookie, and never a way around CSRF."""

from __future__ import annotations

from datetime import timedelta

import pytest

from queue_service import clock
from queue_service.auth.tokens import create_api_token, revoke_user_tokens

from ..support.html import csrf_from
from .conftest import signed_in


def _bad_tokens(people) -> dict[str, str]:
    revoked = create_api_token("sb-aegi", "alt")
    revoke_user_tokens("sb-aegi")
    expiring = create_api_token("sb-aegi", "kurz", expires_at=clock.now() + timedelta(hours=1))
    clock.freeze(clock.now() + timedelta(minutes=61))
    return {
        "unknown": "Bearer qs_forged",
        "empty": "Bearer ",
        "revoked": f"Bearer {revoked}",
        "expired": f"Bearer {expiring}",
    }


def test_an_invalid_bearer_token_never_falls_back_to_the_session_cookie(app, people):
    desk = signed_in(app, people.clerk)
    for kind, header in _bad_tokens(people).items():
        desk_me = desk.get("/api/v1/me")
        assert desk_me.status_code == 200, kind  # the cookie alone still works
        answer = desk.get("/api/v1/me", headers={"Authorization": header})
        assert answer.status_code == 401, kind
        assert answer.mimetype == "application/problem+json", kind
        assert answer.headers["WWW-Authenticate"].startswith("Bearer"), kind
        assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"], kind


def test_an_invalid_bearer_token_does_not_skip_the_csrf_check_of_a_signed_in_browser(
    app, people, thursday_morning
):
    desk = signed_in(app, people.clerk)
    page = desk.get("/admin/desk")
    assert page.status_code in (200, 302)
    # a cross-site form cannot set headers, but a script on a sibling origin with a forged
    # header must not act with the cookie either: state changes are refused before any effect
    for path in ("/api/v1/offices/aegi/counters/1/open", "/admin/logout"):
        answer = desk.post(path, headers={"Authorization": "Bearer qs_forged"})
        assert answer.status_code == 401, path
    assert desk.get("/api/v1/me").status_code == 200  # the logout above did not happen


def test_a_valid_bearer_token_acts_as_its_owner_even_with_someone_elses_cookie(app, people):
    admin = signed_in(app, people.admin)
    token = create_api_token("sb-aegi", "Terminal")
    me = admin.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.get_json()["username"] == "sb-aegi"


@pytest.mark.parametrize(
    "path", ["/api/v1/offices/aegi/counters/1/open", "/api/v1/offices/aegi/counters/1/call-next"]
)
def test_a_staff_post_without_a_login_is_401_not_a_csrf_error(client, people, path):
    answer = client.post(path, json={"counter": 1})
    assert answer.status_code == 401
    assert answer.mimetype == "application/problem+json"
    assert "WWW-Authenticate" in answer.headers
    assert "CSRF" not in answer.get_data(as_text=True)


def test_a_signed_in_browser_still_needs_the_csrf_token(app, people):
    desk = signed_in(app, people.clerk)
    refused = desk.post("/admin/logout")
    assert refused.status_code == 400
    token = csrf_from(desk.get("/admin/").get_data(as_text=True))
    assert desk.post("/admin/logout", data={"csrf_token": token}).status_code == 302


@pytest.mark.parametrize(
    "cookie",
    [None, ("session", "forged-session-cookie"), ("qs_device", "qs_forged-device-token")],
    ids=["no-credentials", "forged-session-cookie", "forged-device-cookie"],
)
def test_issuing_a_ticket_without_credentials_is_401_not_a_csrf_error(
    client, people, thursday_morning, cookie
):
    """Tickets are issued (and appointments checked in) by staff (bearer or session) or a
    registered kiosk (device token or cookie): a caller with none of them is told so (401)
    before any CSRF check."""
    if cookie is not None:
        client.set_cookie(*cookie)
    for path, body in (
        ("/api/v1/offices/aegi/tickets", {"service": "PA"}),
        ("/api/v1/offices/aegi/check-in", {"code": "ABCD-EFGH"}),
    ):
        answer = client.post(path, json=body)
        assert answer.status_code == 401, path
        assert answer.mimetype == "application/problem+json"
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
        assert "CSRF" not in answer.get_data(as_text=True)


@pytest.mark.parametrize("device_header", ["", "  ", "qs_forged_device"])
def test_a_presented_but_empty_or_unknown_device_token_is_401_even_with_a_valid_bearer(
    client, people, thursday_morning, device_header
):
    """Every credential a request presents must be valid: an empty ``X-Device-Token`` is a
    presented device token too (the stateful Schemathesis run sent one next to the clerk's
    bearer token and got 201)."""
    token = create_api_token("sb-aegi", "rezeption")
    headers = {"Authorization": f"Bearer {token}"}
    assert (
        client.post(
            "/api/v1/offices/aegi/tickets", json={"service": "PA"}, headers=headers
        ).status_code
        == 201
    )
    answer = client.post(
        "/api/v1/offices/aegi/tickets",
        json={"service": "PA"},
        headers={**headers, "X-Device-Token": device_header},
    )
    assert answer.status_code == 401, device_header
    assert answer.mimetype == "application/problem+json"
