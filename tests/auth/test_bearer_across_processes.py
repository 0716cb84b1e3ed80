"""A bearer token's authentication is kept per process (auth/tokens.py, under the auth revision):
a revocation, an expiry, a deactivation, a new role or new offices committed by any process, through
a service or behind its back, hold for the very next request of every other one."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from queue_service import clock
from queue_service.auth.tokens import create_api_token, revoke_user_tokens
from queue_service.extensions import db
from queue_service.management.staff import set_staff_active, update_staff_account

from ..support.sql import statements_sent


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _warm(other_app, token: str) -> dict:
    """Two requests in the other process: the second one comes from what it keeps."""
    client = other_app.test_client()
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    me = client.get("/api/v1/me", headers=bearer(token))
    assert me.status_code == 200
    return me.get_json()


def _me(other_app, token: str):
    return other_app.test_client().get("/api/v1/me", headers=bearer(token))


def _in_this_process(sql: str, **params) -> None:
    db.session.execute(text(sql), params)
    db.session.commit()


def test_a_token_revoked_in_one_process_is_refused_by_another_on_its_next_request(
    app, people, other_app
):
    token = create_api_token("sb-aegi", "Terminal")
    _warm(other_app, token)
    revoke_user_tokens("sb-aegi")
    assert _me(other_app, token).status_code == 401


def test_a_token_revoked_behind_the_services_back_is_refused_on_the_next_request(
    app, people, other_app
):
    token = create_api_token("sb-aegi", "Terminal")
    _warm(other_app, token)
    _in_this_process("UPDATE api_tokens SET revoked_at = :now", now=clock.now())
    assert _me(other_app, token).status_code == 401


def test_an_expiry_set_in_one_process_holds_in_another(app, people, other_app):
    token = create_api_token("sb-aegi", "Terminal")
    _warm(other_app, token)
    _in_this_process(
        "UPDATE api_tokens SET expires_at = :past", past=clock.now() - timedelta(seconds=1)
    )
    assert _me(other_app, token).status_code == 401


def test_a_token_expiring_while_kept_is_refused_once_it_expired(app, people, other_app):
    token = create_api_token("sb-aegi", "Terminal", expires_at=clock.now() + timedelta(hours=1))
    _warm(other_app, token)
    clock.advance(timedelta(hours=1, seconds=1))
    try:
        assert _me(other_app, token).status_code == 401
    finally:
        clock.reset()


def test_a_user_deactivated_in_one_process_is_refused_by_another(app, people, other_app):
    token = create_api_token("sb-aegi", "Terminal")
    _warm(other_app, token)
    set_staff_active(people.clerk.id, False, actor=people.admin)
    assert _me(other_app, token).status_code == 401


def test_a_new_role_and_new_offices_hold_in_another_process_at_once(app, people, other_app):
    token = create_api_token("sb-aegi", "Terminal")
    assert _warm(other_app, token) == {
        "username": "sb-aegi",
        "display_name": "sb-aegi",
        "role": "clerk",
        "offices": ["aegi"],
    }
    update_staff_account(
        people.clerk.id,
        actor=people.admin,
        role="manager",
        office_slugs=["aegi", "linden"],
        display_name=None,
    )
    me = _me(other_app, token).get_json()
    assert me["role"] == "manager" and me["offices"] == ["aegi", "linden"]


def test_offices_taken_away_behind_the_services_back_hold_at_once(app, people, other_app):
    token = create_api_token("sb-aegi", "Terminal")
    _warm(other_app, token)
    _in_this_process("DELETE FROM user_offices WHERE user_id = :id", id=people.clerk.id)
    assert _me(other_app, token).get_json()["offices"] == []
    refused = other_app.test_client().get("/api/v1/offices/aegi/counters/1", headers=bearer(token))
    assert refused.status_code == 403


def test_an_office_renamed_shows_in_the_kept_users_offices(app, people, other_app):
    token = create_api_token("sb-aegi", "Terminal")
    _warm(other_app, token)
    _in_this_process("UPDATE offices SET slug = 'aegi-neu' WHERE slug = 'aegi'")
    assert _me(other_app, token).get_json()["offices"] == ["aegi-neu"]


def test_a_known_token_is_authenticated_without_reading_tokens_users_or_offices(
    app, people, client
):
    """Each request read the token with its user, then the user's offices (two statements and
    their ORM work on every API request); the process keeps them under the auth revision, which
    it reads with the catalogue's revision in one statement."""
    token = create_api_token("sb-aegi", "Terminal")
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    with statements_sent() as sent:
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    tables = ("api_tokens", "users", "user_offices", "FROM offices")
    assert [s for s in sent if any(t in s for t in tables)] == []
    assert len([s for s in sent if s.lstrip().upper().startswith("SELECT")]) == 1
