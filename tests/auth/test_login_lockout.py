"""Per-account lockout on top of the per-address limit: wrong passwords from many addresses pause
the account's sign-in for a while (growing, capped), audited; an administrator can lift it, and a
browser that signed in as that user before is let through."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from queue_service import clock
from queue_service.audit.models import AuditEntry
from queue_service.auth.login import lock_state
from queue_service.extensions import db

from ..conftest import login
from ..support.html import csrf_from


def attempt(app, username, password, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client, login(client, username, password)


def audit_actions(user_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.object_type == "user", AuditEntry.object_id == str(user_id))
            .order_by(AuditEntry.id)
        ).all()
    )


def test_wrong_passwords_from_many_addresses_pause_the_account(app, people, thursday_morning):
    threshold = app.config["LOGIN_LOCKOUT_THRESHOLD"]
    for n in range(threshold):
        _, answer = attempt(app, "sb-aegi", "wrong-password-123", f"10.0.0.{n + 1}")
        assert answer.status_code == 401
    # the right password from a fresh address is refused now: sign-in is paused (the answer is
    # that of a wrong password, see the last test)
    _, paused = attempt(app, "sb-aegi", people.clerk.password, "10.0.1.1")
    assert paused.status_code == 401
    assert lock_state(people.clerk.id).locked_until == clock.now() + timedelta(minutes=1)
    assert "staff.login_locked" in audit_actions(people.clerk.id)

    # time-limited: a minute later the right password works and resets the count
    clock.advance(timedelta(minutes=1, seconds=1))
    _, answer = attempt(app, "sb-aegi", people.clerk.password, "10.0.1.2")
    assert answer.status_code == 302


def test_the_pause_grows_with_each_further_wrong_password_up_to_a_cap(
    app, people, thursday_morning
):
    threshold = app.config["LOGIN_LOCKOUT_THRESHOLD"]
    pauses = []
    for n in range(threshold + 6):
        clock.advance(timedelta(hours=1))  # every pause has ended: each guess is checked
        attempt(app, "sb-aegi", "wrong-password-123", f"10.0.2.{n + 1}")
        until = lock_state(people.clerk.id).locked_until
        pauses.append(round((until - clock.now()).total_seconds() / 60) if until else 0)
    assert pauses == [0] * (threshold - 1) + [1, 2, 4, 8, 15, 15, 15]
    # while paused, even the right password waits; once the pause is over it works
    assert attempt(app, "sb-aegi", people.clerk.password, "10.0.3.2")[1].status_code == 401
    clock.advance(timedelta(minutes=15, seconds=1))
    assert attempt(app, "sb-aegi", people.clerk.password, "10.0.3.3")[1].status_code == 302
    assert lock_state(people.clerk.id).failed_logins == 0


def test_an_administrator_lifts_the_pause_and_it_is_audited(app, people, thursday_morning):
    admin = app.test_client()
    assert login(admin, "admin", people.admin.password).status_code == 302
    for n in range(app.config["LOGIN_LOCKOUT_THRESHOLD"]):
        attempt(app, "sb-aegi", "wrong-password-123", f"10.0.4.{n + 1}")
    listing = admin.get("/admin/manage/staff").get_data(as_text=True)
    assert "sign-in paused" in listing or "Anmeldung pausiert" in listing
    page = admin.get(f"/admin/manage/staff/{people.clerk.id}").get_data(as_text=True)
    assert 'id="login-lock"' in page
    lifted = admin.post(
        f"/admin/manage/staff/{people.clerk.id}/unlock", data={"csrf_token": csrf_from(page)}
    )
    assert lifted.status_code == 302
    assert "staff.login_unlocked" in audit_actions(people.clerk.id)
    assert attempt(app, "sb-aegi", people.clerk.password, "10.0.5.1")[1].status_code == 302


def test_the_clerks_own_browser_is_let_through_a_pause(app, people, thursday_morning):
    counter_pc, answer = attempt(app, "sb-aegi", people.clerk.password, "10.0.6.1")
    assert answer.status_code == 302
    counter_pc.post(
        "/admin/logout",
        data={"csrf_token": csrf_from(counter_pc.get("/admin/").get_data(as_text=True))},
    )
    for n in range(app.config["LOGIN_LOCKOUT_THRESHOLD"]):
        attempt(app, "sb-aegi", "wrong-password-123", f"10.0.7.{n + 1}")
    assert attempt(app, "sb-aegi", people.clerk.password, "10.0.8.1")[1].status_code == 401
    # the counter PC signed in as this clerk before: its sign-in is not paused
    assert login(counter_pc, "sb-aegi", people.clerk.password).status_code == 302


def test_unknown_user_names_and_right_passwords_do_not_pause_anyone(app, people, thursday_morning):
    for n in range(10):
        assert (
            attempt(app, "niemand", "wrong-password-123", f"10.0.9.{n + 1}")[1].status_code == 401
        )
    for n in range(10):
        client, answer = attempt(app, "sb-aegi", people.clerk.password, f"10.0.10.{n + 1}")
        assert answer.status_code == 302


def _flashes(answer) -> list[str]:
    import re

    html = answer.get_data(as_text=True)
    return re.findall(r'<p class="flash flash-(\w+)">([^<]*)</p>', html)


def test_a_paused_account_answers_exactly_as_an_unknown_name(
    app, people, thursday_morning, monkeypatch
):
    """Neither the status, nor the message, nor the work done (one password hash) tells an
    existing, paused account from a name nobody has."""
    from queue_service.auth import login as login_module

    for n in range(app.config["LOGIN_LOCKOUT_THRESHOLD"]):
        attempt(app, "sb-aegi", "wrong-password-123", f"10.0.11.{n + 1}")
        attempt(app, "niemand", "wrong-password-123", f"10.0.12.{n + 1}")
    assert lock_state(people.clerk.id).locked_until is not None  # the account is paused

    hashed: list[str] = []
    real_check = login_module.check_password_hash

    def counting_check(pwhash: str, password: str) -> bool:
        hashed.append(pwhash)
        return real_check(pwhash, password)

    monkeypatch.setattr(login_module, "check_password_hash", counting_check)
    answers = {}
    for n, (name, password) in enumerate(
        [
            ("sb-aegi", people.clerk.password),  # paused: even the right password waits
            ("sb-aegi", "wrong-password-456"),  # paused, wrong password
            ("niemand", "wrong-password-456"),  # unknown name, after as many tries
            ("keiner", "wrong-password-456"),  # unknown name, first try
        ]
    ):
        _, answer = attempt(app, name, password, f"10.0.13.{n + 1}")
        answers[(name, password)] = (answer.status_code, _flashes(answer))
    assert len(set(map(repr, answers.values()))) == 1, answers
    status, flashes = next(iter(answers.values()))
    assert status == 401 and len(flashes) == 1 and flashes[0][0] == "error"
    # the same cost for every name: one password hash per attempt, paused or unknown
    assert len(hashed) == len(answers)
    # the pause still holds, and still ends on its own or by an administrator (tests above)
    assert lock_state(people.clerk.id).locked_until is not None
