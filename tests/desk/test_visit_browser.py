"""A clerk's morning as the waiting room sees it: the desk and the display side by side in
headless Chromium against a real server (Thursday 26 November 2026, from 10:00).

An appointment for two persons and two services is checked in at the kiosk; the clerk calls it
(the called card names both services and the persons), then calls walk-ins and sends them away:
no-show, park, transfer. The display, open all the while, must never show a number sent away as
called. The clerk's browser runs in New York time: the desk still shows Hannover's clock, the
application's. Screenshots: /tmp/visit-desk-*.png, /tmp/visit-display-*.png.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import expect

from queue_service import clock, create_app
from queue_service.auth.services import create_device, create_user
from queue_service.extensions import db

from ..conftest import _test_config
from ..support.servers import start_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BERLIN = clock.LOCAL_TZ
MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)
THURSDAY_10 = datetime(2026, 11, 26, 10, 0, tzinfo=BERLIN)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server on Thursday 10:00; a clerk and a kiosk for Linden, and an appointment booked on
    Monday for Thursday 10:00: identity card and registration certificate, two persons."""
    from queue_service.booking import services as booking

    started = start_server(
        tmp_path_factory.mktemp("visit-live"),
        env={"CLOCK_START": "2026-11-26T10:00", "SCHEDULER_ENABLED": "0"},
    )
    try:
        setup = create_app(_test_config(started.env["DATABASE_URL"], MAIL_BACKEND="memory"))
        with setup.app_context():
            started.extra["password"] = create_user("sb-visit", "clerk", ["linden"]).password
            started.extra["kiosk"] = create_device("linden", "kiosk")
            clock.freeze(MONDAY_9)
            try:
                started.extra["code"] = booking.book_appointment(
                    "linden", "PA,MB", 2, THURSDAY_10, "Erika Mustermann", "erika@example.org"
                ).code
            finally:
                clock.reset()
            db.session.remove()
            db.engine.dispose()
        yield started
    finally:
        started.stop()


def _kiosk_post(server, path: str, body: dict) -> requests.Response:
    return requests.post(
        f"{server.base_url}/api/v1/offices/linden/{path}",
        json=body,
        headers={"X-Device-Token": server.extra["kiosk"]},
        timeout=10,
    )


def _calls(display) -> list[tuple[str, str, bool]]:
    """(number, counter, shown as called now) of each line of the display's list of calls."""
    lines = []
    for line in display.locator(".call-list .call").all():
        classes = line.get_attribute("class") or ""
        lines.append(
            (
                line.locator(".number").inner_text(),
                line.locator(".counter").inner_text(),
                "is-past" not in classes,
            )
        )
    return lines


def _expect_calls(display, wanted: list[tuple[str, str, bool]], timeout: float = 6000) -> None:
    display.wait_for_function(
        """wanted => JSON.stringify([...document.querySelectorAll('.call-list .call')].map(li =>
             [li.querySelector('.number').textContent, li.querySelector('.counter').textContent,
              !li.classList.contains('is-past')])) === JSON.stringify(wanted)""",
        arg=[list(w) for w in wanted],
        timeout=timeout,
    )


def _elsewhere() -> str:
    """A time zone whose wall clock is not at 10 o'clock now (the application's clock is set to
    10:00 in Hannover; the desk must show that, not the browser's time): New York, unless it is
    10 there right now (15:00-16:00 UTC in winter), then Tokyo."""
    for zone in ("America/New_York", "Asia/Tokyo"):
        if datetime.now(ZoneInfo(zone)).hour != 10:
            return zone
    raise AssertionError("unreachable: the two zones are 14 hours apart")


def test_no_show_park_and_transfer_leave_the_display_while_the_clerk_works(browser, server):
    display_context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="de-DE")
    display = display_context.new_page()
    desk_context = browser.new_context(
        viewport={"width": 1366, "height": 900}, locale="de-DE", timezone_id=_elsewhere()
    )
    desk = desk_context.new_page()
    problems: list[str] = []
    for page in (display, desk):
        page.on("pageerror", lambda error: problems.append(str(error)))
    notice = desk.locator("#desk-notice")
    try:
        display.goto(server.base_url + "/display/linden?lang=de&gong=0&speech=0&rows=6")
        expect(display.locator(".screen")).to_have_attribute("data-connection", "online")

        # the appointment (PA + MB, two persons) is checked in at the kiosk; walk-ins follow
        checked_in = _kiosk_post(server, "check-in", {"code": server.extra["code"]})
        assert checked_in.status_code == 201, checked_in.text
        assert [s["code"] for s in checked_in.json()["services"]] == ["PA", "MB"]
        walkins = [_kiosk_post(server, "tickets", {"service": "PA"}).json() for _ in range(4)]
        assert [w["number"] for w in walkins] == ["P001", "P002", "P003", "P004"]

        desk.goto(server.base_url + "/admin/login")
        desk.fill("#username", "sb-visit")
        desk.fill("#password", server.extra["password"])
        desk.keyboard.press("Enter")
        desk.wait_for_url("**/admin/desk")
        desk.get_by_text("Platz 1", exact=True).click()
        desk.get_by_role("button", name="Platz öffnen und loslegen").click()
        desk.wait_for_url("**/admin/desk/linden/1")

        # one clock: the application's (Hannover, from 10:00), not the browser's (New York)
        expect(desk.locator("#connection")).to_contain_text(re.compile(r"zuletzt 10:\d\d:\d\d"))
        browser_time = desk.evaluate("new Date().toLocaleTimeString('de-DE')")
        assert not browser_time.startswith("10:")

        # the queue names both services and the persons of the appointment
        row = desk.locator("#queue-body tr", has_text=checked_in.json()["number"])
        expect(row).to_contain_text("Personalausweis beantragen + Meldebescheinigung")
        expect(row).to_contain_text("2 Personen")
        desk.screenshot(path="/tmp/visit-desk-queue.png")

        # the appointment is due: called first; the called card shows the whole visit
        desk.locator("#btn-next").click()
        expect(desk.locator("#cur-number")).to_have_text("T001")
        expect(desk.locator("#cur-service")).to_have_text(
            "Personalausweis beantragen (PA) + Meldebescheinigung (MB) · 2 Personen"
        )
        desk.screenshot(path="/tmp/visit-desk-called.png")
        _expect_calls(display, [("T001", "Platz 1", True)])
        desk.locator("#btn-start").click()
        expect(desk.locator("#cur-status")).to_have_text("in Bearbeitung")
        # the visitors came: still listed, no longer as the current call
        _expect_calls(display, [("T001", "Platz 1", False)])
        desk.locator("#btn-finish").click()
        expect(desk.locator("#current-ticket")).to_be_hidden()

        # P001: called, recalled twice (each recall a call again), then a no-show
        desk.locator("#btn-next").click()
        expect(desk.locator("#cur-number")).to_have_text("P001")
        _expect_calls(display, [("P001", "Platz 1", True), ("T001", "Platz 1", False)])
        desk.locator("#btn-recall").click()
        expect(desk.locator("#cur-recalls")).to_have_text("1")
        desk.locator("#btn-recall").click()
        expect(desk.locator("#cur-recalls")).to_have_text("2")
        first = display.locator(".call-list .call").first
        expect(first).to_have_attribute("data-call-id", re.compile(r"^P001-2-"))
        expect(first).to_have_class(re.compile("is-new"))
        display.screenshot(path="/tmp/visit-display-recalled.png")
        desk.locator("#btn-no-show").click()
        expect(notice).to_contain_text("P001")
        _expect_calls(display, [("T001", "Platz 1", False)])

        # P002: called, then parked (the visitor fetches a document)
        desk.locator("#btn-next").click()
        expect(desk.locator("#cur-number")).to_have_text("P002")
        _expect_calls(display, [("P002", "Platz 1", True), ("T001", "Platz 1", False)])
        desk.locator("#btn-park").click()
        expect(desk.locator("#parked-list li", has_text="P002")).to_be_visible()
        _expect_calls(display, [("T001", "Platz 1", False)])

        # P003: called, then transferred to Platz 2
        desk.locator("#btn-next").click()
        expect(desk.locator("#cur-number")).to_have_text("P003")
        _expect_calls(display, [("P003", "Platz 1", True), ("T001", "Platz 1", False)])
        desk.locator("#btn-transfer").click()
        desk.select_option("#transfer-counter", "2")
        desk.locator("#transfer-submit").click()
        expect(desk.locator("#queue-body tr", has_text="P003")).to_contain_text("Platz 2")
        _expect_calls(display, [("T001", "Platz 1", False)])

        # P004: called and left called: the only large line, P003 nowhere on the screen
        desk.locator("#btn-next").click()
        expect(desk.locator("#cur-number")).to_have_text("P004")
        _expect_calls(display, [("P004", "Platz 1", True), ("T001", "Platz 1", False)])
        tile = display.locator(".counter-tile", has_text="Platz 1")
        assert display.locator(".call .number", has_text="P00").all_inner_texts() == ["P004"]
        display.screenshot(path="/tmp/visit-display-after.png")
        # a reload (a snapshot) shows the same
        display.reload()
        expect(display.locator(".screen")).to_have_attribute("data-connection", "online")
        _expect_calls(display, [("P004", "Platz 1", True), ("T001", "Platz 1", False)])
        assert tile.count() == 0 or "P003" not in tile.inner_text()
    finally:
        display_context.close()
        desk_context.close()
    assert problems == []
