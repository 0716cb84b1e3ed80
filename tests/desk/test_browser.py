"""The clerk desk in a real browser (headless Chromium), tried as a new clerk would.

A clerk logs in, picks Aegi Platz 1, and works through three walk-ins issued by a kiosk through
the API, with the mouse and the keyboard. Screenshots (1366x768) go to /tmp/desk-*.png; axe-core
checks the WCAG 2.1 A/AA rules it can check on the desk, the transfer dialog and the choice.

The server has no /staff Socket.IO handler on this branch: the first test blocks Socket.IO
altogether (the polling path), the second replaces the Socket.IO client by a stand-in that
follows the /staff contract (join_office with an ack, then queue_updated).
"""

from __future__ import annotations

import re
import time

import pytest
import requests
from playwright.sync_api import expect

from queue_service import create_app
from queue_service.auth.services import create_device, create_user
from queue_service.extensions import db

from ..conftest import _test_config
from ..support.axe import axe_violations
from ..support.servers import start_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOT = {"width": 1366, "height": 768}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One real server for both tests: a clerk and a kiosk each for Aegi and Linden.

    The accounts and kiosks are made in this process on the server's database (a CLI command
    per account would cost seconds each on a busy machine).
    """
    started = start_server(
        tmp_path_factory.mktemp("desk-live"),
        env={"CLOCK_START": "2026-11-26T10:00", "SCHEDULER_ENABLED": "0"},
    )
    try:
        setup = create_app(_test_config(started.env["DATABASE_URL"]))
        with setup.app_context():
            started.extra["passwords"] = {
                name: create_user(name, "clerk", [office]).password
                for name, office in (("sb-aegi", "aegi"), ("sb-linden", "linden"))
            }
            started.extra["kiosks"] = {
                office: create_device(office, "kiosk") for office in ("aegi", "linden")
            }
            db.session.remove()
            db.engine.dispose()
        yield started
    finally:
        started.stop()


def _clerk(server, name: str) -> str:
    return server.extra["passwords"][name]


def _issue(server, office: str, code: str) -> dict:
    response = requests.post(
        f"{server.base_url}/api/v1/offices/{office}/tickets",
        json={"service": code},
        headers={"X-Device-Token": server.extra["kiosks"][office]},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()


def _public(server, ticket: dict) -> dict:
    return requests.get(f"{server.base_url}/api/v1/tickets/{ticket['token']}", timeout=10).json()


def _login_and_open(page, server, name: str, password: str, counter_label: str) -> None:
    page.goto(server.base_url + "/admin/login")
    page.fill("#username", name)
    page.fill("#password", password)
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/desk")
    page.get_by_text(counter_label, exact=True).click()
    page.get_by_role("button", name="Platz öffnen und loslegen").click()


def _queue_rows(page) -> list[tuple[str, str, str]]:
    """(number, ahead, estimate) of each row of the waiting list, in call order."""
    rows = []
    for row in page.locator("#queue-body tr[data-token]").all():
        cells = row.locator("th, td").all_inner_texts()
        rows.append((cells[0].strip(), cells[3].strip(), cells[4].strip()))
    return rows


def _estimates_match_the_api(page, server, tickets: list[dict]) -> None:
    """What the desk shows equals the public status of each ticket (retried across a refresh)."""
    deadline = time.monotonic() + 8
    while True:
        wanted = []
        for ticket in tickets:
            status = _public(server, ticket)
            minutes = status["estimated_wait_minutes"]
            wanted.append(
                (
                    status["number"],
                    str(status["people_ahead"]),
                    "gleich" if minutes <= 1 else f"ca. {minutes} Min.",
                )
            )
        if _queue_rows(page) == wanted or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert _queue_rows(page) == wanted


def test_a_new_clerk_works_through_three_walk_ins_with_mouse_and_keyboard(browser, server):
    password = _clerk(server, "sb-aegi")
    page = browser.new_page(viewport=SHOT, locale="de-DE")
    page.route("**/socket.io/**", lambda route: route.abort())  # no live socket: the desk polls
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    notice, current, error = (
        page.locator("#desk-notice"),
        page.locator("#current-ticket"),
        page.locator("#desk-error"),
    )
    try:
        _login_and_open(page, server, "sb-aegi", password, "Platz 1")
        page.wait_for_url("**/admin/desk/aegi/1")
        expect(page.locator("#current-empty-text")).to_have_text("Für Platz 1 wartet niemand.")
        expect(page.locator("#counter-state")).to_have_text("geöffnet")
        expect(page.locator("#connection")).to_contain_text("Aktualisierung alle 5 s")
        page.screenshot(path="/tmp/desk-empty.png")

        # a kiosk issues three walk-ins; the desk picks them up by itself (polling every 5 s)
        p1, r1, p2 = (
            _issue(server, "aegi", "PA"),
            _issue(server, "aegi", "RP"),
            _issue(server, "aegi", "PA"),
        )
        assert [p1["number"], r1["number"], p2["number"]] == ["P001", "R001", "P002"]
        expect(page.locator("#queue-body tr[data-token]")).to_have_count(3, timeout=8000)
        # one open counter, 15 minutes per service: 0, 15 and 30 minutes
        assert _queue_rows(page) == [
            ("P001", "0", "gleich"),  # the kiosk's, the paper's and the phone's word
            ("R001", "1", "ca. 15 Min."),
            ("P002", "2", "ca. 30 Min."),
        ]
        _estimates_match_the_api(page, server, [p1, r1, p2])
        expect(page.locator("#waiting-for-me")).to_have_text("3 warten auf diesen Platz")
        page.screenshot(path="/tmp/desk-waiting.png")
        assert axe_violations(page) == []

        # mouse: call the next number
        page.get_by_role("button", name="Nächste Nummer aufrufen").click()
        expect(page.locator("#cur-number")).to_have_text("P001")
        expect(page.locator("#cur-status")).to_have_text("aufgerufen")
        expect(page.locator("#cur-kind")).to_have_text("ohne Termin")
        expect(page.locator("#cur-service")).to_have_text("Personalausweis beantragen (PA)")
        expect(notice).to_have_text("P001 zu Platz 1 aufgerufen.")
        expect(page.locator("#btn-start")).to_be_focused()
        assert (
            _public(server, p1)["status"] == "called"
            and _public(server, p1)["counter"]["number"] == 1
        )
        _estimates_match_the_api(page, server, [r1, p2])

        # keyboard: recall twice; only then may the clerk mark a no-show
        no_show = page.get_by_role("button", name="Nicht erschienen")
        expect(no_show).to_be_disabled()
        expect(page.locator("#no-show-hint")).to_have_text(
            "Möglich nach 2 Wiederholungen (bisher 0)."
        )
        page.keyboard.press("r")
        expect(page.locator("#cur-recalls")).to_have_text("1")
        page.keyboard.press("r")
        expect(page.locator("#cur-recalls")).to_have_text("2")
        expect(notice).to_have_text("P001 erneut aufgerufen (2. Wiederholung).")
        expect(no_show).to_be_enabled()
        page.screenshot(path="/tmp/desk-called.png")
        assert axe_violations(page) == []
        no_show.click()
        expect(notice).to_have_text("P001 als nicht erschienen markiert.")
        expect(current).to_be_hidden()
        assert _public(server, p1)["status"] == "no_show"

        # keyboard: next and start; calling again while serving is refused with a clear message
        page.keyboard.press("n")
        expect(page.locator("#cur-number")).to_have_text("R001")
        page.keyboard.press("s")
        expect(page.locator("#cur-status")).to_have_text("in Bearbeitung")
        expect(page.locator("#btn-finish")).to_be_focused()
        page.keyboard.press("n")
        expect(error).to_have_text(
            "Platz 1 hat noch R001. Bitte erst abschließen, parken, weiterleiten "
            "oder als nicht erschienen markieren."
        )
        assert _public(server, r1)["status"] == "serving"
        page.screenshot(path="/tmp/desk-busy.png")

        # typing in a field never triggers a shortcut
        page.locator("#call-number").fill("")
        page.locator("#call-number").press("n")
        page.locator("#call-number").press("f")
        expect(page.locator("#call-number")).to_have_value("nf")
        expect(page.locator("#cur-status")).to_have_text("in Bearbeitung")
        page.locator("#call-number").fill("")

        # mouse: transfer R001 to Platz 2, at the front of the queue
        page.get_by_role("button", name="Weiterleiten …").click()
        dialog = page.get_by_role("dialog", name="Weiterleiten R001")
        expect(dialog).to_be_visible()
        expect(page.locator("#transfer-service")).to_be_focused()
        page.select_option("#transfer-counter", "2")
        page.get_by_label("Ganz vorn einreihen").check()
        page.screenshot(path="/tmp/desk-transfer.png")
        assert axe_violations(page) == []
        dialog.get_by_role("button", name="Weiterleiten", exact=True).click()
        expect(dialog).to_be_hidden()
        expect(notice).to_have_text("R001 an Platz 2 weitergeleitet (vorn).")
        expect(error).to_be_empty()
        expect(page.locator("#queue-body tr", has_text="R001")).to_contain_text("für Platz 2")
        assert _public(server, r1)["status"] == "waiting"

        # keyboard: next is P002 (R001 waits for Platz 2); park it, then put it back (mouse)
        page.keyboard.press("n")
        expect(page.locator("#cur-number")).to_have_text("P002")
        page.keyboard.press("p")
        expect(notice).to_have_text("P002 geparkt.")
        expect(page.locator("#parked-list li", has_text="P002")).to_be_visible()
        page.screenshot(path="/tmp/desk-parked.png")
        page.get_by_role("button", name="Zurück in die Warteschlange P002").click()
        expect(notice).to_have_text("P002 wartet wieder, ganz vorn.")
        expect(page.locator("#parked-list")).to_have_text("Keine geparkten Nummern.")
        assert _public(server, p2)["status"] == "waiting"

        # single-key shortcuts can be switched off (WCAG 2.1.4) and on again
        page.get_by_label("Tastenkürzel mit einer Taste an").uncheck()
        page.keyboard.press("n")
        page.wait_for_timeout(300)
        expect(current).to_be_hidden()
        page.get_by_label("Tastenkürzel mit einer Taste an").check()

        # keyboard: call it again, start (pressed at once: the desk runs it after the call), and
        # finish with the service actually performed
        page.keyboard.press("n")
        page.keyboard.press("s")
        expect(current).to_be_visible()
        expect(page.locator("#cur-number")).to_have_text("P002")
        expect(page.locator("#cur-status")).to_have_text("in Bearbeitung")
        expect(page.locator("#performed")).to_have_value("PA")
        page.select_option("#performed", "RP")
        page.keyboard.press("f")  # the focus is in the select: no shortcut
        expect(page.locator("#cur-status")).to_have_text("in Bearbeitung")
        page.locator("#btn-finish").focus()
        page.keyboard.press("f")
        expect(notice).to_have_text(
            "P002 abgeschlossen (Reisepass beantragen (auch Express) (RP))."
        )
        assert _public(server, p2)["status"] == "done"

        # nobody is waiting for Platz 1 any more: the desk says so
        page.keyboard.press("n")
        expect(notice).to_contain_text("Für Platz 1 wartet niemand.")
        expect(page.locator("#current-empty-text")).to_have_text("Für Platz 1 wartet niemand.")
        expect(page.locator("#btn-next")).to_be_focused()
        page.screenshot(path="/tmp/desk-nobody.png")
        assert page.locator("#desk-log li").count() <= 15

        # a break, then leaving: the counter pauses, closes, and the choice is remembered
        page.get_by_role("button", name="Pause").click()
        expect(page.locator("#counter-state")).to_have_text("pausiert")
        expect(page.get_by_role("button", name="Platz öffnen", exact=True)).to_be_visible()
        page.get_by_role("button", name="Platz schließen und gehen").click()
        page.wait_for_url("**/admin/desk")
        expect(page.locator("#counter-1")).to_be_checked()
        expect(page.locator("#counter-1-state")).to_have_text("frei")
        page.screenshot(path="/tmp/desk-choose.png")
        assert axe_violations(page) == []
    finally:
        page.close()
    assert problems == []


FAKE_SOCKET_IO = """
window.__fake = { handlers: {}, emitted: [], namespace: null };
window.io = function (namespace) {
  const fake = window.__fake;
  fake.namespace = namespace;
  const socket = {
    active: true,
    on(event, callback) { (fake.handlers[event] = fake.handlers[event] || []).push(callback); return socket; },
    timeout() {
      return { emit(event, data, ack) { fake.emitted.push([event, data]); setTimeout(() => ack(null, { ok: true }), 10); } };
    },
    connect() {},
  };
  fake.fire = (event, data) => (fake.handlers[event] || []).forEach((callback) => callback(data));
  setTimeout(() => fake.fire("connect"), 50);
  return socket;
};
"""


def test_the_desk_follows_the_staff_socket_falls_back_to_polling_and_says_when_offline(
    browser, server
):
    password = _clerk(server, "sb-linden")
    page = browser.new_page(viewport=SHOT, locale="de-DE")
    page.route(
        "**/vendor/socket.io/socket.io.min.js",
        lambda route: route.fulfill(body=FAKE_SOCKET_IO, content_type="application/javascript"),
    )
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    rows = page.locator("#queue-body tr[data-token]")
    try:
        _login_and_open(page, server, "sb-linden", password, "Platz 3")
        page.wait_for_url("**/admin/desk/linden/3")
        expect(page.locator("#connection")).to_contain_text("Live-Aktualisierung")
        assert page.evaluate("window.__fake.namespace") == "/staff"
        assert page.evaluate("window.__fake.emitted") == [["join_office", {"office": "linden"}]]

        # live: a queue_updated for this office refreshes at once (the safety poll is 30 s away)
        _issue(server, "linden", "PA")
        page.evaluate("window.__fake.fire('queue_updated', {office: 'linden'})")
        expect(rows).to_have_count(1, timeout=2000)

        # redrawing the same queue again and again adds nothing to the page
        nodes = page.evaluate("document.getElementsByTagName('*').length")
        for _ in range(20):
            page.evaluate("window.__fake.fire('queue_updated', {office: 'linden'})")
            page.wait_for_timeout(200)
        assert page.evaluate("document.getElementsByTagName('*').length") == nodes

        # the socket drops: the desk says so and polls again every 5 s
        page.evaluate("window.__fake.fire('disconnect')")
        expect(page.locator("#connection")).to_contain_text("Aktualisierung alle 5 s")
        _issue(server, "linden", "RP")
        expect(rows).to_have_count(2, timeout=8000)
        assert re.fullmatch(r"P001 R001", " ".join(r[0] for r in _queue_rows(page)))

        # the server cannot be reached: the desk says so (once) and recovers by itself
        page.route("**/api/v1/offices/linden/queue", lambda route: route.abort())
        expect(page.locator("#connection")).to_contain_text(
            "Keine Verbindung zum Server", timeout=8000
        )
        expect(page.locator("#desk-notice")).to_have_text(
            "Keine Verbindung zum Server. Neuer Versuch läuft …"
        )
        page.unroute("**/api/v1/offices/linden/queue")
        expect(page.locator("#desk-notice")).to_have_text(
            "Wieder mit dem Server verbunden.", timeout=8000
        )
        expect(page.locator("#connection")).not_to_contain_text("Keine Verbindung")
    finally:
        page.close()
    assert problems == []


def test_an_expired_csrf_token_is_renewed_once_else_the_clerk_is_told_to_reload(browser, server):
    """The desk left open past its CSRF token's lifetime: a refused call (problem reason "csrf")
    fetches a new token and is sent again; refused again, the desk says to reload the page and
    nobody was called. (The module's other tests may leave Linden tickets waiting: the test
    follows the desk's own list.)"""
    password = _clerk(server, "sb-linden")
    page = browser.new_page(viewport=SHOT, locale="de-DE")
    page.route("**/socket.io/**", lambda route: route.abort())
    try:
        _login_and_open(page, server, "sb-linden", password, "Platz 1")
        page.wait_for_url("**/admin/desk/linden/1")
        expect(page.locator("#counter-state")).to_have_text("geöffnet")
        if page.locator("#current-ticket").is_visible():  # left by another test: finish it first
            page.locator("#btn-finish").click()
            expect(page.locator("#current-ticket")).to_be_hidden()
        mine = [_issue(server, "linden", "PA"), _issue(server, "linden", "PA")]
        expect(page.locator(f"#queue-body tr[data-token='{mine[1]['token']}']")).to_have_count(
            1, timeout=8000
        )
        head = _queue_rows(page)[0][0]
        sent: list[str] = []

        def expire(route, always: bool):
            token = "expired-token" if always or not sent else route.request.headers["x-csrftoken"]
            sent.append(token)
            route.continue_(headers={**route.request.headers, "x-csrftoken": token})

        page.route("**/call-next", lambda route: expire(route, always=False))
        page.get_by_role("button", name="Nächste Nummer aufrufen").click()
        expect(page.locator("#cur-number")).to_have_text(head)
        assert len(sent) == 2 and sent[1] != "expired-token"
        expect(page.locator("#desk-error")).to_be_empty()

        page.locator("#btn-start").click()
        expect(page.locator("#cur-status")).to_have_text("in Bearbeitung")
        page.locator("#btn-finish").click()
        expect(page.locator("#current-ticket")).to_be_hidden()
        waiting = _waiting(server, "linden")
        page.unroute("**/call-next")
        page.route("**/call-next", lambda route: expire(route, always=True))
        page.get_by_role("button", name="Nächste Nummer aufrufen").click()
        expect(page.locator("#desk-error")).to_have_text(
            "Die Seite ist veraltet. Bitte laden Sie sie neu."
        )
        assert _waiting(server, "linden") == waiting > 0
        expect(page.locator("#current-ticket")).to_be_hidden()
    finally:
        page.close()


def _waiting(server, office: str) -> int:
    status = requests.get(f"{server.base_url}/api/v1/offices/{office}/status", timeout=10)
    return status.json()["waiting_total"]
