"""The pages residents, clerks and managers meet, in headless Chromium against a real server:
axe-core finds no WCAG 2.1 A/AA violation on any public page, the desk or the statistics; a
resident finds the office page, books, reads the mail, tries a past time, moves and cancels; a
manager closes a day with a reason that residents then read, and reads German statistics.
Screenshots go to /tmp/visit-*.png."""

from __future__ import annotations

import email
import re
import time
from datetime import datetime
from email import policy

import pytest
import requests
from playwright.sync_api import expect

from queue_service import clock, create_app
from queue_service.extensions import db

from .conftest import _test_config
from .support.axe import axe_violations
from .support.servers import start_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BERLIN = clock.LOCAL_TZ
START = "2026-12-03T09:00"  # Thursday: the mobile Bürgeramt is at the Martinshof from 10:00
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
SHOT = "/tmp/visit-{}.png"


def _mails(folder) -> list:
    """The mails the server wrote, oldest first (the file names start with a time stamp)."""
    return [
        email.message_from_bytes(p.read_bytes(), policy=policy.default)
        for p in sorted(folder.glob("*.eml"))
    ]


def _wait_for_mails(folder, to: str, count: int) -> list:
    deadline = time.monotonic() + 15  # mail leaves from the server's background sender
    while time.monotonic() < deadline:
        found = [m for m in _mails(folder) if m["To"] == to]
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{count} mails to {to} expected")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """One server (clock from Thursday 3 December 2026, 09:00) with a clerk and a manager for
    Linden, a kiosk for Aegi, a walk-in ticket, a booking and a hold."""
    workdir = tmp_path_factory.mktemp("visit")
    mail = workdir / "mail"
    server = start_server(
        workdir,
        env={
            "CLOCK_START": START,
            "SCHEDULER_ENABLED": "0",
            "MAIL_BACKEND": "folder",
            "MAIL_FOLDER": str(mail),
            "PUBLIC_BASE_URL": "https://termine.example",
        },
    )
    try:
        from queue_service.auth.services import create_device, create_user
        from queue_service.booking import services as booking

        setup = create_app(_test_config(server.env["DATABASE_URL"], MAIL_BACKEND="memory"))
        with setup.app_context():
            clock.freeze(datetime(2026, 12, 3, 9, 0, tzinfo=BERLIN))
            extra = server.extra
            extra["mail"] = mail
            extra["clerk"] = create_user("sb-linden", "clerk", ["linden"]).password
            extra["manager"] = create_user("leitung-linden", "manager", ["linden"]).password
            extra["kiosk"] = create_device("aegi", "kiosk")
            extra["linden_kiosk"] = create_device("linden", "kiosk")
            monday = datetime(2026, 12, 7, 8, 0, tzinfo=BERLIN)
            extra["booked"] = booking.book_appointment(
                "linden", "PA", 1, monday, "Max Mustermann", "max@example.org", lang="de"
            ).token
            extra["held"] = booking.hold_slot(
                "linden", "PA", 1, datetime(2026, 12, 7, 9, 0, tzinfo=BERLIN)
            ).token
            clock.reset()
            db.session.remove()
            db.engine.dispose()
        for office, device in (("aegi", extra["kiosk"]), ("linden", extra["linden_kiosk"])):
            ticket = requests.post(
                f"{server.base_url}/api/v1/offices/{office}/tickets",
                json={"service": "PA"},
                headers={"X-Device-Token": device},
                timeout=10,
            )
            assert ticket.status_code == 201, ticket.text
            extra[f"{office}_ticket"] = ticket.json()["token"]
        extra["ticket"] = extra["aegi_ticket"]
        for name in ("ticket_ar", "ticket_ar_back"):  # issued at the kiosk in Arabic
            ticket = requests.post(
                f"{server.base_url}/api/v1/offices/aegi/tickets",
                json={"service": "PA", "lang": "ar"},
                headers={"X-Device-Token": extra["kiosk"]},
                timeout=10,
            )
            assert ticket.status_code == 201, ticket.text
            extra[name] = ticket.json()["token"]
        yield server
    finally:
        clock.reset()
        server.stop()


def _log_in(page, base: str, name: str, password: str) -> None:
    page.goto(base + "/admin/login")
    page.fill("#username", name)
    page.fill("#password", password)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/admin/(desk)?$"))


def _check(page, url: str, failures: dict, name: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    found = axe_violations(page)
    if found:
        failures[name] = found
        page.screenshot(path=SHOT.format("axe-" + name), full_page=True)


def test_every_public_page_the_desk_and_the_statistics_have_no_axe_violations(browser, site):
    base, extra = site.base_url, site.extra
    booked, flow = extra["booked"], "services=PA&persons=1"
    public = {
        "start": "/",
        "offices": "/standorte",
        "office": "/standorte/linden",
        "office-en": "/standorte/linden?lang=en",
        "mobile": "/standorte/mobil?lang=de",
        "services": "/termin/",
        "choose-office": f"/termin/ort?{flow}",
        "calendar": f"/termin/kalender?office=linden&{flow}",
        "times": f"/termin/zeiten?office=linden&day=2026-12-07&{flow}",
        "details": f"/termin/daten/{extra['held']}",
        "manage": f"/termin/verwalten/{booked}",
        "cancel": f"/termin/verwalten/{booked}/absagen",
        "move-day": f"/termin/verwalten/{booked}/verschieben",
        "move-time": f"/termin/verwalten/{booked}/verschieben/zeiten?day=2026-12-08",
        "move-confirm": f"/termin/verwalten/{booked}/verschieben/bestaetigen"
        "?start=2026-12-08T08:00:00%2B01:00",
        "ticket": f"/t/{extra['ticket']}",
        "ticket-cancel": f"/t/{extra['ticket']}/cancel",
        "ticket-ar": f"/t/{extra['ticket_ar']}",
        "ticket-ar-cancel": f"/t/{extra['ticket_ar']}/cancel",
        "ticket-tr": f"/t/{extra['ticket_ar']}?lang=tr",
        "ticket-uk": f"/t/{extra['ticket_ar']}?lang=uk",
        "waitlist": f"/termin/warteliste?office=linden&{flow}",
        "display": "/display/aegi?gong=0&speech=0",
        "privacy": "/datenschutz",
        "accessibility": "/barrierefreiheit",
        "imprint": "/impressum",
        "not-found": "/gibt-es-nicht",
        "bad-manage-link": "/termin/verwalten/" + "x" * 43,
        "bad-ticket-link": "/t/unbekannt",
        "bad-day": f"/termin/zeiten?office=linden&day=2026-13-45&{flow}",
        "method-not-allowed": "/termin/halten",
        "login": "/admin/login",
    }
    failures: dict = {}
    context = browser.new_context(viewport=DESKTOP, locale="de-DE")
    context.add_cookies([{"name": "qs_device", "value": extra["kiosk"], "url": base}])
    page = context.new_page()
    try:
        for name, path in public.items():
            _check(page, base + path, failures, name)
        for lang in ("de", "ar"):
            _check(page, f"{base}/kiosk/aegi?lang={lang}", failures, f"kiosk-{lang}")
            expect(page.locator("html")).to_have_attribute("lang", lang)
        # a form whose CSRF token went stale (a page left open for hours): the 400 page
        page.goto(base + public["times"])
        page.evaluate("document.querySelectorAll('[name=csrf_token]').forEach(i => i.value = 'x')")
        page.get_by_role("button", name="10:00 bis 10:15").click()
        expect(
            page.get_by_role("heading", name="Bitte versuchen Sie es noch einmal")
        ).to_be_visible()
        found = axe_violations(page)
        if found:
            failures["csrf"] = found
    finally:
        context.close()
    staff = browser.new_context(viewport=DESKTOP, locale="de-DE")
    page = staff.new_page()
    try:
        _log_in(page, base, "sb-linden", extra["clerk"])
        page.get_by_text("Platz 1", exact=True).click()
        page.get_by_role("button", name="Platz öffnen und loslegen").click()
        call = page.locator("#queue-body [data-call]")
        expect(call).to_have_count(1)
        # the accessible name starts with the visible label (WCAG 2.5.3; axe's rule for it is
        # experimental and does not run by default)
        expect(call).to_have_text(re.compile(r"^Aufrufen"))
        expect(page.get_by_role("button", name=re.compile(r"^Aufrufen P001$"))).to_have_count(1)
        found = axe_violations(page)
        if found:
            failures["desk"] = found
        # on a phone the desk's tables scroll sideways: still reachable by keyboard
        page.set_viewport_size(PHONE)
        expect(page.locator("#services-table").locator("xpath=..")).to_have_attribute(
            "tabindex", "0"
        )
        found = axe_violations(page)
        if found:
            failures["desk-phone"] = found
        _check(page, base + "/admin/manage/", failures, "forbidden")  # a clerk on a manager page
        expect(page.get_by_role("heading", name="Kein Zugriff")).to_be_visible()
    finally:
        staff.close()
    manager = browser.new_context(viewport=DESKTOP, locale="de-DE")
    page = manager.new_page()
    try:
        _log_in(page, base, "leitung-linden", extra["manager"])
        _check(page, base + "/admin/statistics?office=linden", failures, "statistics")
        _check(page, base + "/admin/manage/", failures, "manage-start")
        page.set_viewport_size(PHONE)
        _check(page, base + "/admin/statistics?office=linden", failures, "statistics-phone")
        _check(page, base + "/admin/overview", failures, "overview-phone")
    finally:
        manager.close()
    assert failures == {}


BROKEN_HEADING_WORDS = """() => {
    const cut = [];
    for (const th of document.querySelectorAll('.stats-table thead th')) {
        const text = th.firstChild;
        if (!text || text.nodeType !== Node.TEXT_NODE) continue;
        for (const match of text.data.matchAll(/\\S+/g)) {
            const range = document.createRange();
            range.setStart(text, match.index);
            range.setEnd(text, match.index + match[0].length);
            const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
            if (lines.size > 1 && !/[-\\u00ad]/.test(match[0])) cut.push(match[0]);
        }
    }
    return cut;
}"""
LONG_WORD = "Mustermannhausenbergerhofstetter" * 2  # 64 letters without a break


def test_a_resident_finds_the_office_books_reads_the_mail_moves_and_cancels(browser, site):
    base, folder = site.base_url, site.extra["mail"]
    resident = "erika@example.org"
    context = browser.new_context(viewport=PHONE, locale="de-DE", is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(base + "/")
        expect(page.get_by_text("Heute: Pflege & Wohnen Martinshof, Misburg-Nord")).to_be_visible()
        page.get_by_role(
            "link", name=re.compile(r"^Öffnungszeiten, Leistungen und Anfahrt\W+Bürgeramt Linden$")
        ).click()
        expect(page.get_by_role("heading", name="Bürgeramt Linden", level=1)).to_be_visible()
        expect(
            page.get_by_role("link", name="Auf der Karte zeigen (OpenStreetMap)")
        ).to_have_attribute(
            "href", re.compile(r"^https://www\.openstreetmap\.org/search\?query=Lindener")
        )
        expect(page.get_by_role("table", name="Diese Woche")).to_contain_text(
            "Donnerstag, 3. Dezember (heute)"
        )
        page.screenshot(path=SHOT.format("resident-1-office"), full_page=True)
        page.get_by_role("link", name="Termin buchen").click()
        page.get_by_label("Personalausweis beantragen").check()
        page.get_by_role("button", name="Weiter").click()
        page.get_by_role("link", name="Tag wählen: Bürgeramt Linden").click()
        page.get_by_role("link", name=re.compile(r"^Montag, 7\. Dezember 2026")).click()
        page.get_by_role("button", name="10:00 bis 10:15").click()

        # a pasted name that is too long is not cut silently: the form says why
        name_field = page.get_by_label("Name", exact=True)
        name_field.fill("Erika " + LONG_WORD * 2)
        page.get_by_label("E-Mail-Adresse", exact=True).fill(resident)
        page.get_by_label(re.compile("^Ich bin einverstanden")).check()
        page.get_by_role("button", name="Termin verbindlich buchen").click()
        expect(page.locator("#error-summary")).to_contain_text("2 bis 100 Zeichen")
        assert page.get_by_label("Name", exact=True).input_value() == "Erika " + LONG_WORD * 2
        page.get_by_label("Name", exact=True).fill("Erika " + LONG_WORD)
        page.get_by_label(re.compile("^Ich bin einverstanden")).check()
        page.get_by_role("button", name="Termin verbindlich buchen").click()
        expect(page.get_by_role("heading", name="Ihr Termin ist gebucht")).to_be_visible()
        # the long name wraps inside the phone's width
        name = page.locator("dd", has_text=LONG_WORD)
        expect(name).to_be_visible()
        # measured once the page's style sheets have loaded (CI once measured before booking.css)
        page.wait_for_load_state("load")
        page.wait_for_function(
            "n => n.scrollWidth <= n.clientWidth", arg=name.element_handle(), timeout=5000
        )
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=SHOT.format("resident-2-booked"), full_page=True)
        manage_url = page.url.split("?")[0]

        booked = _wait_for_mails(folder, resident, 1)[0]
        assert (
            booked["Subject"] == "Ihr Termin am Montag, 7. Dezember 2026, 10:00, Bürgeramt Linden"
        )
        text = booked.get_body(("plain",)).get_content()
        assert "https://termine.example/termin/verwalten/" in text

        # a past time typed into the address is refused with a reason, before anything else
        page.goto(manage_url + "/verschieben/bestaetigen?start=2026-12-01T08:00:00%2B01:00")
        expect(page.get_by_text("Diese Zeit ist schon vorbei.")).to_be_visible()
        expect(page.get_by_text("Neue Zeit")).to_have_count(0)
        page.screenshot(path=SHOT.format("resident-3-past"), full_page=True)

        page.goto(manage_url)
        page.get_by_role("link", name="Anderen Termin wählen").click()
        page.get_by_role("link", name=re.compile(r"^Dienstag, 8\. Dezember 2026")).click()
        page.get_by_role("link", name="10:00 bis 10:15").click()
        expect(page.get_by_role("heading", name="Diesen Termin verschieben?")).to_be_visible()
        page.get_by_role("button", name="Ja, Termin verschieben").click()
        expect(page.get_by_text("Ihr Termin wurde verschoben.")).to_be_visible()
        moved = _wait_for_mails(folder, resident, 2)[1]
        assert moved["Subject"] == (
            "Termin verschoben auf Dienstag, 8. Dezember 2026, 10:00, Bürgeramt Linden"
        )

        page.get_by_role("link", name="Termin absagen").click()
        page.get_by_role("button", name="Ja, Termin absagen").click()
        expect(page.get_by_text("Ihr Termin wurde abgesagt.")).to_be_visible()
        page.screenshot(path=SHOT.format("resident-4-cancelled"), full_page=True)
        cancelled = _wait_for_mails(folder, resident, 3)[2]
        text = cancelled.get_body(("plain",)).get_content()
        assert "Ihr Termin wurde abgesagt. Sie müssen nichts weiter tun." in text
        assert "sagen Sie bitte ab" not in text and "/termin/verwalten/" not in text
    finally:
        context.close()


def test_a_manager_closes_a_day_residents_read_why_and_statistics_are_german(browser, site):
    base, extra = site.base_url, site.extra
    manager = browser.new_context(viewport=DESKTOP, locale="de-DE")
    page = manager.new_page()
    try:
        _log_in(page, base, "leitung-linden", extra["manager"])
        page.goto(base + "/admin/manage/offices/linden/closures")
        page.fill("#start", "2026-12-10")
        page.fill("#reason", "Betriebsversammlung")
        page.get_by_role("button", name="Prüfen und schließen").click()
        expect(page.locator("table").first).to_contain_text("Betriebsversammlung")

        page.goto(base + "/admin/statistics?office=linden&from=2026-11-30&to=2026-12-03")
        figures = page.locator(".stats-totals dd").all_inner_texts()
        assert figures and not any(re.search(r"\d\.\d", f) for f in figures), figures
        day_table = page.locator('section[aria-labelledby="table-day"] table')
        expect(day_table).to_contain_text("Do., 03.12.2026")
        axis = page.locator('section[aria-labelledby="table-day"] svg text').all_text_contents()
        assert "03.12." in axis and not any(re.fullmatch(r"\d\d-\d\d", a) for a in axis)
        page.screenshot(path=SHOT.format("manager-statistics"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
        wide = page.evaluate(
            "[...document.querySelectorAll('.table-wrap')].filter((w) => w.scrollWidth > w.clientWidth + 1).length"
        )
        assert wide == 0  # every statistics table fits 1280 px without scrolling
        # ... and no heading is cut inside a word without a hyphen ("Perso nen", "Bedie nt"):
        # a word on two lines breaks at one of its hyphens (soft ones: "Warte-zeit")
        cut = page.evaluate(BROKEN_HEADING_WORDS)
        assert cut == [], cut
    finally:
        manager.close()

    resident = browser.new_context(viewport=PHONE, locale="de-DE", is_mobile=True)
    page = resident.new_page()
    try:
        page.goto(base + "/standorte/linden")
        expect(page.get_by_role("table", name="Nächste Woche")).to_contain_text(
            "Geschlossen: Betriebsversammlung"
        )
        expect(
            page.get_by_text("Donnerstag, 10. Dezember 2026: Betriebsversammlung")
        ).to_be_visible()
        page.goto(base + "/termin/kalender?office=linden&services=PA&persons=1")
        expect(page.get_by_role("heading", name="Schließtage")).to_be_visible()
        expect(
            page.get_by_text("Donnerstag, 10. Dezember 2026: Betriebsversammlung")
        ).to_be_visible()
        page.goto(base + "/termin/zeiten?office=linden&day=2026-12-10&services=PA&persons=1")
        expect(
            page.get_by_text("Das Bürgeramt ist an diesem Tag geschlossen: Betriebsversammlung.")
        ).to_be_visible()
        page.screenshot(path=SHOT.format("resident-closed-day"), full_page=True)
    finally:
        resident.close()


def test_an_arabic_visitor_gives_the_ticket_back_in_arabic_right_to_left(browser, site):
    base, token = site.base_url, site.extra["ticket_ar_back"]
    context = browser.new_context(viewport=PHONE, locale="de-DE", is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(f"{base}/t/{token}")  # the QR code's link: no language in it
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        page.get_by_role("link", name="إلغاء تذكرتي").click()
        # the confirmation speaks the ticket's language, right to left, with the same switch
        expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^هل تريد إلغاء"))
        expect(page.locator("html")).to_have_attribute("lang", "ar")
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        expect(page.get_by_role("link", name="Türkçe")).to_be_visible()
        expect(page.get_by_text("zurückgeben")).to_have_count(0)
        button = page.get_by_role("button", name="نعم، ألغِ تذكرتي")
        box = button.bounding_box()
        assert box["x"] + box["width"] > PHONE["width"] - 40, box  # starts at the right edge
        assert axe_violations(page) == []
        page.screenshot(path=SHOT.format("ticket-ar-cancel"), full_page=True)
        button.click()
        expect(page.get_by_text("تم إلغاء تذكرتك. يمكنك مغادرة قائمة الانتظار.")).to_be_visible()
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        expect(page.locator("[data-role=status]")).to_have_text("ملغاة")
        page.screenshot(path=SHOT.format("ticket-ar-cancelled"), full_page=True)
    finally:
        context.close()
