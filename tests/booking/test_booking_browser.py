"""The full booking flow in headless Chromium on a phone-sized screen, then cancelling from the
manage page. Screenshots of every step go to /tmp/booking-*.png."""

from __future__ import annotations

import email
import re
import time
from email import policy

import pytest
from playwright.sync_api import expect

from .test_booking_concurrency import _prepare

SHOTS = "/tmp/booking-{}.png"


@pytest.mark.browser
@pytest.mark.slow
def test_a_resident_books_and_cancels_on_a_phone(browser, live_server, tmp_path):
    url = f"sqlite:///{tmp_path / 'browser.sqlite3'}"
    _prepare(url)
    mail = tmp_path / "mail"
    server = live_server(
        database_url=url,
        load_demo=False,
        env={"CLOCK_START": "2026-11-23T09:00", "MAIL_BACKEND": "folder", "MAIL_FOLDER": str(mail)},
    )
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        locale="de-DE",
        device_scale_factor=1,
        has_touch=True,
        is_mobile=True,
    )
    page = context.new_page()
    try:
        page.goto(server.base_url + "/")
        page.get_by_role("link", name="Termin buchen").click()
        page.get_by_label("Reisepass beantragen (auch Express)").check()
        page.screenshot(path=SHOTS.format("1-services"), full_page=True)
        page.get_by_role("button", name="Weiter").click()

        expect(
            page.get_by_role("heading", name="Früheste freie Termine in allen Bürgerämtern")
        ).to_be_visible()
        page.screenshot(path=SHOTS.format("2-office"), full_page=True)
        page.get_by_role("link", name="Tag wählen: Bürgeramt Linden").click()

        page.screenshot(path=SHOTS.format("3-calendar"), full_page=True)
        page.get_by_role("link", name=re.compile(r"^Donnerstag, 26\. November 2026")).click()
        page.screenshot(path=SHOTS.format("4-times"), full_page=True)
        page.get_by_role("button", name="08:00 bis 08:15").click()

        expect(
            page.get_by_text("Wir halten diese Zeit bis 09:10 Uhr für Sie frei.")
        ).to_be_visible()
        page.get_by_role("button", name="Termin verbindlich buchen").click()
        # errors: the summary takes the focus and links to the fields
        expect(page.locator("#error-summary")).to_be_focused()
        page.screenshot(path=SHOTS.format("5-errors"), full_page=True)
        page.get_by_label("Name", exact=True).fill("Erika Mustermann")
        page.get_by_label("E-Mail-Adresse", exact=True).fill("erika@example.org")
        page.get_by_label(re.compile("^Ich bin einverstanden")).check()
        page.screenshot(path=SHOTS.format("5-details"), full_page=True)
        page.get_by_role("button", name="Termin verbindlich buchen").click()

        expect(page.get_by_role("heading", name="Ihr Termin ist gebucht")).to_be_visible()
        code = page.locator(".code").inner_text()
        assert re.fullmatch(r"[A-Z0-9]{3}-[A-Z0-9]{3}", code)
        qr = page.get_by_role("img", name=re.compile("QR-Code zum Einchecken"))
        assert qr.is_visible() and qr.evaluate("img => img.naturalWidth") > 100
        page.screenshot(path=SHOTS.format("6-booked"), full_page=True)

        page.get_by_role("link", name="Termin absagen").click()
        expect(page.get_by_role("heading", name="Diesen Termin absagen?")).to_be_visible()
        page.screenshot(path=SHOTS.format("7-cancel"), full_page=True)
        page.get_by_role("button", name="Ja, Termin absagen").click()
        expect(page.get_by_text("Ihr Termin wurde abgesagt.")).to_be_visible()
        assert page.locator(".status").inner_text() == "abgesagt"
        page.screenshot(path=SHOTS.format("8-cancelled"), full_page=True)
    finally:
        context.close()
    deadline = time.monotonic() + 10  # mail goes out from the server's background sender
    while len(list(mail.glob("*.eml"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    subjects = sorted(
        email.message_from_bytes(p.read_bytes(), policy=policy.default)["Subject"]
        for p in mail.glob("*.eml")
    )
    assert subjects == [
        "Ihr Termin am Donnerstag, 26. November 2026, 08:00, Bürgeramt Linden",
        "Termin abgesagt: Donnerstag, 26. November 2026, 08:00, Bürgeramt Linden",
    ]
