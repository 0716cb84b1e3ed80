"""Turn alerts as services, on SQLite and PostgreSQL: the visitor's choice is checked and stored,
the mail is written once when the position has come down to N (never for a ticket already
called, never twice, also when two runs race), and the address does not outlive its use."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from queue_service import clock
from queue_service.errors import InvalidTransition, NotFound, ValidationFailed
from queue_service.extensions import db
from queue_service.notify import turn_alerts
from queue_service.notify.models import OutboxMail, TurnAlert
from queue_service.scheduler import jobs
from queue_service.tickets import services as q

from ..tickets.conftest import ticket_row


def _alert(token: str) -> TurnAlert | None:
    db.session.rollback()
    ticket = ticket_row(token)
    return db.session.scalar(
        select(TurnAlert)
        .where(TurnAlert.ticket_id == ticket.id)
        .execution_options(populate_existing=True)
    )


def _outbox_rows() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(OutboxMail))


def _queue(count: int) -> list[str]:
    return [q.issue_ticket("aegi", "PA")["token"] for _ in range(count)]


def test_the_choice_is_checked(mails):
    token = _queue(1)[0]
    for bad in ("0", "11", "drei", None):
        with pytest.raises(ValidationFailed) as caught:
            turn_alerts.set_turn_alert(token, bad)
        assert caught.value.field == "ahead"
    with pytest.raises(ValidationFailed) as caught:
        turn_alerts.set_turn_alert(token, 3, "not-an-address", consent=True)
    assert caught.value.field == "email"
    with pytest.raises(ValidationFailed) as caught:
        turn_alerts.set_turn_alert(token, 3, "erika@example.org", consent=False)
    assert caught.value.field == "consent"
    with pytest.raises(NotFound):
        turn_alerts.set_turn_alert("no-such-token", 3)
    assert _alert(token) is None  # nothing stored by a refused request


def test_an_alert_is_stored_per_ticket_and_replaced_when_set_again(mails):
    token = _queue(1)[0]
    view = turn_alerts.set_turn_alert(token, "5", " Erika@Example.org ", consent=True, lang="en")
    assert (view.ahead, view.has_email, view.mailed) == (5, True, False)
    view = turn_alerts.set_turn_alert(token, 2, lang="de")
    assert (view.ahead, view.has_email) == (2, False)
    row = _alert(token)
    assert (row.ahead, row.email, row.lang, row.active) == (2, None, "de", True)
    assert turn_alerts.turn_alert_of(token) == view


def test_no_alert_once_the_ticket_is_called_or_over(mails, clerk):
    token = _queue(1)[0]
    q.call_next("aegi", 1, actor=clerk)
    with pytest.raises(InvalidTransition):
        turn_alerts.set_turn_alert(token, 3)


def test_the_mail_is_written_once_when_the_position_reaches_n(mails, clerk):
    tokens = _queue(5)
    mine = tokens[4]  # four people ahead
    turn_alerts.set_turn_alert(mine, 2, "erika@example.org", consent=True, lang="de")
    assert turn_alerts.send_turn_alert_mails() == 0  # 4 ahead > 2
    q.call_next("aegi", 1, actor=clerk)
    assert turn_alerts.send_turn_alert_mails() == 0  # 3 ahead
    assert mails == []
    q.call_next("aegi", 2, actor=clerk)
    assert turn_alerts.send_turn_alert_mails() == 1  # 2 ahead: now
    assert len(mails) == 1
    message = mails[0]
    assert message["To"] == "erika@example.org"
    number = ticket_row(mine).number
    assert message["Subject"] == (
        f"Sie sind bald dran: noch 2 vor Ihnen, Nummer {number}, Bürgeramt Aegi"
    )
    text = message.get_body(("plain",)).get_content()
    assert f"https://termine.example/t/{mine}" in text
    # once only: further runs and further calls write nothing more
    q.call_next("aegi", 3, actor=clerk)
    assert turn_alerts.send_turn_alert_mails() == 0
    assert jobs.send_turn_alert_mails(clock.now()) == {"written": 0}
    assert len(mails) == 1 and _outbox_rows() == 1
    row = _alert(mine)
    assert row.mailed_at is not None and row.email is None  # the address is gone with the mail
    # setting the alert again does not bring a second mail (nor keeps a new address)
    view = turn_alerts.set_turn_alert(mine, 3, "erika@example.org", consent=True)
    assert (view.mailed, view.has_email) == (True, False)
    assert turn_alerts.send_turn_alert_mails() == 0 and len(mails) == 1


def test_an_english_alert_mails_in_english(mails, clerk):
    token = _queue(2)[1]
    turn_alerts.set_turn_alert(token, 1, "sam@example.org", consent=True, lang="en")
    assert turn_alerts.send_turn_alert_mails() == 1
    number = ticket_row(token).number
    assert mails[0]["Subject"] == (
        f"Your turn is coming soon: 1 ahead of you, number {number}, Bürgeramt Aegi"
    )


def test_no_mail_for_a_ticket_already_called_cancelled_or_without_address(mails, clerk):
    called, cancelled, silent = _queue(3)
    turn_alerts.set_turn_alert(called, 5, "a@example.org", consent=True)
    turn_alerts.set_turn_alert(cancelled, 5, "b@example.org", consent=True)
    turn_alerts.set_turn_alert(silent, 5)  # the page alerts; no address, no mail
    q.call_next("aegi", 1, actor=clerk)  # calls ``called`` before the job runs
    q.cancel_ticket(cancelled)
    assert turn_alerts.send_turn_alert_mails() == 0
    assert mails == [] and _outbox_rows() == 0


def test_a_removed_alert_forgets_the_address_and_sends_nothing(mails):
    token = _queue(1)[0]
    turn_alerts.set_turn_alert(token, 3, "erika@example.org", consent=True)
    turn_alerts.remove_turn_alert(token)
    row = _alert(token)
    assert (row.active, row.email) == (False, None)
    assert turn_alerts.turn_alert_of(token) is None
    assert turn_alerts.send_turn_alert_mails() == 0 and mails == []


def test_addresses_are_purged_after_the_tickets_day(mails, clerk):
    yesterday, today = _queue(2)
    turn_alerts.set_turn_alert(yesterday, 1, "old@example.org", consent=True)
    turn_alerts.set_turn_alert(today, 1, "new@example.org", consent=True)
    ticket = ticket_row(yesterday)
    ticket.business_date -= timedelta(days=1)
    db.session.commit()
    assert jobs.purge_personal_data(clock.now())["turn_alert_addresses"] == 1
    assert _alert(yesterday).email is None
    assert _alert(today).email == "new@example.org"
    # the next night (the clock a day on) the other one goes as well
    clock.freeze(clock.now() + timedelta(days=1))
    assert turn_alerts.purge_turn_alert_addresses(clock.today()) == 1
    assert _alert(today).email is None
    assert turn_alerts.purge_turn_alert_addresses(clock.today()) == 0


def _race(app, runs: int = 2) -> list[int]:
    """``send_turn_alert_mails`` in ``runs`` threads started together, each with its own app
    context, session and connection; the mails each run wrote."""
    barrier = threading.Barrier(runs)
    results: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                results.append(turn_alerts.send_turn_alert_mails())
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a run hung"
    assert not errors, errors
    return results


@pytest.mark.slow
def test_two_runs_at_once_write_each_mail_once(mails, app):
    """Two scheduler runs (two processes, or a run overlapping the next) race over the same
    alerts in real threads with their own connections: every alert is mailed exactly once."""
    app.config["SQLITE_WRITER_LOCK"] = False  # the database alone must keep it once
    tokens = _queue(6)
    for token in tokens:
        turn_alerts.set_turn_alert(token, 10, f"{token[:8].lower()}@example.org", consent=True)
    db.session.remove()
    first = _race(app)
    assert sorted(first)[-1] >= 1 and sum(first) == 6
    for _round in range(2):
        assert _race(app) == [0, 0]
    assert _outbox_rows() == 6
    assert sorted(m["To"] for m in mails) == sorted(f"{t[:8].lower()}@example.org" for t in tokens)
