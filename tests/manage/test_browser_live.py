"""In headless Chromium: a manager's new opening hours show on the public booking pages, and
the city overview follows a clerk's call without reloading.

Screenshots go to /tmp/live-*.png for people to look at.
"""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

from ..support.servers import cli_in_process

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MONDAY = "2026-11-30"
TIMES = "/termin/zeiten?office=aegi&services=PA&persons=1&day=" + MONDAY


def _times(page, base_url: str) -> list[str]:
    page.goto(base_url + TIMES)
    return [
        name
        for name in page.get_by_role(
            "button", name=re.compile(r"^\d\d:\d\d bis ")
        ).all_inner_texts()
    ]


def _manager(server, name: str = "leitung-aegi") -> str:
    created = cli_in_process(
        ["create-user", name, "--role", "manager", "--office", "aegi"], server.env
    )
    return created.stdout.split("Password:")[1].strip()


def _log_in(page, base_url: str, name: str, password: str) -> None:
    page.goto(base_url + "/admin/login")
    page.fill("#username", name)
    page.fill("#password", password)
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/")


def test_new_opening_hours_change_the_bookable_times_residents_see(browser, live_server):
    server = live_server(env={"CLOCK_START": "2026-11-26T10:00"})
    password = _manager(server)
    resident = browser.new_page(viewport={"width": 1024, "height": 900}, locale="de-DE")
    manager = browser.new_page(viewport={"width": 1280, "height": 900}, locale="de-DE")
    try:
        before = _times(resident, server.base_url)
        starts = {label[:5] for label in before}
        assert "12:45" in starts and "14:00" not in starts  # Monday: appointments 08:00-13:00

        _log_in(manager, server.base_url, "leitung-aegi", password)
        manager.goto(server.base_url + "/admin/manage/offices/aegi/hours")
        manager.get_by_role("link", name="Montag ändern").click()
        manager.fill("#appointment-0-end", "12:00")
        manager.fill("#appointment-1-start", "14:00")
        manager.fill("#appointment-1-end", "16:00")
        manager.get_by_role("button", name="Montag speichern").click()
        manager.wait_for_url("**/hours")
        assert "gespeichert" in manager.locator(".flashes").inner_text()

        after = _times(resident, server.base_url)
        resident.screenshot(path="/tmp/live-times-after.png", full_page=True)
        starts = {label[:5] for label in after}
        assert "12:45" not in starts and "11:45" in starts
        assert {"14:00", "15:45"} <= starts and "16:00" not in starts
    finally:
        resident.close()
        manager.close()


def test_the_city_overview_follows_a_clerk_s_call_without_reloading(browser, live_server):
    server = live_server(env={"CLOCK_START": "2026-11-26T10:00", "STATUS_CACHE_SECONDS": "0"})
    cli_in_process(["create-user", "sb-aegi", "--role", "clerk", "--office", "aegi"], server.env)
    token = cli_in_process(["create-token", "sb-aegi"], server.env).stdout.strip()
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    base = server.base_url + "/api/v1/offices/aegi"
    assert api.post(base + "/counters/1/open", timeout=10).status_code == 200
    for _ in range(2):
        assert api.post(base + "/tickets", json={"service": "PA"}, timeout=10).status_code == 201

    password = _manager(server)
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="de-DE")
    try:
        _log_in(page, server.base_url, "leitung-aegi", password)
        page.goto(server.base_url + "/admin/overview")
        row = page.locator('tr[data-office="aegi"]')
        assert row.locator('[data-field="waiting_total"]').inner_text() == "2"
        assert row.locator('[data-field="served_today"]').inner_text() == "0"
        assert page.get_by_role("columnheader", name="Nächster freier Termin").is_visible()
        assert re.match(
            r"\w\w\. \d\d\.\d\d\. \d\d:\d\d",
            row.locator('[data-field="next_free_appointment"]').inner_text(),
        )
        page.evaluate("window.__notReloaded = true")
        expect(page.locator("#city-overview")).to_have_attribute("data-live", "on", timeout=10_000)

        called = api.post(base + "/counters/1/call-next", timeout=10)
        assert called.status_code == 200
        # pushed through /staff: well before the next 10-second poll could bring it
        expect(row.locator('[data-field="waiting_total"]')).to_have_text("1", timeout=3_000)
        expect(row.locator('[data-field="served_today"]')).to_have_text("0")
        assert page.evaluate("window.__notReloaded") is True
        page.screenshot(path="/tmp/live-overview.png", full_page=True)
    finally:
        page.close()


def test_a_manager_closes_a_booked_day_tells_the_resident_and_reads_yesterday_s_waits(
    browser, live_server, tmp_path
):
    """As a new manager would do it: a closure on a day with a booking shows
    who is affected (no names), the resident is mailed, and yesterday's waiting times per service
    are there as a chart and as a CSV that says what the table says."""
    import csv
    import email
    import io
    import time
    from datetime import date
    from email import policy

    from queue_service import clock, create_app
    from queue_service.auth.models import User
    from queue_service.auth.services import create_user
    from queue_service.booking.services import book_appointment
    from queue_service.extensions import db

    from ..stats.conftest import at, generate_day

    mail = tmp_path / "mail"
    server = live_server(
        env={"CLOCK_START": "2026-11-27T10:00", "MAIL_BACKEND": "folder", "MAIL_FOLDER": str(mail)}
    )
    yesterday, monday = date(2026, 11, 26), date(2026, 11, 30)
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "RATELIMIT_ENABLED": False,
            "MAIL_BACKEND": "memory",
            "SQLALCHEMY_DATABASE_URI": server.env["DATABASE_URL"],
            "REALTIME_EMIT_IN_BACKGROUND": False,
        }
    )
    with app.app_context():  # yesterday's traffic and Monday's booking, through the services
        create_user("sb-aegi", "clerk", ["aegi"])
        generate_day(
            "aegi", db.session.scalar(db.select(User).where(User.username == "sb-aegi")), yesterday
        )
        clock.freeze(at(date(2026, 11, 27), "10:00"))
        booked = book_appointment(
            "aegi", "PA", 1, at(monday, "08:00"), "Erika Mustermann", "erika@example.org"
        )
        db.session.remove()
        db.engine.dispose()
    clock.reset()

    password = _manager(server)
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="de-DE")
    try:
        _log_in(page, server.base_url, "leitung-aegi", password)
        page.get_by_role("link", name="Bürgeramt Aegi verwalten").click()
        page.get_by_role("navigation", name="Bereiche: Bürgeramt Aegi").get_by_role(
            "link", name="Schließungen"
        ).click()
        page.fill("#start", monday.isoformat())
        page.fill("#reason", "Wasserschaden")
        page.get_by_role("button", name="Prüfen und schließen").click()

        affected = page.get_by_role("table", name="Betroffene Termine")
        expect(affected).to_contain_text("Mo. 30.11.2026 08:00")
        assert booked.code.replace("-", "") in affected.inner_text().replace(
            "-", ""
        )  # the booking code
        assert "Erika" not in page.content() and "erika@example.org" not in page.content()
        expect(
            page.get_by_label("Die Bürgerinnen und Bürger per E-Mail über die Absage informieren")
        ).to_be_checked()
        page.screenshot(path="/tmp/live-closure-affected.png", full_page=True)
        page.get_by_role("button", name=re.compile("absagen")).click()
        page.wait_for_url("**/closures")
        assert "Mo. 30.11.2026" in page.locator("table").first.inner_text()

        deadline = time.monotonic() + 10  # the mail goes out after the commit, in the background
        cancelled = []
        while not cancelled and time.monotonic() < deadline:
            messages = [
                email.message_from_bytes(p.read_bytes(), policy=policy.default)
                for p in mail.glob("*.eml")
            ]
            cancelled = [m for m in messages if m["To"] == "erika@example.org"]
            time.sleep(0.1)
        assert cancelled, "the resident was not told"
        assert "Wasserschaden" in cancelled[0].get_body(("plain",)).get_content()

        page.goto(
            server.base_url + f"/admin/statistics?office=aegi&from={yesterday}&to={yesterday}"
        )
        section = page.locator('section[aria-labelledby="table-service"]')
        chart = section.get_by_role("img", name=re.compile("^Wartezeit je Leistung"))
        expect(chart).to_be_visible()
        bars = chart.locator("rect title").all_text_contents()  # e.g. "PA: Median 100.9"
        assert any(t.startswith("PA: Median") for t in bars) and any(
            t.startswith("RP: Median") for t in bars
        )
        page.screenshot(path="/tmp/live-statistics.png", full_page=True)
        # the page's long German headings carry soft hyphens (where they may break); the CSV's not
        headers = [h.replace("\xad", "") for h in section.locator("thead th").all_inner_texts()]
        shown = {
            row.locator("th").inner_text(): row.locator("td").all_inner_texts()
            for row in section.locator("tbody tr").all()
        }
        assert shown and any("Reisepass" in label for label in shown)
        link = section.get_by_role("link", name="Als CSV herunterladen (Excel)")
        response = page.request.get(server.base_url + link.get_attribute("href"))
        assert response.ok and response.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.text().lstrip("\ufeff")), delimiter=";"))
        assert rows[0] == headers
        wait = headers.index(next(h for h in headers if h.startswith("Wartezeit, Median"))) - 1
        for label, *cells in rows[1:]:
            assert cells[wait] == shown[label][wait].replace("–", ""), label  # both "100,9"
    finally:
        page.close()
