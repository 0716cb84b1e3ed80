"""What each booking mail says, read through a real SMTP server: a cancellation never asks the
resident to cancel, a closure's cancellation names the reason, and the subjects read as written
(no double space where a long subject is folded)."""

from __future__ import annotations

import email
from email import policy
from email.header import decode_header, make_header

import pytest

from queue_service.booking import services as booking
from queue_service.booking.models import Appointment
from queue_service.db import unit_of_work
from queue_service.extensions import db

from .conftest import THURSDAY, at, book
from .test_booking_mail import _smtp

ASK_TO_CANCEL = {
    "de": "sagen Sie bitte ab",
    "en": "please cancel so that someone else",
}


def _texts(message) -> tuple[str, str]:
    return (
        message.get_body(("plain",)).get_content(),
        message.get_body(("html",)).get_content(),
    )


def _raw_subject(message) -> str:
    """The subject as a reader without the standard library's policy decodes it."""
    raw = email.message_from_bytes(message.as_bytes(policy=policy.SMTP))
    return str(make_header(decode_header(raw["Subject"])))


@pytest.mark.parametrize("lang", ["de", "en"])
def test_each_mail_says_what_fits_it_and_cancellations_never_ask_to_cancel(
    bookings, catalogue_app, lang
):
    inbox, controller = _smtp(catalogue_app)
    try:
        own = book("schuetzenplatz", "RP", at(THURSDAY, 8, 30), email="a@example.org", lang=lang)
        closed = book("schuetzenplatz", "PA", at(THURSDAY, 9), email="b@example.org", lang=lang)
        booked = inbox.wait_for(2)
        booking.reschedule_appointment(own.token, at(THURSDAY, 10))
        moved = inbox.wait_for(3)
        booking.cancel_appointment(own.token)
        cancelled = inbox.wait_for(4)
        with unit_of_work():
            booking.cancel_for_closure(closed.id, "Betriebsversammlung", notify=True)
        closure = inbox.wait_for(5)
    finally:
        controller.stop()

    ask = ASK_TO_CANCEL[lang]
    for message in (booked, moved):
        text, html = _texts(message)
        assert ask in text and ask in html
        assert "/termin/verwalten/" in text
    for message in (cancelled, closure):
        text, html = _texts(message)
        assert ask not in text and ask not in html
        assert "/termin/verwalten/" not in text and "/termin/verwalten/" not in html

    own_text, _html = _texts(cancelled)
    closure_text, closure_html = _texts(closure)
    if lang == "de":
        assert "Ihr Termin wurde abgesagt. Sie müssen nichts weiter tun." in own_text
        assert "geschlossen (Betriebsversammlung)" in closure_text
        assert "Neuen Termin buchen" in closure_html
        assert "Die neue Zeit ist:" in _texts(moved)[0]
        expected = (
            "Termin verschoben auf Donnerstag, 26. November 2026, 10:00, Bürgeramt Schützenplatz"
        )
    else:
        assert "your appointment has been cancelled. You do not need to do anything else." in (
            own_text
        )
        assert "closed on the day of your appointment (Betriebsversammlung)" in closure_text
        assert "Book a new appointment" in closure_html
        expected = (
            "Appointment moved to Thursday, 26 November 2026, 10:00 at Bürgeramt Schützenplatz"
        )
    assert "https://termine.example/termin/" in closure_text
    for message in (booked, moved, cancelled, closure):
        assert "  " not in message["Subject"] and "  " not in _raw_subject(message)
    assert moved["Subject"] == expected and _raw_subject(moved) == expected
    assert db.session.get(Appointment, closed.id).status == "cancelled"
