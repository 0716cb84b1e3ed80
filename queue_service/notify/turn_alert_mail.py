"""The turn alert's mail: "Sie sind bald dran", with the number, the office and the status link,
in the language of the page the visitor set it on."""

from __future__ import annotations

from email.message import EmailMessage

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from ..links import absolute_url
from ..tickets.models import Ticket
from . import mail


def status_url(token: str) -> str:
    return absolute_url(f"/t/{token}")


def build(ticket: Ticket, people_ahead: int, email: str, lang: str) -> EmailMessage:
    """The mail to ``email``: ``people_ahead`` people are before ``ticket`` now."""
    with force_locale(lang):
        subject = _(
            "Your turn is coming soon: %(n)s ahead of you, number %(number)s, %(office)s",
            n=people_ahead,
            number=ticket.number,
            office=ticket.office.name,
        )
        context = {
            "subject": subject,
            "lang": lang,
            "number": ticket.number,
            "office": ticket.office.name,
            "people_ahead": people_ahead,
            "status_url": status_url(ticket.token),
        }
        env = current_app.jinja_env
        text = env.get_template("mail/turn_alert.txt").render(**context)
        html = env.get_template("mail/turn_alert.html").render(**context)
    return mail.compose(email, subject, text, html)
