"""The waitlist end to end in headless Chromium on a phone: the resident finds no suitable time,
asks to be notified, confirms from the mail; an appointment elsewhere is cancelled; the offer
mail arrives, the resident accepts it on the offer page and holds the appointment. axe-core finds
nothing on the form and the offer page. Screenshots go to /tmp/waitlist-*.png."""

from __future__ import annotations

import email
import re
import time
from email import policy

import pytest
import requests
from playwright.sync_api import expect

from ..booking.test_booking_concurrency import _prepare
from ..support.axe import axe_violations

SHOTS = "/tmp/waitlist-{}.png"
SLOT = "2026-11-26T08:00:00+01:00"


def _mails(folder, count: int, timeout: float = 15.0) -> list:
    deadline = time.monotonic() + timeout
    while len(list(folder.glob("*.eml"))) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return [
        email.message_from_bytes(p.read_bytes(), policy=policy.default)
        for p in sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime)
    ]


def _link(message, pattern: str) -> str:
    text = message.get_body(("plain",)).get_content()
    return re.search(pattern, text).group(0)


def _book(base_url: str, index: int) -> str:
    with requests.Session() as session:
        token = session.get(f"{base_url}/api/v1/csrf-token", timeout=30).json()["csrf_token"]
        response = session.post(
            f"{base_url}/api/v1/appointments",
            json={
                "office": "linden",
                "services": ["PA"],
                "start": SLOT,
                "name": f"Person {index}",
                "email": f"booked{index}@example.org",
            },
            headers={"X-CSRFToken": token},
            timeout=30,
        )
        assert response.status_code == 201, response.text
        return response.json()["manage_url"].rsplit("/", 1)[-1]


def _cancel(base_url: str, token: str) -> None:
    with requests.Session() as session:
        csrf = session.get(f"{base_url}/api/v1/csrf-token", timeout=30).json()["csrf_token"]
        response = session.post(
            f"{base_url}/api/v1/appointments/{token}/cancel",
            headers={"X-CSRFToken": csrf},
            timeout=30,
        )
        assert response.status_code == 200, response.text


@pytest.mark.browser
@pytest.mark.slow
def test_a_resident_waits_is_offered_a_freed_time_and_takes_it(browser, live_server, tmp_path):
    url = f"sqlite:///{tmp_path / 'waitlist.sqlite3'}"
    _prepare(url)
    mail = tmp_path / "mail"
    server = live_server(
        database_url=url,
        load_demo=False,
        env={
            "CLOCK_START": "2026-11-23T09:00",
            "MAIL_BACKEND": "folder",
            "MAIL_FOLDER": str(mail),
            "BOOKING_DOUBLE_OPT_IN": "true",
            "RATELIMIT_ENABLED": "false",
        },
    )
    # Linden has two parallel appointments at 08:00 on Thursday: both are taken
    booked = [_book(server.base_url, i) for i in range(2)]
    for token in booked:  # double opt-in: the bookings are confirmed from their mails
        with requests.Session() as session:
            csrf = session.get(f"{server.base_url}/api/v1/csrf-token", timeout=30).json()
            session.post(
                f"{server.base_url}/api/v1/appointments/{token}/confirm",
                headers={"X-CSRFToken": csrf["csrf_token"]},
                timeout=30,
            ).raise_for_status()
    sent_before = len(_mails(mail, 4))

    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        locale="de-DE",
        has_touch=True,
        is_mobile=True,
        bypass_csp=True,  # lets axe-core be injected
    )
    page = context.new_page()
    try:
        page.goto(
            server.base_url + "/termin/zeiten?office=linden&day=2026-11-26&services=PA&persons=1"
        )
        page.get_by_role("link", name="Keine passende Zeit? Benachrichtigen Sie mich").click()
        expect(
            page.get_by_role("heading", name="Keine passende Zeit? Wir benachrichtigen Sie")
        ).to_be_visible()
        assert page.get_by_label("Bürgeramt Linden").is_checked()
        page.get_by_label("Von").fill("2026-11-26")
        page.get_by_label("Bis", exact=True).fill("2026-11-26")
        page.get_by_label("Frühester Beginn").select_option("08:00")
        page.get_by_label("Spätester Beginn").select_option("08:00")
        page.get_by_label("Name", exact=True).fill("Wanda Wartend")
        page.get_by_label("E-Mail-Adresse", exact=True).fill("wanda@example.org")
        page.get_by_label(re.compile("^Ich bin einverstanden")).check()
        assert axe_violations(page) == []
        page.screenshot(path=SHOTS.format("1-form"), full_page=True)
        page.get_by_role("button", name="Benachrichtigen Sie mich").click()
        expect(page.get_by_role("heading", name="Fast geschafft: bitte bestätigen")).to_be_visible()
        page.screenshot(path=SHOTS.format("2-pending"), full_page=True)

        confirm = _link(_mails(mail, sent_before + 1)[-1], r"http\S+/bestaetigen")
        page.goto(confirm)
        page.get_by_role("button", name="Ja, beim Terminwecker anmelden").click()
        expect(
            page.get_by_text("Danke: Sie sind jetzt beim Terminwecker angemeldet.")
        ).to_be_visible()
        expect(page.locator(".status")).to_have_text("wartet auf einen freien Termin")

        _cancel(server.base_url, booked[0])  # someone else cancels
        messages = _mails(mail, sent_before + 4)
        offer_mail = next(
            m
            for m in messages
            if m["To"] == "wanda@example.org" and "frei geworden" in m["Subject"]
        )
        assert offer_mail["Subject"] == (
            "Ein Termin ist für Sie frei geworden: Donnerstag, 26. November 2026, 08:00"
        )
        page.goto(_link(offer_mail, r"http\S+/termin/angebot/\S+"))
        expect(page.get_by_role("heading", name="Ein Termin ist für Sie frei")).to_be_visible()
        assert axe_violations(page) == []
        page.screenshot(path=SHOTS.format("3-offer"), full_page=True)
        page.get_by_role("button", name="Ja, diesen Termin buchen").click()

        expect(page.get_by_text("Der Termin gehört Ihnen.")).to_be_visible()
        expect(page.locator(".status")).to_have_text("gebucht")
        expect(page.get_by_text("Donnerstag, 26. November 2026, 08:00")).to_be_visible()
        page.screenshot(path=SHOTS.format("4-booked"), full_page=True)
    finally:
        context.close()
    booked_mail = _mails(mail, sent_before + 5)[-1]
    assert booked_mail["To"] == "wanda@example.org"
    assert booked_mail["Subject"].startswith("Ihr Termin am Donnerstag, 26. November 2026, 08:00")
