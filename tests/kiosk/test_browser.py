"""The kiosk in a real browser against a real server process (``queue-service serve``).

One server for the module (Thursday 26 November 2026, 10:00; check-in screen on). Screenshots go
to /tmp/kiosk-*.png (1080x1920 portrait and 1920x1080) for people to look at.
"""

from __future__ import annotations

import json
import re
from io import BytesIO
from urllib.parse import urlsplit

import pypdfium2 as pdfium
import pytest
import requests
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from ..support.servers import start_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PORTRAIT = {"width": 1080, "height": 1920}
# headless Chromium has no printer, and its print preview crashes the page: record instead what
# the kiosk would print (the frame's document, loaded from the ticket's PDF URL)
RECORD_PRINTS = (
    "window.kioskPrint = f => { window.printed = (window.printed || []).concat([f.src]); };"
)
LANDSCAPE = {"width": 1920, "height": 1080}


class Site:
    """The server, and an app on its database for set-up steps (quicker than the CLI)."""

    def __init__(self, server):
        from queue_service import create_app

        from ..conftest import _test_config

        self.server = server
        self.base = server.base_url
        self.app = create_app(_test_config(server.env["DATABASE_URL"]))

    def run(self, work):
        from queue_service.extensions import db

        with self.app.app_context():
            try:
                return work()
            finally:
                db.session.remove()

    def device(self, slug: str) -> str:
        from queue_service.auth.services import create_device

        return self.run(lambda: create_device(slug, "kiosk"))

    def set_walkin_cap(self, slug: str, cap: int) -> None:
        """Change the catalogue in the server's database, as the management pages would."""
        from queue_service.db import unit_of_work
        from queue_service.offices.services import get_office

        def work():
            with unit_of_work():
                get_office(slug).walkin_daily_cap = cap

        self.run(work)

    def waiting(self, slug: str) -> int:
        return requests.get(f"{self.base}/api/v1/offices/{slug}/status", timeout=10).json()[
            "waiting_total"
        ]

    def close(self) -> None:
        from queue_service.extensions import db

        with self.app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    server = start_server(
        tmp_path_factory.mktemp("kiosk-live"),
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


def kiosk_page(
    browser, site: Site, slug: str, viewport=PORTRAIT, token: str | None = None, clock=False
):
    """A browser holding a kiosk registration cookie for ``slug`` (created with the CLI).

    With ``bypass_csp``: the tests' string predicates (``wait_for_function``) are evaluated,
    which the page's CSP (no eval) refuses; the kiosk itself is checked against its CSP by
    tests/auth/test_csp_browser.py."""
    context = browser.new_context(viewport=viewport, locale="de-DE", bypass_csp=True)
    context.add_init_script(RECORD_PRINTS)
    token = token or site.device(slug)
    context.add_cookies([{"name": "qs_device", "value": token, "url": site.base}])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    if clock:
        page.clock.install()
    page.goto(f"{site.base}/kiosk/{slug}")
    page.wait_for_selector("#kiosk[data-ready='1']")
    return page


def decode_qr(png: bytes) -> list[str]:
    image = Image.open(BytesIO(png))
    return [
        r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode
    ]


def tap_service(page, name: str) -> dict:
    """Tap a service; return the ticket the server answered with (JSON of the issue request)."""
    with page.expect_response(
        lambda r: r.request.method == "POST" and "/tickets" in r.url
    ) as answer:
        page.get_by_role("button", name=re.compile(re.escape(name))).click()
    page.wait_for_selector("#screen-ticket:not([hidden]) #ticket-number")
    return answer.value.json()


def test_a_visitor_picks_english_and_an_identity_card_and_gets_a_ticket_with_a_qr_code(
    browser, site
):
    from queue_service.auth.services import create_api_token, create_user

    password = site.run(lambda: create_user("leitung-aegi", "manager", ["aegi"]).password)
    clerk_token = site.run(lambda: create_api_token("leitung-aegi"))
    context = browser.new_context(viewport=PORTRAIT, locale="de-DE")
    context.add_init_script(RECORD_PRINTS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        # an unregistered browser: staff register it through the link shown
        page.goto(f"{site.base}/kiosk/aegi")
        assert "nicht als Wartemarken-Automat" in page.locator("h1").inner_text()
        page.screenshot(path="/tmp/kiosk-not-registered.png")
        page.get_by_role("link", name="/kiosk/register?office=aegi").click()
        page.fill("#username", "leitung-aegi")
        page.fill("#password", password)
        page.keyboard.press("Enter")
        page.fill("#name", "Kiosk Eingang")
        page.get_by_role("button", name="Diesen Browser registrieren").click()
        page.wait_for_selector("#kiosk[data-ready='1']")
        assert page.url == f"{site.base}/kiosk/aegi"
        page.screenshot(path="/tmp/kiosk-start-portrait.png")

        # every target is at least 64 px in both directions
        for target in page.locator(".kiosk-service, .kiosk-lang, .kiosk-large-toggle").all():
            box = target.bounding_box()
            assert box["width"] >= 64 and box["height"] >= 64, box

        page.get_by_role("link", name="English").click()
        page.wait_for_url("**/kiosk/aegi?lang=en")
        page.wait_for_selector("#kiosk[data-ready='1']")
        assert page.locator("html").get_attribute("lang") == "en"
        with page.expect_request(lambda r: "/pdf" in r.url) as pdf_request:
            ticket = tap_service(page, "Apply for an identity card")
        number = ticket["number"]
        assert page.locator("#ticket-number").inner_text() == number
        assert "Apply for an identity card" in page.locator(".kiosk-ticket-service").inner_text()
        png = page.screenshot(path="/tmp/kiosk-ticket-portrait.png")
        assert decode_qr(png) == [ticket["status_url"]]

        # the frame prints the PDF of this ticket in English on the 80 mm roll
        pdf_url = pdf_request.value.url
        assert urlsplit(pdf_url).path == f"/api/v1/tickets/{ticket['token']}/pdf"
        assert "lang=en" in pdf_url and "paper=80mm" in pdf_url
        page.wait_for_function("window.printed && window.printed.length === 1")
        assert page.evaluate("window.printed") == [pdf_url]
        pdf = requests.get(pdf_url, timeout=10)
        assert pdf.headers["Content-Type"] == "application/pdf"
        text = " ".join(PdfReader(BytesIO(pdf.content)).pages[0].extract_text().split())
        for expected in (number, "Apply for an identity card", "Bürgeramt Aegi", "Your number"):
            assert expected in text
        image = pdfium.PdfDocument(pdf.content)[0].render(scale=203 / 72).to_pil()
        assert [r.text for r in zxingcpp.read_barcodes(image)] == [ticket["status_url"]]

        # the QR code opens the live status page; a clerk calls the number
        status = requests.get(ticket["status_url"], timeout=10)
        assert status.status_code == 200 and number in status.text
        called = requests.post(
            f"{site.base}/api/v1/offices/aegi/counters/3/call",
            json={"token": ticket["token"]},
            headers={"Authorization": f"Bearer {clerk_token}"},
            timeout=10,
        )
        assert called.status_code == 200
        status = requests.get(ticket["status_url"] + "?lang=en", timeout=10)
        assert "Called" in status.text and "Platz 3" in status.text

        # "All done" goes back to the German start page
        page.get_by_role("button", name="All done").click()
        page.wait_for_url(f"{site.base}/kiosk/aegi")
        assert page.locator("html").get_attribute("lang") == "de"
        assert not errors
    finally:
        context.close()


def test_a_double_tap_and_a_lost_answer_still_give_one_ticket(browser, site):
    page = kiosk_page(browser, site, "aegi", LANDSCAPE)
    try:
        page.screenshot(path="/tmp/kiosk-start-landscape.png")
        posts: list[str] = []
        page.on(
            "request",
            lambda r: (
                posts.append(r.headers.get("idempotency-key"))
                if r.method == "POST" and "/tickets" in r.url
                else None
            ),
        )
        before = site.waiting("aegi")
        page.get_by_role("button", name=re.compile("Reisepass beantragen")).dblclick()
        page.wait_for_selector("#screen-ticket:not([hidden]) #ticket-number")
        page.screenshot(path="/tmp/kiosk-ticket-landscape.png")
        assert site.waiting("aegi") == before + 1 and len(posts) == 1

        # the server issues the ticket but the answer never arrives: the retry uses the same key
        page.goto(f"{site.base}/kiosk/aegi")
        lost = {"count": 0}

        def lose_the_first_answer(route):
            lost["count"] += 1
            if lost["count"] == 1:
                route.fetch()
                route.abort("connectionreset")
            else:
                route.continue_()

        page.route("**/api/v1/offices/aegi/tickets", lose_the_first_answer)
        posts.clear()
        before = site.waiting("aegi")
        page.get_by_role("button", name=re.compile("Meldebescheinigung")).click()
        page.wait_for_selector("#screen-ticket:not([hidden]) #ticket-number")
        assert lost["count"] == 2 and len(set(posts)) == 1
        assert site.waiting("aegi") == before + 1
        assert not page.errors
    finally:
        page.context.close()


def test_an_expired_csrf_token_is_renewed_and_the_tap_still_gives_one_ticket(browser, site):
    """A kiosk page left open past its CSRF token's lifetime: the server refuses the first post
    (problem reason "csrf"), the kiosk fetches a new token and sends the same request again."""
    page = kiosk_page(browser, site, "aegi")
    try:
        sent: list[tuple[str, str]] = []

        def expire_the_first_token(route):
            headers = dict(route.request.headers)
            if not sent:
                headers["x-csrftoken"] = "expired-token"
            sent.append((headers["x-csrftoken"], headers["idempotency-key"]))
            route.continue_(headers=headers)

        page.route("**/api/v1/offices/aegi/tickets", expire_the_first_token)
        before = site.waiting("aegi")
        page.get_by_role("button", name=re.compile("Reisepass beantragen")).click()
        page.wait_for_selector("#screen-ticket:not([hidden]) #ticket-number")
        assert len(sent) == 2 and sent[1][0] != "expired-token"
        assert sent[0][1] == sent[1][1]  # the same request: the same idempotency key
        assert site.waiting("aegi") == before + 1
        assert not page.errors
    finally:
        page.context.close()


def test_arabic_is_right_to_left_and_large_print_is_high_contrast(browser, site):
    page = kiosk_page(browser, site, "aegi", LANDSCAPE)
    try:
        page.get_by_role("link", name="العربية").click()
        page.wait_for_url("**lang=ar")
        page.wait_for_selector("#kiosk[data-ready='1']")
        assert page.locator("html").get_attribute("dir") == "rtl"
        # right to left: the office name starts on the right, the first group is the right column
        name = page.locator(".kiosk-office-name").evaluate(
            "e => { const r = document.createRange(); r.selectNodeContents(e); return r.getBoundingClientRect().toJSON(); }"
        )
        assert name["x"] + name["width"] > 1850 and name["x"] > 1400
        group = page.locator("#group-documents").evaluate(
            "e => e.closest('section').getBoundingClientRect().toJSON()"
        )
        assert group["x"] > 1200
        assert page.evaluate("document.documentElement.scrollWidth") == 1920  # nothing sticks out
        page.screenshot(path="/tmp/kiosk-ar-start-landscape.png")
        ticket = tap_service(page, "طلب جواز سفر")
        png = page.screenshot(path="/tmp/kiosk-ar-ticket-landscape.png")
        assert decode_qr(png) == [ticket["status_url"]]
        assert page.locator("#ticket-number").inner_text() == ticket["number"]

        page.goto(f"{site.base}/kiosk/aegi?lang=en&large=1")
        page.set_viewport_size(PORTRAIT)
        colours = page.evaluate(
            "[getComputedStyle(document.body).backgroundColor, "
            "getComputedStyle(document.querySelector('.kiosk-service-name')).color, "
            "getComputedStyle(document.documentElement).fontSize]"
        )
        assert colours == ["rgb(0, 0, 0)", "rgb(255, 221, 0)", "21.6px"]
        page.screenshot(path="/tmp/kiosk-large-portrait.png")
    finally:
        page.context.close()


def test_the_kiosk_returns_to_the_german_start_page_when_left_alone(browser, site):
    page = kiosk_page(browser, site, "aegi", PORTRAIT, clock=True)
    try:
        page.goto(f"{site.base}/kiosk/aegi?lang=tr")
        page.wait_for_selector("#kiosk[data-ready='1']")
        page.clock.fast_forward(30_000)
        page.wait_for_timeout(300)
        assert "lang=tr" in page.url  # 30 s: still the visitor's
        page.clock.fast_forward(16_000)  # 46 s untouched: KIOSK_IDLE_SECONDS is 45
        page.wait_for_url(f"{site.base}/kiosk/aegi")
        page.wait_for_selector("#kiosk[data-ready='1']")
        assert page.locator("html").get_attribute("lang") == "de"

        # the ticket screen resets by itself after KIOSK_TICKET_SECONDS (25)
        tap_service(page, "Beglaubigung")
        page.clock.fast_forward(15_000)
        page.wait_for_timeout(300)
        assert page.locator("#screen-ticket").is_visible()
        page.clock.fast_forward(11_000)
        page.wait_for_function(
            "document.querySelector('#kiosk[data-ready]') && "
            "!document.querySelector('#kiosk').dataset.screen"
        )
        assert page.locator("#screen-start").is_visible()
    finally:
        page.context.close()


def test_closed_office_and_tickets_running_out(browser, site):
    page = kiosk_page(browser, site, "mobil", PORTRAIT)
    try:
        state = page.locator(".kiosk-state").inner_text()
        assert (
            "Heute geschlossen" in state
            and "Nächste Öffnung: Donnerstag, 3. Dezember 2026" in state
        )
        page.screenshot(path="/tmp/kiosk-closed-portrait.png")
    finally:
        page.context.close()

    device = site.device("linden")
    page = kiosk_page(browser, site, "linden", LANDSCAPE, token=device)
    try:
        # while the page is open, the office's cap is lowered and the last ticket goes elsewhere
        site.set_walkin_cap("linden", 1)
        taken = requests.post(
            f"{site.base}/api/v1/offices/linden/tickets",
            json={"service": "AB"},
            headers={"X-Device-Token": device},
            timeout=10,
        )
        assert taken.status_code == 201
        page.get_by_role("button", name=re.compile("Personalausweis beantragen")).click()
        page.wait_for_selector("#screen-message:not([hidden])")
        assert page.locator("#message-title").inner_text() == "Ausgabe beendet"
        # nothing to retry and no other ticket to offer: only the way back
        assert not page.locator("#message-retry").is_visible()
        assert not page.locator("#message-walkin").is_visible()
        page.screenshot(path="/tmp/kiosk-refused-landscape.png")
        page.get_by_role("button", name="Zurück zum Start").click()
        page.wait_for_selector(".kiosk-state-cap_reached")
        assert page.locator("#start-heading").inner_text() == "Ausgabe beendet"
        page.screenshot(path="/tmp/kiosk-cap-reached-landscape.png")
    finally:
        page.context.close()


def test_the_appointment_screen_speaks_the_check_in_contract(browser, site):
    """The check-in API comes with online booking; its answers are simulated here."""
    device = site.device("aegi")
    walkin = requests.post(
        f"{site.base}/api/v1/offices/aegi/tickets",
        json={"service": "EID"},
        headers={"X-Device-Token": device},
        timeout=10,
    ).json()
    answers = [
        (404, {"title": "Not Found", "status": 404, "reason": "unknown"}),
        (
            409,
            {
                "title": "Refused",
                "status": 409,
                "reason": "too_early",
                "opens_at": "2026-11-26T14:30:00+01:00",
            },
        ),
        (409, {"title": "Refused", "status": 409, "reason": "too_late"}),
        (201, walkin),
    ]
    sent: list[dict] = []

    def check_in(route):
        sent.append(json.loads(route.request.post_data))
        status, body = answers[len(sent) - 1]
        route.fulfill(
            status=status,
            json=body,
            content_type="application/problem+json" if status >= 400 else "application/json",
        )

    page = kiosk_page(browser, site, "aegi", PORTRAIT, token=device)
    try:
        page.route("**/api/v1/offices/aegi/check-in", check_in)
        page.get_by_role("button", name="Ich habe einen Termin").click()
        for key in "K7M4PX":
            page.locator(f'[data-key="{key}"]').click()
        page.screenshot(path="/tmp/kiosk-checkin-portrait.png")
        page.get_by_role("button", name="Einchecken").click()
        page.wait_for_selector("#screen-message:not([hidden])")
        assert page.locator("#message-title").inner_text() == "Buchungscode nicht gefunden"
        assert page.get_by_role("button", name="Wartemarke ohne Termin ziehen").is_visible()
        page.get_by_role("button", name="Noch einmal versuchen").click()
        assert page.locator("#checkin-code").input_value() == "K7M4PX"
        page.keyboard.press("Enter")  # what a USB scanner sends after the code
        page.wait_for_selector("#message-title:text('Zu früh zum Einchecken')")
        assert "Donnerstag, 26. November um 14:30" in page.locator("#message-text").inner_text()
        with page.expect_navigation():
            page.get_by_role("button", name="Zurück zum Start").click()
        page.wait_for_selector("#kiosk[data-ready='1']")

        # a scanner on the start page: it types the code and presses Enter
        page.keyboard.type("K7M-4PX")
        page.keyboard.press("Enter")
        page.wait_for_selector("#message-title:text('Zu spät zum Einchecken')")
        page.screenshot(path="/tmp/kiosk-checkin-late-portrait.png")
        with page.expect_navigation():
            page.get_by_role("button", name="Zurück zum Start").click()
        page.wait_for_selector("#kiosk[data-ready='1']")
        page.get_by_role("button", name="Ich habe einen Termin").click()
        page.locator("#checkin-code").fill("K7M4PX")
        page.get_by_role("button", name="Einchecken").click()
        page.wait_for_selector("#screen-ticket:not([hidden]) #ticket-number")
        assert page.locator("#ticket-number").inner_text() == walkin["number"]
        assert [s["code"] for s in sent] == ["K7M4PX", "K7M4PX", "K7M-4PX", "K7M4PX"]
        assert not page.errors
    finally:
        page.context.close()
