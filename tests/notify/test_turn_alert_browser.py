"""The turn alert on a phone in headless Chromium against a real server process: the visitor
chooses N on the status page, the clerk calls the people ahead, and the page alerts by itself
when N are left (banner, screen-reader announcement, vibration, sound, notification), once.

Screenshots: /tmp/turn-alert-*.png (390x844).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ..realtime.clients import Staff
from ..realtime.conftest import live  # noqa: F401  (the live server fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# what the page does with the phone is recorded: vibration patterns and notifications shown
SPIES = """
window.__vibrations = [];
window.__notifications = [];
navigator.vibrate = function (pattern) { window.__vibrations.push(pattern); return true; };
function SpyNotification(title, options) { window.__notifications.push([title, options && options.body]); }
SpyNotification.permission = "default";
SpyNotification.requestPermission = function () {
  SpyNotification.permission = "granted";
  return Promise.resolve("granted");
};
window.Notification = SpyNotification;
if (window.ServiceWorkerRegistration) {
  ServiceWorkerRegistration.prototype.showNotification = function (title, options) {
    window.__notifications.push([title, options && options.body]);
    return Promise.resolve();
  };
}
"""


def test_the_phone_alerts_when_n_people_are_ahead(browser, live):  # noqa: F811
    server = live()
    clerk = Staff(server, "clerk-turn-alert")
    for _ in range(3):
        clerk.issue(server.base_url)
    mine = clerk.issue(server.base_url)  # three people ahead
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="de-DE",
        bypass_csp=True,
    )
    context.add_init_script(SPIES)
    page = context.new_page()
    try:
        page.goto(f"{server.base_url}/t/{mine['token']}")
        expect(page.locator("[data-role=connection]")).to_have_text(
            "Live: Diese Seite aktualisiert sich selbst"
        )
        expect(page.locator("[data-role=ahead]")).to_have_text("3")
        page.get_by_label(
            "Benachrichtigen, wenn noch so viele Personen (oder weniger) vor mir sind"
        ).select_option("2")
        page.get_by_role("button", name="Benachrichtigung einrichten").click()
        expect(page.locator("[data-role=turn-alert-state]")).to_have_text(
            "Benachrichtigung eingerichtet: wenn noch 2 oder weniger Personen vor Ihnen sind."
        )
        banner = page.locator("[data-role=turn-alert-banner]")
        expect(banner).to_be_hidden()
        page.screenshot(path="/tmp/turn-alert-set.png")

        clerk.call_next(server.base_url, 1)
        expect(page.locator("[data-role=ahead]")).to_have_text("2", timeout=5000)
        text = "Personen vor Ihnen: 2. Bitte kommen Sie jetzt in den Wartebereich zurück."
        expect(banner).to_be_visible()
        expect(banner.locator("[data-role=turn-alert-text]")).to_have_text(text)
        expect(page.locator("[data-role=turn-alert-live]")).to_have_text(text)
        assert page.locator("[data-role=turn-alert-live]").get_attribute("role") == "alert"
        page.wait_for_function("queueTicket.announcer.log.length >= 1", timeout=5000)
        assert page.evaluate("queueTicket.announcer.log.map(e => e.texts)") == [[text]]
        assert page.evaluate("window.__vibrations") == [[300, 150, 300]]
        page.wait_for_function("window.__notifications.length >= 1", timeout=5000)
        assert page.evaluate("window.__notifications") == [["Sie sind bald dran", text]]
        page.screenshot(path="/tmp/turn-alert-fired.png")

        # one more called: the banner follows, but the phone does not ring a second time
        clerk.call_next(server.base_url, 2)
        expect(page.locator("[data-role=ahead]")).to_have_text("1", timeout=5000)
        expect(banner.locator("[data-role=turn-alert-text]")).to_have_text(
            "Personen vor Ihnen: 1. Bitte kommen Sie jetzt in den Wartebereich zurück."
        )
        assert page.evaluate("queueTurnAlert.log.length") == 1
        assert len(page.evaluate("window.__vibrations")) == 1

        # a reload shows the banner again, quietly
        page.reload()
        expect(banner).to_be_visible()
        expect(page.locator("[data-role=connection]")).to_have_text(
            "Live: Diese Seite aktualisiert sich selbst"
        )
        assert page.evaluate("queueTurnAlert.log.length") == 0

        # and when the visitor is called, the called screen takes over and the alert goes
        response = clerk.post(
            server.base_url, "/api/v1/offices/aegi/counters/3/call", {"token": mine["token"]}
        )
        assert response.status_code == 200
        expect(page.locator("[data-role=called]")).to_be_visible(timeout=5000)
        expect(page.locator("[data-role=turn-alert]")).to_be_hidden()
    finally:
        context.close()


def test_the_alert_form_works_in_english_and_reports_a_missing_consent(browser, live):  # noqa: F811
    server = live()
    clerk = Staff(server, "clerk-turn-alert-en")
    clerk.issue(server.base_url)
    mine = clerk.issue(server.base_url)
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="en-GB", bypass_csp=True
    )
    context.add_init_script(SPIES)
    page = context.new_page()
    try:
        page.goto(f"{server.base_url}/t/{mine['token']}?lang=en")
        page.get_by_label("E-mail address (optional)").fill("sam@example.org")
        page.get_by_role("button", name="Set alert").click()
        expect(page.locator("[data-role=turn-alert-error]")).to_have_text(
            "Please agree to the use of your e-mail address for this alert."
        )
        page.get_by_label("Send me one e-mail as well", exact=False).check()
        page.get_by_role("button", name="Set alert").click()
        expect(page.locator("[data-role=turn-alert-state]")).to_have_text(
            "Alert set: when 3 or fewer people are ahead of you. You will also get one e-mail."
        )
        # one ahead <= 3: the page alerts at once (the tap has unlocked sound and vibration)
        expect(page.locator("[data-role=turn-alert-text]")).to_have_text(
            "People ahead of you: 1. Please come back to the waiting area now."
        )
        assert page.locator("[data-role=turn-alert-banner]").is_visible()
        assert "sam@example.org" not in page.content()
        page.screenshot(path="/tmp/turn-alert-en.png")
    finally:
        context.close()
