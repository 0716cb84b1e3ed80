"""In Chromium, with the Content-Security-Policy in force, every kind of page runs its scripts
without a single policy violation: public pages, the ticket status page, the kiosk, the
display, the clerk desk and the staff pages (including the token and lock controls)."""

from __future__ import annotations

import pytest
import requests

from ..support.servers import cli_in_process

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# collect violations from the first moment of every document (Playwright's init scripts
# themselves are not subject to the page's policy)
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI + " " + (e.sourceFile || ""));
});
window.kioskPrint = function () {};
"""


def _cli(server, *args) -> str:
    result = cli_in_process(list(args), server.env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_pages_run_without_csp_violations(browser, live_server):
    server = live_server(env={"CLOCK_START": "2026-11-26T10:00", "SCHEDULER_ENABLED": "0"})
    base = server.base_url
    password = _cli(server, "create-user", "admin", "--role", "admin").split("Password:")[1].strip()
    clerk = (
        _cli(server, "create-user", "sb-aegi", "--role", "clerk", "--office", "aegi")
        .split("Password:")[1]
        .strip()
    )
    _cli(server, "create-token", "sb-aegi", "--name", "Terminal")
    kiosk = _cli(server, "create-device", "aegi", "--kind", "kiosk").strip()
    display = _cli(server, "create-device", "aegi", "--kind", "display").strip()
    ticket = requests.post(
        f"{base}/api/v1/offices/aegi/tickets",
        json={"service": "PA"},
        headers={"X-Device-Token": kiosk},
        timeout=10,
    ).json()

    def visit(context, path: str, ready: str) -> None:
        page = context.new_page()
        errors: list[str] = []
        console: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on(
            "console",
            lambda m: console.append(m.text) if "Content Security Policy" in m.text else None,
        )
        try:
            response = page.goto(base + path)
            assert "script-src 'self'" in response.headers["content-security-policy"], path
            page.wait_for_selector(ready, state="attached", timeout=15000)
            page.wait_for_load_state("networkidle")
            violations = page.evaluate("window.__csp")
            assert (violations, console, errors) == ([], [], []), path
        finally:
            page.close()

    public = browser.new_context(locale="de-DE")
    public.add_init_script(RECORD_VIOLATIONS)
    visit(public, "/", "main")
    visit(public, "/termin/", "main form, main a")
    visit(public, f"/t/{ticket['token']}", "[data-connection], main")
    public.close()

    devices = browser.new_context(locale="de-DE", viewport={"width": 1080, "height": 1920})
    devices.add_init_script(RECORD_VIOLATIONS)
    devices.add_cookies([{"name": "qs_device", "value": kiosk, "url": base}])
    visit(devices, "/kiosk/aegi", "#screen-start button")
    devices.clear_cookies()
    devices.add_cookies([{"name": "qs_device", "value": display, "url": base}])
    visit(devices, "/display/aegi", ".screen[data-connection='online']")
    devices.close()

    def signed_in(username: str, secret: str, lands_on: str):
        context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900})
        context.add_init_script(RECORD_VIOLATIONS)
        page = context.new_page()
        page.goto(base + "/admin/login")
        page.fill("#username", username)
        page.fill("#password", secret)
        page.keyboard.press("Enter")
        page.wait_for_url(lands_on)
        assert page.evaluate("window.__csp") == []
        page.close()
        return context

    staff = signed_in("admin", password, "**/admin/")
    visit(staff, "/admin/manage/staff", "table")
    visit(staff, "/admin/manage/staff/2", "#api-tokens")
    visit(staff, "/admin/overview", "main")
    staff.close()

    desk = signed_in("sb-aegi", clerk, "**/admin/desk**")
    visit(desk, "/admin/desk", "main")
    desk.close()
