"""A kiosk whose start screen still offers tickets while the day fills up: the tap is refused by
the ticket API (409 served_out, the same rule as the start screen) and the kiosk reloads its start
screen, which now says that no more walk-ins can be served today and offers the alternatives."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .test_browser import PORTRAIT, Site, kiosk_page
from .test_served_out_browser import _fill_the_day

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from ..support.servers import start_server

    server = start_server(
        tmp_path_factory.mktemp("kiosk-served-out-refusal"),
        env={"CLOCK_START": "2026-11-26T12:30", "SCHEDULER_ENABLED": "0", "PUBLIC_BASE_URL": ""},
    )
    site = Site(server)
    yield site
    site.close()
    server.stop()


def test_a_stale_start_screen_is_refused_and_shows_no_more_walkins(browser, site):
    page = kiosk_page(browser, site, "aegi", viewport=PORTRAIT)
    try:
        service = page.get_by_role("button", name=re.compile("Personalausweis beantragen"))
        expect(service).to_be_visible()  # no counter open yet: tickets are offered
        _fill_the_day(site)  # one counter opens and the queue fills its rest of the day
        answers: list[tuple[int, dict]] = []

        def record(route):
            # read the answer on its way to the page: the kiosk reloads at once on this refusal,
            # after which the browser no longer keeps the body of the response
            response = route.fetch()
            answers.append((response.status, response.json()))
            route.fulfill(response=response)

        page.route(re.compile(r"/api/v1/offices/aegi/tickets$"), record)
        service.click()
        expect(
            page.get_by_role("heading", name="Heute keine weiteren Besucher ohne Termin")
        ).to_be_visible(timeout=10000)
        assert [(status, body["reason"]) for status, body in answers] == [(409, "served_out")]
        expect(page.get_by_text("Nächster freier Termin:")).to_be_visible()
        assert page.locator(".kiosk-service").count() == 0
        assert page.errors == []
    finally:
        page.context.close()
