"""The phone status page warns a visitor already waiting, live and in the ticket's language, as
soon as the counters open now may not reach their number before service ends today, with the
kiosk's alternatives (the next free appointment, links to book and to the waitlist); the warning
goes away when another counter opens. Screenshot: /tmp/status-served-out.png (390x844)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .clients import Staff, _on_database, live_env

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _tickets_one_counter_cannot_serve(server) -> int:
    """How many identity-card visits (15 minutes) exceed one counter's rest of the day, with a
    margin for the seconds the server's clock runs on."""
    from datetime import datetime

    from queue_service import clock
    from queue_service.offices.services import get_office
    from queue_service.tickets import forecast

    def work():
        now = datetime(2026, 11, 26, 12, 30, tzinfo=clock.LOCAL_TZ)
        end = forecast._service_end(get_office("aegi"), now)
        return int((end - now).total_seconds() / 60 // 15) + 2

    return _on_database(server.env["DATABASE_URL"], work)


def test_the_status_page_warns_live_when_the_counters_may_not_reach_the_number(browser, live):
    server = live(env=live_env(CLOCK_START="2026-11-26T12:30", PUBLIC_BASE_URL=""))
    clerk = Staff(server, "clerk-served-out")
    other = Staff(server, "clerk-second")
    count = _tickets_one_counter_cannot_serve(server)
    for _ in range(count - 1):  # no counter open yet: the forecast turns nobody away
        clerk.issue(server.base_url)
    response = clerk.post(
        server.base_url, "/api/v1/offices/aegi/tickets", {"service": "PA", "lang": "tr"}
    )
    assert response.status_code == 201, response.text
    mine = response.json()
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="tr-TR",
        bypass_csp=True,
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{server.base_url}/t/{mine['token']}")  # opens in the ticket's language
        warning = page.locator("[data-role=served-out]")
        expect(page.locator("[data-role=ahead]")).to_have_text(str(count - 1))
        expect(warning).to_be_hidden()

        # one counter opens: the forecast now knows it cannot reach the last number today
        assert clerk.post(server.base_url, "/api/v1/offices/aegi/counters/1/open").ok
        expect(warning).to_be_visible(timeout=5000)  # pushed, no reload
        expect(
            warning.get_by_role("heading", name="Bugün hizmet alamayabilirsiniz")
        ).to_be_visible()
        expect(warning.locator("[data-role=served-out-text]")).to_contain_text(
            "Sıra numaranız geçerli kalır"
        )
        expect(warning.locator("[data-role=served-out-next-free]")).to_contain_text(
            "Bir sonraki boş randevu:"
        )
        book = warning.locator("[data-role=served-out-book]")
        expect(book).to_have_text("Randevu alın")
        assert book.get_attribute("href").endswith(
            "/termin/kalender?office=aegi&services=PA&persons=1"
        )
        waitlist = warning.locator("[data-role=served-out-waitlist]")
        expect(waitlist).to_be_visible()
        assert waitlist.get_attribute("href").endswith(
            "/termin/warteliste?office=aegi&services=PA&persons=1"
        )
        page.screenshot(path="/tmp/status-served-out.png")

        # a reload shows it at once (rendered by the server, not only pushed)
        page.reload()
        expect(warning).to_be_visible()
        expect(page.locator("[data-role=served-out-next-free]")).to_contain_text("randevu")

        # a second counter opens: the warning goes away live
        assert other.post(server.base_url, "/api/v1/offices/aegi/counters/2/open").ok
        expect(warning).to_be_hidden(timeout=5000)

        # the German page says the same in German once the second counter closes again
        assert other.post(server.base_url, "/api/v1/offices/aegi/counters/2/close").ok
        page.goto(f"{server.base_url}/t/{mine['token']}?lang=de")
        expect(
            page.get_by_role("heading", name="Sie werden heute möglicherweise nicht mehr bedient")
        ).to_be_visible()
        expect(page.get_by_role("link", name="Termin buchen")).to_be_visible()
        assert errors == []
    finally:
        context.close()
