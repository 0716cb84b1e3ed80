"""Walk-ins and a check-in as visitors meet them: kiosk -> paper -> QR code -> phone, in
headless Chromium against a real server (Thursday 26 November 2026 from 10:00, Linden).

- German walk-in: the kiosk, the paper and the phone say the same about the wait.
- Arabic walk-in: the paper is Arabic (read back by PDFium, Chromium's PDF engine), its QR code
  opens the status page in Arabic, right to left.
- Check-in twice of an appointment for two persons and two services: both times the ticket with
  both services and the persons; the second time with a note and printed again.

Screenshots: /tmp/visit-kiosk-*.png, /tmp/visit-phone-*.png, and the printed PDFs as PNG
(/tmp/visit-paper-*.png) for people to look at.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

import pypdfium2 as pdfium
import pytest
import requests
import zxingcpp
from playwright.sync_api import expect

from queue_service import clock

from ..support.servers import start_server
from .test_browser import PORTRAIT, Site, decode_qr, kiosk_page, tap_service

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 390, "height": 844}
MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=clock.LOCAL_TZ)
THURSDAY_1030 = datetime(2026, 11, 26, 10, 30, tzinfo=clock.LOCAL_TZ)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    server = start_server(
        tmp_path_factory.mktemp("kiosk-visit"),
        env={
            "CLOCK_START": "2026-11-26T10:00",
            "SCHEDULER_ENABLED": "0",
            "KIOSK_CHECKIN": "on",
            "PUBLIC_BASE_URL": "",
        },
    )
    site = Site(server)
    yield site
    site.close()
    server.stop()


def paper(pdf: bytes, name: str) -> tuple[str, list[str]]:
    """The PDF's text as PDFium reads it (reading order, joined Arabic forms mapped back to their
    letters), the QR codes on it; a PNG of it goes to /tmp for people to look at."""
    page = pdfium.PdfDocument(pdf)[0]
    text = " ".join(unicodedata.normalize("NFKC", page.get_textpage().get_text_range()).split())
    image = page.render(scale=203 / 72).to_pil()
    image.save(f"/tmp/visit-paper-{name}.png")
    return text, [r.text for r in zxingcpp.read_barcodes(image)]


def printed_pdf(page, count: int) -> bytes:
    """The PDF the kiosk handed to its printer the ``count``-th time."""
    page.wait_for_function(f"window.printed && window.printed.length === {count}")
    url = page.evaluate("window.printed")[count - 1]
    response = requests.get(url, timeout=10)
    assert response.headers["Content-Type"] == "application/pdf"
    return response.content


def phone_page(browser, url: str):
    context = browser.new_context(viewport=PHONE, locale="de-DE", is_mobile=True)
    page = context.new_page()
    page.goto(url)
    return page


def test_a_german_walk_in_reads_the_same_wait_on_kiosk_paper_and_phone(browser, site):
    page = kiosk_page(browser, site, "linden", PORTRAIT)
    phone = None
    try:
        ticket = tap_service(page, "Personalausweis beantragen")
        assert ticket["people_ahead"] == 0 and ticket["estimated_wait_minutes"] <= 1
        expect(page.locator("#ticket-wait")).to_have_text("gleich")
        png = page.screenshot(path="/tmp/visit-kiosk-walkin-de.png")
        assert decode_qr(png) == [ticket["status_url"]]

        text, codes = paper(printed_pdf(page, 1), "walkin-de")
        assert ticket["number"] in text and "Wartezeit gleich" in text and "Min." not in text
        assert codes == [ticket["status_url"]]

        phone = phone_page(browser, codes[0])
        expect(phone.locator("html")).to_have_attribute("lang", "de")
        expect(phone.locator(".ticket-number")).to_have_text(ticket["number"])
        expect(phone.locator("[data-role=estimate]")).to_have_text("gleich")
        expect(phone.locator(".ticket-services li")).to_have_text(["Personalausweis beantragen"])
        phone.screenshot(path="/tmp/visit-phone-walkin-de.png", full_page=True)
        assert not page.errors
    finally:
        page.context.close()
        if phone:
            phone.context.close()


def test_an_arabic_walk_in_gets_an_arabic_paper_and_an_arabic_status_page(browser, site):
    page = kiosk_page(browser, site, "linden", PORTRAIT)
    phone = None
    try:
        page.get_by_role("link", name="العربية").click()
        page.wait_for_url("**/kiosk/linden?lang=ar")
        page.wait_for_selector("#kiosk[data-ready='1']")
        ticket = tap_service(page, "طلب بطاقة هوية شخصية")
        page.screenshot(path="/tmp/visit-kiosk-walkin-ar.png")

        text, codes = paper(printed_pdf(page, 1), "walkin-ar")
        assert ticket["number"] in text
        for phrase in ("رقمك", "طلب بطاقة هوية شخصية", "أمامك", "امسح الرمز"):
            assert phrase in text, (phrase, text)
        assert "Your number" not in text and "Ihre Nummer" not in text
        assert codes == [ticket["status_url"]]

        # the phone opens the QR code's link: Arabic, right to left, with a way to German
        phone = phone_page(browser, codes[0])
        expect(phone.locator("html")).to_have_attribute("dir", "rtl")
        expect(phone.locator("html")).to_have_attribute("lang", "ar")
        expect(phone.locator("h1")).to_contain_text("رقم انتظارك")
        expect(phone.locator(".ticket-services li")).to_have_text(["طلب بطاقة هوية شخصية"])
        expect(phone.locator("[data-role=connection]")).to_have_text(
            "مباشر: تتحدث هذه الصفحة تلقائيًا", timeout=8000
        )
        # right to left: the ticket's facts start at the right edge of the screen
        box = phone.locator(".fact dt").first.bounding_box()
        assert box["x"] + box["width"] > PHONE["width"] - 60, box
        phone.screenshot(path="/tmp/visit-phone-walkin-ar.png", full_page=True)
        phone.get_by_role("link", name="Deutsch").click()
        expect(phone.locator("html")).to_have_attribute("dir", "ltr")
        expect(phone.locator("h1")).to_contain_text("Ihre Wartemarke")
        assert not page.errors
    finally:
        page.context.close()
        if phone:
            phone.context.close()


def test_checking_in_twice_shows_and_prints_the_ticket_with_both_services_again(browser, site):
    from queue_service.booking import services as booking

    def book() -> str:
        clock.freeze(MONDAY_9)
        try:
            return booking.book_appointment(
                "linden", "PA,MB", 2, THURSDAY_1030, "Erika Mustermann", "erika@example.org"
            ).code
        finally:
            clock.reset()

    code = site.run(book)
    page = kiosk_page(browser, site, "linden", PORTRAIT)
    phone = None
    try:
        for attempt in (1, 2):
            page.get_by_role("button", name="Ich habe einen Termin").click()
            page.locator("#checkin-code").fill(code)
            with page.expect_response(lambda r: "/check-in" in r.url) as answer:
                page.get_by_role("button", name="Einchecken").click()
            assert answer.value.status == (201 if attempt == 1 else 200)
            ticket = answer.value.json()
            page.wait_for_selector("#screen-ticket:not([hidden]) #ticket-number")
            expect(page.locator("#ticket-number")).to_have_text(ticket["number"])
            expect(page.locator(".kiosk-ticket-service")).to_have_text(
                ["Personalausweis beantragen", "Meldebescheinigung"]
            )
            expect(page.locator(".kiosk-ticket-persons")).to_have_text("Für 2 Personen")
            again = page.locator("#ticket-again")
            if attempt == 1:
                first = ticket
                expect(again).to_have_count(0)
            else:
                assert ticket["number"] == first["number"] and ticket["already_checked_in"]
                expect(again).to_have_text(
                    "Sie sind schon eingecheckt. Hier ist Ihre Nummer noch einmal."
                )
            page.screenshot(path=f"/tmp/visit-kiosk-checkin-{attempt}.png")
            # printed each time ("Fertig" reloads the kiosk, which starts counting afresh)
            text, codes = paper(printed_pdf(page, 1), f"checkin-{attempt}")
            for words in ("Personalausweis beantragen", "Meldebescheinigung", "für 2 Personen"):
                assert words in text, (words, text)
            assert "Mit Termin" in text and codes == [ticket["status_url"]]
            with page.expect_navigation():
                page.get_by_role("button", name=re.compile("Fertig")).click()
            page.wait_for_selector("#kiosk[data-ready='1']")

        phone = phone_page(browser, first["status_url"])
        expect(phone.locator(".ticket-services li")).to_have_text(
            ["Personalausweis beantragen", "Meldebescheinigung"]
        )
        expect(phone.locator(".ticket-persons")).to_have_text("Für 2 Personen")
        phone.screenshot(path="/tmp/visit-phone-checkin.png", full_page=True)
        assert not page.errors
    finally:
        page.context.close()
        if phone:
            phone.context.close()
