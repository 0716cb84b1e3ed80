"""In headless Chromium: a manager's new opening hours show on the public booking pages, and
the city overview follows a clerk's call without reloading.

Screenshots go to /tmp/live-*.png for people to look at.
"""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

from ..support.servers import run_cli

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MONDAY = "2026-11-30"
TIMES = "/termin/zeiten?office=aegi&services=PA&persons=1&day=" + MONDAY


def _times(page, base_url: str) -> list[str]:
    page.goto(base_url + TIMES)
    return [name for name in page.get_by_role("button", name=re.compile(r"^\d\d:\d\d bis ")).all_inner_texts()]


def _manager(server, name: str = "leitung-aegi") -> str:
    created = run_cli(["create-user", name, "--role", "manager", "--office", "aegi"], server.env)
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
    run_cli(["create-user", "sb-aegi", "--role", "clerk", "--office", "aegi"], server.env)
    token = run_cli(["create-token", "sb-aegi"], server.env).stdout.strip()
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
        assert re.match(r"\w\w\. \d\d\.\d\d\. \d\d:\d\d", row.locator('[data-field="next_free_appointment"]').inner_text())
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
