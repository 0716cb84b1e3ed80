"""The turn alert's mail through a real SMTP server (aiosmtpd), read back as a mail reader does:
subject, recipient, both parts, the status link; and the outbox row keeps no address once sent."""

from __future__ import annotations

from sqlalchemy import select

from queue_service.extensions import db
from queue_service.notify import turn_alerts
from queue_service.notify.models import OutboxMail, OutboxStatus
from queue_service.tickets import services as q

from ..booking.test_booking_mail import Inbox
from ..support.servers import free_port
from ..tickets.conftest import ticket_row


def test_the_alert_mail_arrives_through_smtp_with_the_status_link(mails, app, clerk):
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    try:
        first, mine = (q.issue_ticket("aegi", "PA")["token"] for _ in range(2))
        turn_alerts.set_turn_alert(mine, 1, "erika@example.org", consent=True, lang="de")
        q.call_next("aegi", 1, actor=clerk)  # nobody ahead now
        assert turn_alerts.send_turn_alert_mails() == 1
        message = inbox.wait_for(1)
    finally:
        controller.stop()
    number = ticket_row(mine).number
    assert message["To"] == "erika@example.org"
    assert (
        message["Subject"]
        == f"Sie sind bald dran: noch 0 vor Ihnen, Nummer {number}, Bürgeramt Aegi"
    )
    assert message["Auto-Submitted"] == "auto-generated"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert f"Sie sind als Nächstes dran im Bürgeramt Aegi, Nummer {number}." in text
    for body in (text, html):
        assert f"https://termine.example/t/{mine}" in body
        assert first not in body  # no other ticket's token
    db.session.rollback()
    row = db.session.scalar(select(OutboxMail))
    assert (row.kind, row.status, row.message) == ("turn_alert", OutboxStatus.SENT, None)
    assert len(inbox.messages) == 1
