"""Durable mail: a booking's mail is written to the outbox in the booking's transaction, sent
after the commit, and, while the SMTP server is down, kept and retried with backoff by the
scheduler's job, so that every mail arrives exactly once when the server is back (a real SMTP
server, aiosmtpd, on both databases)."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from prometheus_client import REGISTRY
from sqlalchemy import delete, func, select

from queue_service import clock
from queue_service.db import unit_of_work
from queue_service.extensions import db
from queue_service.notify import mail, outbox
from queue_service.notify.models import OutboxMail, OutboxStatus
from queue_service.scheduler.runner import run_occurrence

from ..support.servers import free_port
from .conftest import THURSDAY, at, book
from .test_booking_mail import Inbox


@pytest.fixture
def smtp_down(bookings, catalogue_app):
    """SMTP settings pointing at a port where nothing listens (yet); an empty outbox."""
    db.session.execute(delete(OutboxMail))
    db.session.commit()
    port = free_port()
    catalogue_app.config.update(
        MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_TIMEOUT=2
    )
    controllers = []

    def bring_up() -> Inbox:
        inbox = Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        return inbox

    yield bring_up
    for controller in controllers:
        controller.stop()
    db.session.execute(delete(OutboxMail))
    db.session.commit()


def _deliveries(outcome: str) -> float:
    total = 0.0
    for kind in ("booked", "cancelled"):
        total += (
            REGISTRY.get_sample_value(
                "qs_mail_deliveries_total", {"kind": kind, "outcome": outcome}
            )
            or 0.0
        )
    return total


def _rows() -> list[OutboxMail]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)))


def test_an_smtp_outage_delays_mail_but_loses_none_and_sends_each_exactly_once(
    smtp_down, catalogue_app
):
    failed_before, sent_before = _deliveries("failed"), _deliveries("sent")
    views = [book("linden", "PA", at(THURSDAY, 8 + i)) for i in range(4)]
    views.append(book("aegi", "PA", at(THURSDAY, 9)))
    # every booking stands although its mail could not be sent; each mail waits in the outbox
    rows = _rows()
    assert [r.status for r in rows] == [OutboxStatus.PENDING] * 5
    assert all(r.attempts == 1 and "Connection" in r.last_error for r in rows)
    assert _deliveries("failed") - failed_before == 5
    assert outbox.summary()["pending"] == 5

    # the scheduler's job does not hammer the server: nothing is due before the backoff ends
    assert run_occurrence("send_mail_outbox", clock.real_now()) is not None
    assert [r.attempts for r in _rows()] == [1] * 5

    # still down after the first wait: a second failure doubles the next wait
    first_retry = clock.real_now() + timedelta(seconds=31)
    assert outbox.deliver_due(first_retry)["failed"] == 5
    rows = _rows()
    waits = [(r.next_attempt_at - first_retry).total_seconds() for r in rows]
    assert all(55 <= wait <= 65 for wait in waits), waits

    inbox = smtp_down()  # the server is back
    later = first_retry + timedelta(seconds=61)
    results = []

    def sender():
        with catalogue_app.app_context():
            results.append(outbox.deliver_due(later))

    # two senders at once (the job in two processes, or the job and an after-commit send)
    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(r["sent"] for r in results) == 5
    assert outbox.deliver_due(later + timedelta(hours=2))["sent"] == 0

    inbox.wait_for(5)
    assert sorted(m["To"] for m in inbox.messages) == sorted(v.email for v in views)
    assert len({m["Message-ID"] for m in inbox.messages}) == 5
    assert all(m["Subject"].startswith("Ihr Termin am") for m in inbox.messages)
    rows = _rows()
    assert [r.status for r in rows] == [OutboxStatus.SENT] * 5
    assert all(r.message is None for r in rows)  # personal data kept only until sent
    assert _deliveries("sent") - sent_before == 5
    assert outbox.summary()["pending"] == 0


def test_mail_is_sent_after_the_commit_at_once_when_the_server_is_up(smtp_down):
    inbox = smtp_down()
    view = book("linden", "PA", at(THURSDAY, 10))
    message = inbox.wait_for(1)
    assert message["To"] == view.email
    assert [r.status for r in _rows()] == [OutboxStatus.SENT]


def test_a_rolled_back_change_leaves_no_mail(smtp_down, catalogue_app):
    inbox = smtp_down()
    message = mail.compose("someone@example.org", "Test", "text")
    with pytest.raises(RuntimeError, match="rolled back"):
        with unit_of_work():
            outbox.enqueue(message, "booked")
            raise RuntimeError("rolled back")
    assert db.session.scalar(select(func.count()).select_from(OutboxMail)) == 0
    assert outbox.deliver_due(clock.real_now() + timedelta(hours=1))["sent"] == 0
    assert inbox.messages == []
    with pytest.raises(RuntimeError, match="unit of work"):
        outbox.enqueue(message, "booked")  # outside a transaction it would not be durable


def test_a_permanent_refusal_is_not_retried(smtp_down, catalogue_app):
    class Refusing(Inbox):
        async def handle_RCPT(self, server, session, envelope, address, options):
            return "550 5.1.1 no such user"

    inbox = Refusing()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        catalogue_app.config["MAIL_PORT"] = controller.port
        book("linden", "PA", at(THURSDAY, 11))
        rows = _rows()
        assert [r.status for r in rows] == [OutboxStatus.REJECTED]
        assert "550" in rows[0].last_error
        assert outbox.deliver_due(clock.real_now() + timedelta(hours=3))["sent"] == 0
        assert outbox.summary()["rejected"] == 1
    finally:
        controller.stop()


def test_the_jobs_page_shows_mail_waiting_in_the_outbox_and_its_delivery(smtp_down, catalogue_app):
    from queue_service.auth.services import create_user

    from ..conftest import login

    book("linden", "PA", at(THURSDAY, 12))
    admin = create_user(f"admin-outbox-{free_port()}", "admin", [])
    client = catalogue_app.test_client()
    assert login(client, admin.username, admin.password).status_code == 302

    def figures() -> dict:
        page = client.get("/admin/manage/jobs").get_data(as_text=True)
        assert "send_mail_outbox" in page
        return {
            name: re.search(rf'id="outbox-{name}">(\d+)', page).group(1)
            for name in ("pending", "sent", "rejected")
        }

    assert figures() == {"pending": "1", "sent": "0", "rejected": "0"}
    smtp_down()
    assert outbox.deliver_due(clock.real_now() + timedelta(minutes=1))["sent"] == 1
    assert figures() == {"pending": "0", "sent": "1", "rejected": "0"}


def test_the_booking_transaction_writes_a_draft_and_the_mail_is_composed_after_the_commit(
    smtp_down, catalogue_app, monkeypatch
):
    """Templates, QR code and calendar file are not made while the booking holds its locks:
    the transaction writes only the outbox row (a draft), the sender composes it afterwards."""
    from queue_service.booking import mails

    committed_when_built: list[int] = []
    build = mails.build

    def watched_build(*args, **kwargs):
        with db.engine.connect() as other:  # sees only what is committed
            rows = select(func.count()).select_from(OutboxMail)
            committed_when_built.append(other.execute(rows).scalar_one())
        return build(*args, **kwargs)

    monkeypatch.setattr(mails, "build", watched_build)
    inbox = smtp_down()
    view = book("linden", "PA", at(THURSDAY, 10))
    message = inbox.wait_for(1)
    assert committed_when_built == [1]
    assert message["To"] == view.email
    rows = _rows()
    assert [(r.status, r.message, r.draft) for r in rows] == [(OutboxStatus.SENT, None, None)]


def test_a_draft_whose_process_died_before_composing_is_composed_and_sent_by_the_job(
    smtp_down, catalogue_app, monkeypatch
):
    """Durability holds for drafts: the row committed with the booking is all the job needs
    (links on the address the booking was made at, the Message-ID fixed in the transaction)."""
    import json

    from icalendar import Calendar

    monkeypatch.setattr(outbox, "_deliver_soon", lambda *args: None)  # died after the commit
    catalogue_app.config["PUBLIC_BASE_URL"] = "https://termine.example.org"
    view = book("linden", "PA", at(THURSDAY, 11))
    (row,) = _rows()
    assert row.status == OutboxStatus.PENDING and row.message is None
    draft = json.loads(row.draft)
    catalogue_app.config["PUBLIC_BASE_URL"] = "https://elsewhere.example.org"

    inbox = smtp_down()
    # nothing is sent while the dead process's claim holds; after it lapses the job sends it
    assert outbox.deliver_due(clock.real_now())["sent"] == 0
    assert outbox.deliver_due(clock.real_now() + timedelta(minutes=5))["sent"] == 1
    message = inbox.wait_for(1)
    assert message["To"] == view.email
    assert message["Message-ID"].strip() == draft["message_id"]
    text = message.get_body(("plain",)).get_content()
    assert f"https://termine.example.org/termin/verwalten/{view.token}" in text
    calendar = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    event = Calendar.from_ical(calendar.get_payload(decode=True)).walk("VEVENT")[0]
    assert event.decoded("DTSTART") == view.start
    assert [(r.status, r.message, r.draft) for r in _rows()] == [(OutboxStatus.SENT, None, None)]


def test_a_draft_composed_but_not_sent_is_retried_with_the_same_bytes(smtp_down, catalogue_app):
    book("linden", "PA", at(THURSDAY, 9))
    (row,) = _rows()
    assert row.status == OutboxStatus.PENDING and row.draft is None
    stored = row.message
    inbox = smtp_down()
    assert outbox.deliver_due(clock.real_now() + timedelta(minutes=5))["sent"] == 1
    assert bytes(inbox.wait_for(1)["Message-ID"], "ascii") in stored


def test_a_mail_sent_at_the_first_try_is_serialised_only_for_sending(
    smtp_down, catalogue_app, monkeypatch
):
    """Its bytes are kept on the row only when the send fails (for the retries): serialising a
    composed mail costs a third as much as composing it."""
    from email.message import EmailMessage

    serialised: list[str] = []
    as_bytes = EmailMessage.as_bytes

    def counted(self, *args, **kwargs):
        serialised.append(self["Message-ID"])
        return as_bytes(self, *args, **kwargs)

    monkeypatch.setattr(EmailMessage, "as_bytes", counted)
    catalogue_app.config["MAIL_BACKEND"] = "memory"
    book("linden", "PA", at(THURSDAY, 10))
    sent = catalogue_app.extensions["mail_outbox"]
    assert len(sent) == 1 and serialised == []  # the memory backend keeps the message itself
    assert [(r.status, r.message, r.draft) for r in _rows()] == [(OutboxStatus.SENT, None, None)]


def test_a_dead_senders_claim_lapses_after_the_configured_lease(
    smtp_down, catalogue_app, monkeypatch
):
    """MAIL_CLAIM_LEASE_SECONDS: how long another sender leaves a claimed row alone (default three
    SMTP timeouts plus 30 s)."""
    monkeypatch.setattr(outbox, "_deliver_soon", lambda *args: None)  # died after the commit
    book("linden", "PA", at(THURSDAY, 11))
    (row,) = _rows()
    assert row.claimed_until - row.created_at == timedelta(seconds=3 * 2 + 30)

    monkeypatch.setitem(catalogue_app.config, "MAIL_CLAIM_LEASE_SECONDS", 5)
    book("linden", "PA", at(THURSDAY, 12))
    later = _rows()[1]
    assert later.claimed_until - later.created_at == timedelta(seconds=5)
    smtp_down()
    assert outbox.deliver_due(later.created_at + timedelta(seconds=4))["sent"] == 0
    assert outbox.deliver_due(later.created_at + timedelta(seconds=6))["sent"] == 1


# ---------------------------------------------------------------- sent by the scheduler


def _calendar_event(message):
    from icalendar import Calendar

    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    return Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")[0]


@pytest.fixture
def sent_by_scheduler(smtp_down, catalogue_app, monkeypatch):
    """MAIL_SENT_BY "scheduler" (the scaled profile): the server processes only write mails."""
    monkeypatch.setitem(catalogue_app.config, "MAIL_SENT_BY", "scheduler")
    return smtp_down


def test_with_mail_sent_by_the_scheduler_a_booking_only_writes_a_reference_that_the_scheduler_composes_and_sends(
    sent_by_scheduler, catalogue_app, monkeypatch
):
    """The booking's process composes nothing and keeps no claim; the row names the appointment
    (no contact, no manage link); the scheduler's mail sender composes the mail from the
    database and sends it within its poll interval."""
    import json

    from queue_service.booking import mails
    from queue_service.scheduler.runtime import MailSender

    composed: list[str] = []
    build = mails.build
    monkeypatch.setattr(mails, "build", lambda *a, **k: composed.append(a[0]) or build(*a, **k))
    inbox = sent_by_scheduler()
    view = book("linden", "PA", at(THURSDAY, 10))
    (row,) = _rows()
    assert (row.status, row.claimed_until, row.attempts, row.message) == (
        OutboxStatus.PENDING,
        None,
        0,
        None,
    )
    assert composed == [] and inbox.messages == []
    assert view.email not in row.draft and view.token not in row.draft
    assert view.name not in row.draft
    assert json.loads(row.draft)["data"]["public_id"] == view.public_id

    monkeypatch.setitem(catalogue_app.config, "MAIL_SENDER_POLL_SECONDS", 0.05)
    sender = MailSender(catalogue_app).start()
    try:
        message = inbox.wait_for(1)
    finally:
        sender.stop(wait=True)
    db.session.rollback()  # the test's read began before the sender's writes (SQLite snapshot)
    assert composed == ["booked"]
    assert message["To"] == view.email
    assert f"/termin/verwalten/{view.token}" in message.get_body(("plain",)).get_content()
    assert _calendar_event(message).decoded("DTSTART") == view.start
    assert [(r.status, r.message, r.draft) for r in _rows()] == [(OutboxStatus.SENT, None, None)]


def test_a_confirmation_sent_after_a_reschedule_still_shows_the_time_booked_then_the_move_follows(
    sent_by_scheduler, catalogue_app
):
    from queue_service.booking import services as booking

    inbox = sent_by_scheduler()
    view = book("linden", "PA", at(THURSDAY, 10))
    moved = booking.reschedule_appointment(view.token, at(THURSDAY, 11))
    assert [s.value for s in outbox.send_due()] == ["sent", "sent"]
    inbox.wait_for(2)
    booked, rescheduled = inbox.messages
    assert booked["Subject"].startswith("Ihr Termin am")
    assert rescheduled["Subject"].startswith("Termin verschoben")
    first, second = _calendar_event(booked), _calendar_event(rescheduled)
    assert (first.decoded("DTSTART"), first["SEQUENCE"]) == (view.start, 0)
    assert (second.decoded("DTSTART"), second["SEQUENCE"]) == (moved.start, 1)
    assert first["UID"] == second["UID"]


def test_a_confirmation_not_sent_before_the_appointment_was_cancelled_is_superseded_by_the_cancellation(
    sent_by_scheduler, catalogue_app
):
    """A mail telling a time is booked says nothing true once it is cancelled: only the
    cancellation goes out (an SMTP outage made the confirmation wait, the resident cancelled
    from the confirmation page meanwhile)."""
    from queue_service.booking import services as booking

    inbox = sent_by_scheduler()
    view = book("linden", "PA", at(THURSDAY, 10))
    booking.cancel_appointment(view.token)
    assert [s.value for s in outbox.send_due()] == ["superseded", "sent"]
    message = inbox.wait_for(1)
    assert message["Subject"].startswith("Termin abgesagt")
    assert _calendar_event(message)["STATUS"] == "CANCELLED"
    superseded, cancelled = _rows()
    assert (superseded.kind, superseded.status, superseded.draft) == (
        "booked",
        OutboxStatus.SUPERSEDED,
        None,
    )
    assert "cancelled" in superseded.last_error
    assert cancelled.status == OutboxStatus.SENT
    assert outbox.deliver_due(clock.real_now() + timedelta(hours=1))["sent"] == 0
    assert len(inbox.messages) == 1


def test_a_mail_whose_appointment_was_deleted_before_it_went_out_is_not_sent(
    sent_by_scheduler, catalogue_app
):
    from .conftest import wipe_bookings

    inbox = sent_by_scheduler()
    book("linden", "PA", at(THURSDAY, 10))
    wipe_bookings()
    assert outbox.send_due() == [OutboxStatus.SUPERSEDED]
    assert "no longer exists" in _rows()[0].last_error
    assert inbox.messages == []


def test_an_smtp_outage_delays_the_schedulers_mail_but_loses_none(sent_by_scheduler, catalogue_app):
    """The scheduler's first attempt fails: the row keeps the composed bytes and is retried
    with backoff, then sent once."""
    view = book("linden", "PA", at(THURSDAY, 10))
    assert outbox.send_due() == [OutboxStatus.PENDING]
    (row,) = _rows()
    assert row.attempts == 1 and row.draft is None and row.message is not None
    assert outbox.send_due() == []  # not due before its backoff
    inbox = sent_by_scheduler()
    assert outbox.deliver_due(clock.real_now() + timedelta(minutes=1))["sent"] == 1
    assert inbox.wait_for(1)["To"] == view.email
    assert outbox.deliver_due(clock.real_now() + timedelta(hours=1))["sent"] == 0
    assert len(inbox.messages) == 1
