"""API tokens have a name, an owner, an optional expiry and a last use; they are listed and
revoked on the staff page and with ``queue-service revoke-token``; only their hash is stored."""

from __future__ import annotations

import os
import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from queue_service import clock
from queue_service.auth.models import ApiToken, Device, hash_token
from queue_service.auth.services import create_device, touch_device_last_seen
from queue_service.auth.tokens import create_api_token, touch_api_token
from queue_service.extensions import db

from ..conftest import THURSDAY_10, login
from ..support.html import csrf_from
from ..support.servers import cli_in_process, demo_sqlite_in_process
from ..support.sql import statements_sent


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_an_expired_token_is_refused_and_last_use_is_recorded(client, people, thursday_morning):
    token = create_api_token("sb-aegi", "Terminal", expires_at=clock.now() + timedelta(days=30))
    row = db.session.scalar(select(ApiToken).where(ApiToken.name == "Terminal"))
    assert token not in (row.token_hash, row.name)  # only a hash is stored
    assert row.last_used_at is None

    clock.advance(timedelta(days=29))
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    db.session.expire_all()
    assert db.session.get(ApiToken, row.id).last_used_at == clock.now()

    clock.advance(timedelta(days=1, seconds=1))
    refused = client.get("/api/v1/me", headers=bearer(token))
    assert refused.status_code == 401
    assert refused.mimetype == "application/problem+json"
    assert "invalid_token" in refused.headers["WWW-Authenticate"]


def test_an_expiry_in_the_past_is_refused(app, people):
    from queue_service.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        create_api_token("sb-aegi", "alt", expires_at=clock.now() - timedelta(minutes=1))


def test_tokens_are_listed_and_revoked_on_the_staff_page(app, people):
    terminal = create_api_token("sb-aegi", "Terminal")
    chatbot = create_api_token("sb-aegi", "Chatbot")
    admin = app.test_client()
    assert login(admin, "admin", people.admin.password).status_code == 302
    page = admin.get(f"/admin/manage/staff/{people.clerk.id}")
    html = page.get_data(as_text=True)
    assert 'id="api-tokens"' in html and "Terminal" in html and "Chatbot" in html
    assert terminal not in html and chatbot not in html

    terminal_id = db.session.scalar(select(ApiToken.id).where(ApiToken.name == "Terminal"))
    revoked = admin.post(
        f"/admin/manage/staff/{people.clerk.id}/tokens/revoke",
        data={"csrf_token": csrf_from(html), "token": terminal_id},
    )
    assert revoked.status_code == 302
    assert app.test_client().get("/api/v1/me", headers=bearer(terminal)).status_code == 401
    assert app.test_client().get("/api/v1/me", headers=bearer(chatbot)).status_code == 200
    html = admin.get(f"/admin/manage/staff/{people.clerk.id}").get_data(as_text=True)
    flashes = re.search(r'<div class="flashes".*?</div>', html, re.S).group(0)
    assert "Terminal" in flashes and "Chatbot" not in flashes  # says what it revoked
    listed = re.search(r'<table class="data" id="api-tokens">.*?</table>', html, re.S).group(0)
    assert "Terminal" not in listed and "Chatbot" in listed


def test_a_password_reset_can_revoke_the_tokens_and_names_them(app, people):
    token = create_api_token("sb-aegi", "Terminal")
    admin = app.test_client()
    assert login(admin, "admin", people.admin.password).status_code == 302
    page = admin.get(f"/admin/manage/staff/{people.clerk.id}").get_data(as_text=True)
    assert 'name="revoke_tokens"' in page
    reset = admin.post(
        f"/admin/manage/staff/{people.clerk.id}/password",
        data={"csrf_token": csrf_from(page), "revoke_tokens": "1"},
    )
    text = reset.get_data(as_text=True)
    assert reset.status_code == 200 and "Terminal" in text
    assert app.test_client().get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_revoke_token_command_revokes_every_token_of_the_user_and_says_which(tmp_path):
    env = dict(os.environ, SECRET_KEY="cli-test", LOG_LEVEL="WARNING")
    env["DATABASE_URL"] = demo_sqlite_in_process(env, tmp_path / "cli.sqlite3")
    created = cli_in_process(["create-user", "anna", "--role", "clerk", "--office", "aegi"], env)
    assert created.returncode == 0
    first = cli_in_process(["create-token", "anna", "--name", "Terminal", "--expires", "90d"], env)
    second = cli_in_process(["create-token", "anna", "--name", "Chatbot"], env)
    assert first.returncode == 0 and second.returncode == 0
    listed = cli_in_process(["list-tokens", "anna"], env).stdout
    assert "Terminal" in listed and "Chatbot" in listed and "never" in listed

    revoked = cli_in_process(["revoke-token", "anna"], env)
    assert revoked.returncode == 0
    assert "Revoked 2 API token(s) of anna: Terminal, Chatbot." in revoked.stdout
    again = cli_in_process(["revoke-token", "anna"], env)
    assert "anna had no API token to revoke." in again.stdout
    assert cli_in_process(["revoke-token", "nobody"], env).returncode == 2

    from queue_service import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"], "SECRET_KEY": "x"})
    client = app.test_client()
    for token in (first.stdout.strip(), second.stdout.strip()):
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_a_token_used_within_the_minute_is_not_read_again_to_record_its_use(
    client, people, thursday_morning
):
    token = create_api_token("sb-aegi", "Terminal")
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200  # records the use
    with statements_sent() as sent:
        clock.advance(timedelta(seconds=30))
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    # the token's lookup is kept by the process (test_bearer_across_processes.py), and its use
    # is not read again nor written
    assert [s for s in sent if "api_tokens" in s] == []
    clock.advance(timedelta(minutes=1))
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    db.session.expire_all()
    row = db.session.scalar(select(ApiToken).where(ApiToken.name == "Terminal"))
    assert row.last_used_at == clock.now()  # a minute later the use is written again


def test_under_compressed_time_a_token_records_its_use_once_a_real_minute(client, people):
    """CLOCK_SPEED (the simulated day): the application's minute passes in a fraction of a second,
    so the once-a-minute write counts real minutes, else every request of one token writes."""
    token = create_api_token("sb-aegi", "Terminal")
    clock.start_at(THURSDAY_10, speed=360)
    try:
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200  # records it
        with statements_sent() as sent:
            clock.advance(timedelta(minutes=30))  # half an hour of the clock, five real seconds
            assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
        writes = [s for s in sent if "api_tokens" in s and s.lstrip().upper().startswith("UPDATE")]
        assert writes == []
        clock.advance(timedelta(hours=6, seconds=1))  # a real minute later it is written again
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
        db.session.expire_all()
        row = db.session.scalar(select(ApiToken).where(ApiToken.name == "Terminal"))
        assert abs(row.last_used_at - clock.now()) < timedelta(minutes=5)
    finally:
        clock.reset()


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_recording_a_use_never_waits_for_another_request_recording_it(app, people):
    """On PostgreSQL every request of one token updated its row and queued behind the others'
    updates (a convoy that held up a whole server in the simulated day): a request that finds
    the row locked by another one recording the use now skips it."""
    create_api_token("sb-aegi", "Terminal")
    device_token = create_device("aegi", "kiosk")
    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.name == "Terminal"))
    device_id = db.session.scalar(
        select(Device.id).where(Device.token_hash == hash_token(device_token))
    )
    db.session.commit()
    for table, row_id, touch in (
        ("api_tokens", token_id, lambda: touch_api_token(token_id, None)),
        ("devices", device_id, lambda: touch_device_last_seen(device_id)),
    ):
        done = threading.Event()

        def record(touch=touch, done=done):
            with app.app_context():
                try:
                    touch()
                finally:
                    db.session.remove()
            done.set()

        with db.engine.connect() as other:  # another request, in the middle of recording it
            other.execute(text(f"SELECT id FROM {table} WHERE id = :id FOR UPDATE"), {"id": row_id})
            worker = threading.Thread(target=record, daemon=True)
            worker.start()
            finished = done.wait(10)
            other.rollback()
        worker.join(10)
        assert finished, table  # before: waited until the other transaction ended
