"""A manager, in a real browser, changes the opening hours of Aegi and adds a closure day.

Screenshots go to /tmp/manage-*.png for people to look at.
"""

from __future__ import annotations

import pytest

from ..support.servers import cli_in_process

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_manager_changes_the_opening_hours_and_closes_a_day(browser, live_server):
    server = live_server(env={"CLOCK_START": "2026-11-26T10:00"})
    created = cli_in_process(
        ["create-user", "leitung-aegi", "--role", "manager", "--office", "aegi"], server.env
    )
    password = created.stdout.split("Password:")[1].strip()
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="de-DE")
    try:
        page.goto(server.base_url + "/admin/login")
        page.fill("#username", "leitung-aegi")
        page.fill("#password", password)
        page.keyboard.press("Enter")
        page.wait_for_url("**/admin/")
        page.screenshot(path="/tmp/manage-start.png", full_page=True)
        page.get_by_role("link", name="Bürgeramt Aegi verwalten").click()
        page.get_by_role("navigation", name="Bereiche: Bürgeramt Aegi").get_by_role(
            "link", name="Öffnungszeiten"
        ).click()
        page.get_by_role("link", name="Montag ändern").click()

        # a mistake first: the message appears next to the field and nothing is saved
        page.fill("#appointment-0-end", "07:00")
        page.get_by_role("button", name="Montag speichern").click()
        assert (
            page.locator("#appointment-0-end-error").inner_text()
            == "Das Zeitfenster muss nach seinem Beginn enden."
        )
        page.screenshot(path="/tmp/manage-hours-error.png", full_page=True)

        page.fill("#appointment-0-end", "12:00")
        page.fill("#appointment-0-capacity", "8")
        page.fill("#appointment-1-start", "14:00")
        page.fill("#appointment-1-end", "16:00")
        page.get_by_role("button", name="Montag speichern").click()
        page.wait_for_url("**/hours")
        monday = page.get_by_role("row", name="Montag")
        assert (
            "08:00–12:00 (8 parallel)" in monday.inner_text()
            and "14:00–16:00" in monday.inner_text()
        )
        assert "gespeichert" in page.locator(".flashes").inner_text()
        page.screenshot(path="/tmp/manage-hours.png", full_page=True)

        page.get_by_role("link", name="Schließungen").click()
        page.fill("#start", "2026-12-02")
        page.fill("#reason", "Betriebsversammlung")
        page.get_by_role("button", name="Prüfen und schließen").click()
        page.wait_for_url("**/closures")
        assert "An 1 Tag geschlossen." in page.locator(".flashes").inner_text()
        assert "Mi. 02.12.2026" in page.locator("table").first.inner_text()
        page.screenshot(path="/tmp/manage-closures.png", full_page=True)
    finally:
        page.close()

    # what residents and integrations see now
    import requests

    office = requests.get(server.base_url + "/api/v1/offices/aegi", timeout=5).json()
    assert office["opening_hours"]["appointment"]["mon"] == [["08:00", "12:00"], ["14:00", "16:00"]]
