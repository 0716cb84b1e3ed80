"""The display and the phone status page in headless Chromium against a real server process.

Screenshots go to /tmp/display-*.png (1920x1080) and /tmp/status-*.png (390x844).
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from .clients import Staff, _on_database, live_env

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def post_message(server, manager: str, text_de: str, text_en: str) -> None:
    """A manager's ticker message, posted through the service on the server's database."""
    from datetime import datetime

    from sqlalchemy import select

    from queue_service import clock
    from queue_service.auth.models import User
    from queue_service.extensions import db
    from queue_service.management.messages import post_office_message

    def work():
        actor = db.session.scalar(select(User).where(User.username == manager))
        since = datetime(2026, 11, 26, 9, 0, tzinfo=clock.LOCAL_TZ)
        post_office_message("aegi", text_de, text_en, actor=actor, active_from=since)

    _on_database(server.env["DATABASE_URL"], work)


def test_the_display_shows_calls_live_says_when_it_is_cut_off_and_recovers(browser, live):
    server = live()
    clerk = Staff(server, "clerk-display")
    for service in ("PA", "PA", "KID", "AN"):
        clerk.issue(server.base_url, service=service)
    context = browser.new_context(
        viewport={"width": 1920, "height": 1080}, locale="de-DE", bypass_csp=True
    )
    page = context.new_page()
    try:
        page.goto(server.base_url + "/display/aegi?lang=de,en&rows=6")
        expect(page.locator(".screen")).to_have_attribute("data-connection", "online")
        expect(page.locator("[data-role=waiting-total] strong")).to_have_text("4")

        clerk.call_next(server.base_url, 1)
        first = page.locator(".call-list .call").first
        expect(first.locator(".number")).to_have_text("P001", timeout=3000)
        expect(first.locator(".counter")).to_have_text("Platz 1")
        expect(first).to_have_class(re.compile("is-new"))
        clerk.call_next(server.base_url, 2)
        expect(first.locator(".number")).to_have_text("P002", timeout=3000)
        expect(page.locator("[data-role=waiting-total] strong")).to_have_text("2")
        assert page.locator(".call .number", has_text="P001").count() == 1  # shown once
        page.wait_for_function("queueDisplay.announcer.log.length >= 2", timeout=15000)
        spoken = page.evaluate("queueDisplay.announcer.log.map(e => e.texts)")
        assert spoken[0] == ["Nummer P 1, bitte zu Platz 1", "Number P 1, please go to counter 1"]
        page.screenshot(path="/tmp/display-live.png")

        server.kill()  # the server dies: the screen must say that it may be out of date
        expect(page.locator("[data-role=offline]")).to_be_visible(timeout=8000)
        expect(page.locator(".screen")).to_have_attribute("data-connection", "offline")
        assert "Verbindung unterbrochen" in page.locator("[data-role=offline]").inner_text()
        page.screenshot(path="/tmp/display-offline.png")

        # back on the same port, a few minutes later; a call made there appears within 10 s
        restarted = live(
            live_env(CLOCK_START="2026-11-26T10:05"),
            server.env["DATABASE_URL"],
            prepare=False,
            port=server.port,
        )
        clerk.call_next(restarted.base_url, 3)
        expect(page.locator(".call-list .call").first.locator(".number")).to_have_text(
            "K001", timeout=10000
        )
        expect(page.locator("[data-role=offline]")).to_be_hidden(timeout=10000)
        assert page.locator(".call .number").all_inner_texts()[:3] == ["K001", "P002", "P001"]
        expect(page.locator("[data-role=clock]")).to_have_text(
            "10:05", timeout=3000
        )  # the server's clock
        page.screenshot(path="/tmp/display-recovered.png")
    finally:
        context.close()


def test_the_display_ticker_and_counter_layout(browser, live):
    server = live()
    clerk = Staff(server, "clerk-layout")
    Staff(server, "leitung", role="manager")
    clerk.issue(server.base_url, service="FS")
    called = clerk.call_next(server.base_url, 4)["number"]
    post_message(
        server, "leitung", "Heute ab 12 Uhr nur Abholungen", "Collections only from noon today"
    )
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, bypass_csp=True)
    page = context.new_page()
    try:
        page.goto(server.base_url + "/display/aegi?lang=en&layout=counters&gong=0&speech=0")
        tile = page.locator(".counter-tile", has_text="Counter 4")
        expect(tile.locator(".number")).to_have_text(called)
        expect(page.locator("[data-role=ticker-text]")).to_have_text(
            "Collections only from noon today"
        )
        assert page.locator("[data-role=sound-overlay]").is_hidden()
        page.screenshot(path="/tmp/display-counters.png")
    finally:
        context.close()


def test_the_status_page_switches_to_called_and_the_visitor_can_cancel(browser, live):
    server = live()
    clerk = Staff(server, "clerk-status")
    clerk.issue(server.base_url)
    mine = clerk.issue(server.base_url)
    other = clerk.issue(server.base_url)
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="de-DE",
        bypass_csp=True,
    )
    page = context.new_page()
    try:
        page.goto(f"{server.base_url}/t/{mine['token']}")
        expect(page.locator("[data-role=connection]")).to_have_text(
            "Live: Diese Seite aktualisiert sich selbst"
        )
        expect(page.locator("[data-role=ahead]")).to_have_text("1")
        clerk.call_next(server.base_url, 1)
        expect(page.locator("[data-role=ahead]")).to_have_text(
            "0", timeout=3000
        )  # pushed, no reload
        page.screenshot(path="/tmp/status-waiting.png")

        response = clerk.post(
            server.base_url, "/api/v1/offices/aegi/counters/3/call", {"token": mine["token"]}
        )
        assert response.status_code == 200
        overlay = page.locator("[data-role=called]")
        expect(overlay).to_be_visible(timeout=3000)
        expect(overlay.locator("[data-role=called-where]")).to_have_text("Bitte zu Platz 3")
        expect(page.locator("[data-role=status]")).to_have_text(
            "Aufgerufen – bitte kommen Sie zum Platz"
        )
        page.screenshot(path="/tmp/status-called.png")
        page.get_by_role("button", name="OK").click()
        expect(overlay).to_be_hidden()

        page.goto(f"{server.base_url}/t/{other['token']}")
        page.get_by_role("link", name="Wartemarke zurückgeben").click()
        expect(
            page.get_by_role("heading", name=f"Wartemarke {other['number']} zurückgeben?")
        ).to_be_visible()
        page.screenshot(path="/tmp/status-cancel.png")
        page.get_by_role("button", name="Ja, Wartemarke zurückgeben").click()
        expect(page.locator("[data-role=status]")).to_have_text("Storniert")
        expect(page.locator(".flashes")).to_contain_text("Ihre Wartemarke wurde zurückgegeben")
        expect(page.locator("[data-role=cancel]")).to_be_hidden()
        page.screenshot(path="/tmp/status-cancelled.png")
    finally:
        context.close()


def test_the_display_does_not_grow_with_the_number_of_calls(browser, live):
    """A display runs unattended for days: after a hundred more calls its JavaScript heap, DOM and
    event listeners are where they were (history, seen call ids and announcements are bounded)."""
    server = live()
    clerk = Staff(server, "clerk-memory")

    def serve(count: int) -> None:
        for _ in range(count):
            clerk.issue(server.base_url)
            token = clerk.call_next(server.base_url, 1)["token"]
            for action in ("start", "finish"):
                assert (
                    clerk.post(server.base_url, f"/api/v1/tickets/{token}/{action}").status_code
                    == 200
                )

    context = browser.new_context(
        viewport={"width": 1920, "height": 1080}, locale="de-DE", bypass_csp=True
    )
    page = context.new_page()
    cdp = context.new_cdp_session(page)

    def settled() -> dict:
        state = page.context.request.get(
            server.base_url + "/api/v1/offices/aegi/display-state"
        ).json()
        page.wait_for_function(f"queueDisplay.state.seq >= {state['seq']}", timeout=20000)
        queued = page.evaluate("queueDisplay.announcer.queue.length")
        # measured with no announcement sounding: a gong's eight oscillators each hold an
        # "ended" listener while it plays, so a measurement taken during one counted 8 listeners
        # more than one taken between two (the announcements still queued would take a minute
        # more: they are dropped, and their queue's bound is checked with what was queued)
        page.evaluate(
            "queueDisplay.announcer.queue.length = 0;"
            " if (window.speechSynthesis) window.speechSynthesis.cancel();"
        )
        page.wait_for_function("!queueDisplay.announcer.busy", timeout=20000)
        page.wait_for_timeout(500)
        cdp.send("HeapProfiler.collectGarbage")
        return {
            "queued": queued,
            "heap": cdp.send("Runtime.getHeapUsage")["usedSize"],
            **cdp.send("Memory.getDOMCounters"),
        }

    try:
        page.goto(server.base_url + "/display/aegi")
        expect(page.locator(".screen")).to_have_attribute("data-connection", "online")
        serve(20)  # fills the history and the announcement queue
        before = settled()
        serve(100)
        after = settled()
        assert after["heap"] - before["heap"] < 1_000_000, (before, after)
        assert abs(after["nodes"] - before["nodes"]) <= 30, (before, after)
        assert after["jsEventListeners"] - before["jsEventListeners"] <= 5, (before, after)
        assert page.evaluate("queueDisplay.seen.size") <= 300
        assert after["queued"] <= 8
        assert page.locator(".call-list .call").count() <= 12
    finally:
        context.close()


FAKE_QUEUE = """(seq) => {
  const s = queueDisplay.state, now = new Date().toISOString();
  queueDisplay.receive("queue_updated", {office: "aegi", seq: seq, seqs: [seq], server_time: now,
    services: s.services, counters: s.counters, open: true, walkin_open: true,
    closed_reason: null, waiting_total: 0});
}"""
FAKE_CALL = """(seq) => {
  const now = new Date().toISOString();
  queueDisplay.receive("ticket_called", {office: "aegi", number: "P9" + seq, counter: 1,
    counter_name: "Platz 1", service: "PA", recall_count: 0, call_id: "P9" + seq + "-0-1",
    called_at: now, server_time: now, seq: seq});
}"""


def test_the_display_waits_briefly_for_a_late_seq_and_resyncs_only_when_it_stays_missing(
    browser, live
):
    """Two server processes deliver out of order: a seq that arrives late is no loss."""
    server = live()
    page = browser.new_context(locale="de-DE", bypass_csp=True).new_page()
    try:
        page.goto(server.base_url + "/display/aegi")
        page.wait_for_function("queueDisplay.state.synced && !queueDisplay.state.resyncing")
        seq = page.evaluate("queueDisplay.state.seq")
        page.evaluate(FAKE_QUEUE, seq + 2)  # the next but one comes first
        page.wait_for_timeout(500)
        page.evaluate(FAKE_CALL, seq + 1)  # and the missing one half a second later
        page.wait_for_timeout(2500)
        state = page.evaluate(
            "({seq: queueDisplay.state.seq, resyncs: queueDisplay.state.resyncs})"
        )
        assert state == {"seq": seq + 2, "resyncs": 0}
        expect(page.locator(".call-list .call").first.locator(".number")).to_have_text(
            f"P9{seq + 1}"
        )

        page.evaluate(FAKE_QUEUE, seq + 4)  # seq + 3 never comes: lost
        page.wait_for_timeout(1000)
        assert page.evaluate("queueDisplay.state.resyncs") == 0  # still waiting for it
        page.wait_for_function("queueDisplay.state.resyncs >= 1", timeout=5000)
    finally:
        page.context.close()


def _commit_without_sending(server, office: str = "aegi") -> None:
    """An event committed whose push has not come (yet): the office's seq in the database moves
    on, as after a commit whose dispatcher is still busy, or whose process died before its push."""
    from queue_service.extensions import db
    from queue_service.realtime.publish import _allocate

    def work():
        _allocate(db.session, office)
        db.session.commit()

    _on_database(server.env["DATABASE_URL"], work)


def test_a_heartbeat_ahead_of_the_display_resyncs_only_if_the_seq_is_still_missing_a_beat_later(
    browser, live
):
    """A busy server commits seconds before the push arrives (its dispatcher and Redis are behind):
    the heartbeat's seq is ahead meanwhile, and that alone is no loss. A seq the heartbeat
    reported that has still not come by the next heartbeat was lost: resync."""
    server = live(live_env(DISPLAY_POLL_SECONDS="5"))
    page = browser.new_context(locale="de-DE", bypass_csp=True).new_page()
    acks: list[float] = []  # when each heartbeat's answer with the awaited seq came
    awaited = {"seq": None}

    def on_socket(ws):
        def frame(payload):
            if isinstance(payload, str) and '"server_time"' in payload and payload.startswith("43"):
                if f'"seq": {awaited["seq"]},' in payload or f'"seq":{awaited["seq"]},' in payload:
                    acks.append(time.monotonic())

        ws.on("framereceived", frame)

    page.on("websocket", on_socket)

    def heartbeat_reports(seq: int) -> None:
        acks.clear()
        awaited["seq"] = seq
        deadline = time.monotonic() + 12
        while not acks and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        assert acks, f"no heartbeat reported seq {seq}"

    try:
        page.goto(server.base_url + "/display/aegi")
        page.wait_for_function("queueDisplay.state.synced && !queueDisplay.state.resyncing")
        seq = page.evaluate("queueDisplay.state.seq")

        _commit_without_sending(server)  # seq + 1: committed, its push still on its way
        heartbeat_reports(seq + 1)
        page.wait_for_timeout(3000)  # longer than REORDER_MS (2 s), shorter than a beat (5 s)
        assert page.evaluate("queueDisplay.state.resyncs") == 0
        page.evaluate(FAKE_QUEUE, seq + 1)  # late, but it came
        page.wait_for_timeout(6000)  # the next heartbeat has checked
        state = page.evaluate(
            "({seq: queueDisplay.state.seq, resyncs: queueDisplay.state.resyncs})"
        )
        assert state == {"seq": seq + 1, "resyncs": 0}

        _commit_without_sending(server)  # seq + 2: committed, and its push never comes
        heartbeat_reports(seq + 2)
        page.wait_for_timeout(3000)
        assert page.evaluate("queueDisplay.state.resyncs") == 0  # a beat to arrive in
        page.wait_for_function("queueDisplay.state.resyncs == 1", timeout=5000)
        page.wait_for_function(f"queueDisplay.state.seq == {seq + 2}", timeout=5000)
    finally:
        page.context.close()


def test_a_display_that_missed_more_than_ten_calls_takes_every_one_from_the_replay(browser, live):
    """Calls made through a process that cannot reach this display (no Redis): its heartbeat finds
    the gap and it resyncs with the seq it had; the replay brings the calls the snapshot's last
    ten have lost, each remembered once by its call id."""
    server = live(live_env(DISPLAY_POLL_SECONDS="2"))
    other = live(live_env(), server.env["DATABASE_URL"], prepare=False)
    clerk = Staff(server, "clerk-replay-browser")
    page = browser.new_context(locale="de-DE", bypass_csp=True).new_page()
    try:
        page.goto(server.base_url + "/display/aegi")
        page.wait_for_function("queueDisplay.state.synced && !queueDisplay.state.resyncing")
        # no resync while the calls are made (as if they all came within one heartbeat)
        page.evaluate("queueDisplay.state.resyncing = true")
        numbers = []
        for _ in range(13):
            clerk.issue(other.base_url)
            called = clerk.call_next(other.base_url, 1)
            numbers.append(called["number"])
            for action in ("start", "finish"):
                done = clerk.post(other.base_url, f"/api/v1/tickets/{called['token']}/{action}")
                assert done.status_code == 200, done.text
        page.evaluate("queueDisplay.state.resyncing = false")
        seen = "[...queueDisplay.seen.keys()].map((id) => id.split('-')[0])"
        page.wait_for_function(f"{numbers!r}.every((n) => {seen}.includes(n))", timeout=20000)
        assert page.evaluate("queueDisplay.state.resyncs") == 1
        # the list shows the last ten, newest first, as the snapshot has them
        expect(page.locator(".call-list .call").first.locator(".number")).to_have_text(numbers[-1])
    finally:
        page.context.close()


def test_a_display_without_its_socket_polls_with_since_and_misses_no_call(browser, live):
    """The socket cannot connect (a proxy that refuses WebSockets and long-polling): the display
    polls the HTTP snapshot, after the first with the seq it has, and takes every call made
    meanwhile from the answer's replay, also those that have left the snapshot's last ten."""
    server = live(live_env(DISPLAY_POLL_SECONDS="2"))
    clerk = Staff(server, "clerk-http-replay")
    context = browser.new_context(locale="de-DE", bypass_csp=True)
    context.route(lambda url: "/socket.io/?" in url, lambda route: route.abort())  # not the JS
    page = context.new_page()
    polls: list[str] = []
    page.on(
        "request",
        lambda request: polls.append(request.url) if "display-state" in request.url else None,
    )
    try:
        page.goto(server.base_url + "/display/aegi")
        page.wait_for_function("queueDisplay.state.synced && !queueDisplay.state.online")
        expect(page.locator(".screen")).to_have_attribute("data-connection", "offline")
        # no poll gets through while the calls are made (as if they all came between two polls)
        context.route("**/display-state*", lambda route: route.abort())
        numbers = []
        for _ in range(13):
            clerk.issue(server.base_url)
            called = clerk.call_next(server.base_url, 1)
            numbers.append(called["number"])
            for action in ("start", "finish"):
                done = clerk.post(server.base_url, f"/api/v1/tickets/{called['token']}/{action}")
                assert done.status_code == 200, done.text
        context.unroute("**/display-state*")
        seen = "[...queueDisplay.seen.keys()].map((id) => id.split('-')[0])"
        page.wait_for_function(f"{numbers!r}.every((n) => {seen}.includes(n))", timeout=20000)
        assert "since=" not in polls[0] and any("since=" in url for url in polls[1:])
        assert page.evaluate("queueDisplay.state.online") is False  # all of it over HTTP
        expect(page.locator(".call-list .call").first.locator(".number")).to_have_text(numbers[-1])
    finally:
        context.close()
