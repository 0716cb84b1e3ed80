"""The waiting-room display at 1920x1080: the sound banner never covers the calls and one click,
tap or key removes it; the waiting-time headings are never cut. Screenshots go to
/tmp/display-sound-*.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .clients import Staff

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# A display browser as it is set up in a waiting room: audio stays locked until a person clicks,
# taps or presses a key (Chrome's autoplay policy; the headless test browser would allow it).
AUTOPLAY_POLICY = """(() => {
    const Real = window.AudioContext || window.webkitAudioContext;
    if (!Real) return;
    let gesture = false;
    for (const name of ["pointerdown", "keydown", "touchstart"]) {
        window.addEventListener(name, () => { gesture = true; }, true);
    }
    class Locked extends Real {
        get state() { return gesture ? super.state : "suspended"; }
        resume() { return gesture ? super.resume() : Promise.reject(new Error("autoplay")); }
    }
    window.AudioContext = Locked;
    window.webkitAudioContext = Locked;
})();"""
OVERLAPS = """([a, b]) => {
    const r = document.querySelector(a).getBoundingClientRect();
    const s = document.querySelector(b).getBoundingClientRect();
    return !(r.right <= s.left || s.right <= r.left || r.bottom <= s.top || s.bottom <= r.top);
}"""
ON_TOP = """(selector) => {
    const node = document.querySelector(selector);
    const box = node.getBoundingClientRect();
    const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
    return node.contains(hit);
}"""


@pytest.mark.parametrize("gesture", ["click", "key"])
def test_the_sound_banner_leaves_the_calls_visible_and_goes_with_one_gesture(
    browser, live, gesture
):
    server = live()
    clerk = Staff(server, "clerk-sound")
    clerk.issue(server.base_url, service="PA")
    clerk.call_next(server.base_url, 1)
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="de-DE")
    page = context.new_page()
    page.add_init_script(AUTOPLAY_POLICY)
    try:
        page.goto(server.base_url + "/display/aegi?lang=de")
        banner = page.locator("[data-role=sound-overlay]")
        expect(banner).to_be_visible(timeout=5000)
        expect(banner).to_have_text(
            "Ton ist aus: zum Einschalten klicken, tippen oder eine Taste drücken"
        )
        call = page.locator(".call-list .call").first
        expect(call.locator(".number")).to_have_text("P001", timeout=3000)
        page.screenshot(path=f"/tmp/display-sound-{gesture}-before.png")
        assert not page.evaluate(OVERLAPS, ["[data-role=sound-overlay]", ".calls"])
        assert page.evaluate(ON_TOP, ".call-list .call")  # nothing lies over the call
        if gesture == "click":
            page.mouse.click(300, 600)  # anywhere on the screen, here on the calls
        else:
            page.keyboard.press("Space")
        expect(banner).to_be_hidden(timeout=1000)
        page.screenshot(path=f"/tmp/display-sound-{gesture}-after.png")
    finally:
        context.close()


def test_the_waiting_time_headings_are_not_cut_at_full_hd(browser, live):
    server = live()
    Staff(server, "clerk-head").issue(server.base_url, service="PA")
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="de-DE")
    page = context.new_page()
    try:
        page.goto(server.base_url + "/display/aegi?lang=de,en&gong=0&speech=0")
        expect(page.locator("[data-role=waiting-total] strong")).to_have_text("1")
        headings = page.locator(".waiting-table th")
        expect(headings.nth(2)).to_have_text("Voraussichtliche Wartezeit")
        cut = page.evaluate(
            """() => [...document.querySelectorAll('.waiting-table th, .calls-head span')]
                .filter((n) => n.scrollWidth > n.clientWidth + 1 || n.scrollHeight > n.clientHeight + 1)
                .map((n) => n.textContent)"""
        )
        assert cut == []
        page.screenshot(path="/tmp/display-sound-headings.png")
    finally:
        context.close()
