"""Redis goes down during calls and comes back: the clerks keep calling at full speed, and a
display on the other process ends up right, first through its seq check and HTTP, then through
pushes again. Runs a private redis-server on a free port (never the shared one)."""

from __future__ import annotations

import time

import pytest
import requests
from playwright.sync_api import expect

from ..support.private_services import PrivateRedis
from .clients import Staff, live_env
from .test_scaled import wait_for_subscribers

pytestmark = [pytest.mark.postgres, pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def test_calls_go_on_without_redis_and_the_display_ends_up_right(
    private_redis, pg_empty_database_url, browser, live
):
    env = live_env(REDIS_URL=private_redis.url, SOCKETIO_CHANNEL="faults", DISPLAY_POLL_SECONDS="2")
    first = live(env, pg_empty_database_url)
    second = live(env, pg_empty_database_url, prepare=False)
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, bypass_csp=True)
    page = context.new_page()
    try:
        clerk = Staff(first, "clerk-faults")
        for _ in range(6):
            clerk.issue(first.base_url)
        page.goto(second.base_url + "/display/aegi?gong=0&speech=0")
        expect(page.locator(".screen")).to_have_attribute("data-connection", "online")
        wait_for_subscribers(private_redis.url, "faults", 1)
        top = page.locator(".call-list .call").first.locator(".number")
        clerk.call_next(first.base_url, 1)
        expect(top).to_have_text("P001", timeout=3000)  # pushed through Redis

        private_redis.stop()
        slowest = 0.0
        for counter in (2, 3, 4):
            began = time.perf_counter()
            clerk.call_next(first.base_url, counter)
            slowest = max(slowest, time.perf_counter() - began)
        assert slowest < 1.0, f"a call took {slowest:.2f}s while Redis was down"
        # no push can cross between the processes now; the display's seq check finds the gap
        expect(top).to_have_text("P004", timeout=10000)
        expect(page.locator(".screen")).to_have_attribute("data-connection", "online")
        state = requests.get(
            second.base_url + "/api/v1/offices/aegi/display-state", timeout=10
        ).json()
        assert [c["number"] for c in state["calls"][:4]] == ["P004", "P003", "P002", "P001"]

        private_redis.start()
        wait_for_subscribers(private_redis.url, "faults", 1, timeout=40)  # the listener's backoff
        clerk.call_next(first.base_url, 5)
        expect(top).to_have_text("P005", timeout=3000)
        shown = page.locator(".call .number").all_inner_texts()[:5]
        assert shown == ["P005", "P004", "P003", "P002", "P001"]
        expect(page.locator("[data-role=waiting-total] strong")).to_have_text("1")
        page.screenshot(path="/tmp/display-after-redis-fault.png")
    finally:
        context.close()
