"""Mail through a real SMTP server: the confirmation's calendar file and QR code read back by real
readers, the manage link that changes nothing on GET, notices for moves and cancellations."""

from __future__ import annotations

import email
import io
import re
import time
from email import policy

import icalendar
import zxingcpp
from aiosmtpd.controller import Controller
from PIL import Image

from queue_service.booking import services as booking

from ..support.servers import free_port
from .conftest import THURSDAY, at, book


class Inbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd hook name
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 5.0):
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.messages) >= count, f"{len(self.messages)} of {count} mails arrived"
        return self.messages[count - 1]


def _smtp(catalogue_app):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    catalogue_app.config.update(
        MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port
    )
    return inbox, controller


def _calendar(message) -> icalendar.Calendar:
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    return icalendar.Calendar.from_ical(part.get_payload(decode=True))


def _event(cal: icalendar.Calendar):
    return next(c for c in cal.walk() if c.name == "VEVENT")


def test_confirmation_mail_carries_calendar_file_qr_code_documents_and_manage_link(
    bookings, catalogue_app
):
    inbox, controller = _smtp(catalogue_app)
    try:
        view = book("aegi", "RP", at(THURSDAY, 8, 30), email="erika@example.org", lang="de")
        message = inbox.wait_for(1)
        assert message["To"] == "erika@example.org"
        assert (
            message["Subject"]
            == "Ihr Termin am Donnerstag, 26. November 2026, 08:30, Bürgeramt Aegi"
        )
        text = message.get_body(("plain",)).get_content()
        assert view.display_code in text and "Alter Reisepass oder Personalausweis" in text
        # the calendar file, read back by a calendar library
        cal = _calendar(message)
        assert cal["METHOD"] == "PUBLISH"
        assert [c["TZID"] for c in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]
        event = _event(cal)
        start = event.decoded("DTSTART")
        assert (start.isoformat(), str(start.tzinfo)) == (
            "2026-11-26T08:30:00+01:00",
            "Europe/Berlin",
        )
        assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
        assert event.decoded("DTEND").isoformat() == "2026-11-26T08:45:00+01:00"
        assert str(event["SUMMARY"]) == "Bürgeramt Aegi: Reisepass beantragen (auch Express)"
        assert str(event["LOCATION"]) == "Bürgeramt Aegi, Aegidientorplatz 1, 30159 Hannover"
        uid = str(event["UID"])
        # the QR code in the HTML part holds the booking code
        image = next(p for p in message.walk() if p.get_content_type() == "image/png")
        html = message.get_body(("html",)).get_content()
        assert f"cid:{image['Content-ID'].strip('<>')}" in html
        decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.get_payload(decode=True))))
        assert [b.text for b in decoded] == [view.code]
        # a move keeps the calendar UID and raises SEQUENCE; a cancellation cancels that event
        booking.reschedule_appointment(view.token, at(THURSDAY, 9))
        moved = _event(_calendar(inbox.wait_for(2)))
        assert (str(moved["UID"]), moved["SEQUENCE"]) == (uid, 1)
        assert moved.decoded("DTSTART").isoformat() == "2026-11-26T09:00:00+01:00"
        booking.cancel_appointment(view.token)
        cancelled_cal = _calendar(inbox.wait_for(3))
        cancelled = _event(cancelled_cal)
        assert (cancelled_cal["METHOD"], cancelled["STATUS"], str(cancelled["UID"])) == (
            "CANCEL",
            "CANCELLED",
            uid,
        )
        assert cancelled["SEQUENCE"] == 2
    finally:
        controller.stop()


def test_the_manage_link_in_the_mail_changes_nothing_on_get_and_cancels_on_post(
    bookings, catalogue_app
):
    inbox, controller = _smtp(catalogue_app)
    try:
        book("linden", "PA", at(THURSDAY, 8), email="max@example.org", lang="en")
        message = inbox.wait_for(1)
        assert message["Subject"].startswith(
            "Your appointment on Thursday, 26 November 2026, 08:00"
        )
        link = re.search(
            r"https://termine\.example(/termin/verwalten/[A-Za-z0-9_\-]+)",
            message.get_body(("plain",)).get_content(),
        ).group(1)
    finally:
        controller.stop()
    client = catalogue_app.test_client()
    # what a mail scanner does: follow every link with GET
    page = client.get(link)
    assert page.status_code == 200 and "Bürgeramt Linden" in page.get_data(as_text=True)
    for path in (
        link + "/absagen",
        link + "/bestaetigen",
        link + "/verschieben",
        link + "/verschieben/bestaetigen?start=2026-11-26T09:00:00%2B01:00",
    ):
        assert client.get(path).status_code in (200, 302)
    token = link.rsplit("/", 1)[1]
    view = booking.get_appointment(token)
    assert (view.status, view.start) == ("confirmed", at(THURSDAY, 8))
    # the confirmation page is a form that POSTs (with its CSRF token)
    confirm_page = client.get(link + "/absagen").get_data(as_text=True)
    assert '<form method="post">' in confirm_page
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', confirm_page).group(1)
    assert client.post(link + "/absagen").status_code == 400  # no CSRF token: refused
    assert booking.get_appointment(token).status == "confirmed"
    done = client.post(link + "/absagen", data={"csrf_token": csrf})
    assert done.status_code == 302
    assert booking.get_appointment(token).status == "cancelled"


def test_double_opt_in_mail_links_to_a_confirmation_page(bookings, catalogue_app):
    catalogue_app.config["BOOKING_DOUBLE_OPT_IN"] = True
    view = book("linden", "PA", at(THURSDAY, 8))
    message = bookings[-1]
    text = message.get_body(("plain",)).get_content()
    assert f"https://termine.example/termin/verwalten/{view.token}/bestaetigen" in text
    assert not any(p.get_content_type() == "text/calendar" for p in message.walk())
    client = catalogue_app.test_client()
    page = client.get(f"/termin/verwalten/{view.token}/bestaetigen").get_data(as_text=True)
    assert booking.get_appointment(view.token).status == "pending"
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post(f"/termin/verwalten/{view.token}/bestaetigen", data={"csrf_token": csrf})
    assert booking.get_appointment(view.token).status == "confirmed"
    assert bookings[-1]["Subject"].startswith("Ihr Termin am")


def test_folder_backend_writes_eml_files(bookings, catalogue_app, tmp_path):
    catalogue_app.config.update(MAIL_BACKEND="folder", MAIL_FOLDER=str(tmp_path / "mail"))
    book("linden", "PA", at(THURSDAY, 8))
    files = list((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 1
    parsed = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert parsed["Subject"].startswith("Ihr Termin am")
    assert _event(_calendar(parsed)).decoded("DTSTART").isoformat() == "2026-11-26T08:00:00+01:00"


def test_by_default_mail_leaves_from_a_background_sender(bookings, catalogue_app):
    catalogue_app.config["MAIL_ASYNC"] = True
    view = book("linden", "PA", at(THURSDAY, 8))
    deadline = time.monotonic() + 5
    while not bookings and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [m["Subject"] for m in bookings] == [
        "Ihr Termin am Donnerstag, 26. November 2026, 08:00, Bürgeramt Linden"
    ]
    assert view.code in bookings[0].get_body(("plain",)).get_content().replace("-", "")
