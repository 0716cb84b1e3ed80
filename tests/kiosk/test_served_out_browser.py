"""The kiosk tells a walk-in visitor before they take a ticket that the counters open now cannot
serve them today, and offers the alternatives: the next free appointment and a QR code to book
or join the waitlist on the phone (issue: walk-in capacity that tells the truth). Screenshot:
/tmp/kiosk-served-out.png."""

from __future__ import annotations

from datetime import datetime

import pytest
from playwright.sync_api import expect

from queue_service import clock

from ..support.servers import start_server
from .test_browser import PORTRAIT, Site, decode_qr, kiosk_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SET_UP_AT = datetime(2026, 11, 26, 12, 30, tzinfo=clock.LOCAL_TZ)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    server = start_server(
        tmp_path_factory.mktemp("kiosk-served-out"),
        env={"CLOCK_START": "2026-11-26T12:30", "SCHEDULER_ENABLED": "0", "PUBLIC_BASE_URL": ""},
    )
    site = Site(server)
    yield site
    site.close()
    server.stop()


def _fill_the_day(site: Site) -> int:
    """One counter open at Aegi and more identity-card visits waiting than it can serve."""
    from queue_service.auth.models import User
    from queue_service.auth.services import create_user
    from queue_service.extensions import db
    from queue_service.offices.services import get_office
    from queue_service.tickets import services as q
    from queue_service.tickets.forecast import day_forecast

    def work():
        clock.freeze(SET_UP_AT)
        try:
            clerk = create_user("schalter-aegi", "clerk", ["aegi"])
            q.open_counter("aegi", 1, actor=db.session.get(User, clerk.id))
            capacity = day_forecast(get_office("aegi"), clock.now()).capacity_minutes
            needed = int(capacity // 15) + 2
            for _ in range(needed):
                q.issue_ticket("aegi", "PA")
            return needed
        finally:
            clock.reset()

    return site.run(work)


def test_the_kiosk_says_no_more_walkins_and_offers_an_appointment_instead(browser, site):
    _fill_the_day(site)
    page = kiosk_page(browser, site, "aegi", viewport=PORTRAIT)
    try:
        expect(
            page.get_by_role("heading", name="Heute keine weiteren Besucher ohne Termin")
        ).to_be_visible()
        expect(page.get_by_text("damit Sie nicht vergeblich warten")).to_be_visible()
        expect(page.get_by_text("Voraussichtliches Ende der Bedienung heute:")).to_be_visible()
        expect(page.get_by_text("Nächster freier Termin:")).to_be_visible()
        assert page.locator(".kiosk-service").count() == 0  # no ticket to take
        page.screenshot(path="/tmp/kiosk-served-out.png")
        qr = page.locator(".kiosk-served-out-qr svg")
        assert decode_qr(qr.screenshot()) == [site.base + "/termin/"]
        assert page.errors == []
    finally:
        page.context.close()
