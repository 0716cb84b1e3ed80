"""The waiting-room display of an office (presentation only): one URL per office, options in the
query string, live through Socket.IO (docs/realtime-protocol.md).

Any browser may show a display: it carries no personal data, and the same figures are public in
the API. A registered display (its device cookie, from /display/register) is marked as seen on
each visit and by its socket heartbeat, so the devices page tells a dark screen from a live one.
"""

from __future__ import annotations

from flask import current_app, g, make_response, render_template, request, url_for
from flask_babel import force_locale, refresh
from flask_babel import gettext as _

from queue_service.auth.models import DeviceKind
from queue_service.auth.web import DEVICE_COOKIE, current_device, set_device_cookie
from queue_service.offices.services import get_office

from . import bp

LAYOUTS = ("full", "calls", "counters")
DISPLAY_LANGUAGES = ("de", "en")


def _languages(value: str | None) -> list[str]:
    wanted = [code.strip() for code in (value or "").split(",") if code.strip()]
    chosen = [code for code in dict.fromkeys(wanted) if code in DISPLAY_LANGUAGES]
    return chosen or ["de"]


def _flag(name: str, default: bool) -> bool:
    value = request.args.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")


def _rows(value: str | None, most: int) -> int:
    if value is None:
        return min(6, most)
    try:
        return max(1, min(int(value), most))
    except (TypeError, ValueError):
        return min(6, most)


def _strings() -> dict[str, str]:
    """The screen's texts in the current locale (the script shows one or two languages)."""
    return {
        "now_calling": _("Now calling"),
        "recent_calls": _("Recent calls"),
        "number": _("Number"),
        "counter": _("Counter"),
        "counter_n": _("Counter %(n)s", n="{n}"),
        "service": _("Service"),
        "waiting": _("Waiting now"),
        "waiting_times": _("Waiting times"),
        "waiting_total": _("Waiting in total"),
        "nobody_waiting": _("Nobody is waiting."),
        "estimated_wait": _("Estimated wait"),
        "minutes": _("%(n)s min", n="{n}"),
        "no_estimate": _("no estimate"),
        "no_calls": _("No numbers called yet today."),
        "closed": _("Closed today"),
        "no_walkins": _("No walk-in tickets at the moment"),
        "open_counters": _("Open counters"),
        "offline": _("Connection lost"),
        "offline_detail": _("Updating every %(n)s seconds", n="{n}"),
        "as_of": _("As of %(time)s", time="{time}"),
        "enable_sound": _("Sound is off: click, tap or press any key to switch it on"),
        "say_call": _(
            "Number %(number)s, please go to counter %(counter)s",
            number="{number}",
            counter="{counter}",
        ),
        "needs_js": _("This display needs JavaScript."),
    }


@bp.get("/<slug>")
def screen(slug: str):
    office = get_office(slug)
    languages = _languages(request.args.get("lang"))
    g.forced_locale = languages[0]  # the page's own language (lang attribute, title)
    refresh()
    history = int(current_app.config.get("DISPLAY_CALL_HISTORY", 10))
    strings = {}
    for code in languages:
        with force_locale(code):
            strings[code] = _strings()
    config = {
        "office": office.slug,
        "languages": languages,
        "layout": request.args.get("layout") if request.args.get("layout") in LAYOUTS else "full",
        "speech": _flag("speech", True),
        "gong": _flag("gong", True),
        "rows": _rows(request.args.get("rows"), history),
        "pollSeconds": int(current_app.config.get("DISPLAY_POLL_SECONDS", 10)),
        "callMinutes": int(current_app.config.get("DISPLAY_CALL_MINUTES", 10)),
        "stateUrl": url_for("api.display_state", slug=office.slug),
        "strings": strings,
        "timezone": office.timezone,
    }
    response = make_response(render_template("display/screen.html", office=office, config=config))
    device = current_device()  # marks a registered display as seen
    if (
        device is not None
        and device.kind == DeviceKind.DISPLAY
        and request.cookies.get(DEVICE_COOKIE)
    ):
        set_device_cookie(response, request.cookies[DEVICE_COOKIE])  # renew before it expires
    response.headers["Cache-Control"] = "no-store"
    return response
