"""The kiosk page of an office: walk-in tickets on a touch screen (presentation only).

GET /kiosk/<slug>                  the start screen (registered kiosk of that office only)
GET /kiosk/<slug>/tickets/<token>  the ticket screen as an HTML fragment (number, wait, QR code)

The page issues tickets through the public API (POST /api/v1/offices/<slug>/tickets, device
cookie + CSRF header) and prints the ticket PDF from a hidden frame; see kiosk/static/kiosk.js
and docs/kiosk.md.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeGuard

from babel.dates import format_date, format_time
from babel.support import NullTranslations, Translations
from flask import current_app, make_response, render_template, request, url_for
from flask_babel import force_locale, get_locale, gettext

from queue_service.auth.models import Device, DeviceKind
from queue_service.auth.web import DEVICE_COOKIE, current_device, set_device_cookie
from queue_service.booking import links, next_free
from queue_service.i18n import LANGUAGE_NAMES, RTL_LANGUAGES
from queue_service.links import absolute_url
from queue_service.offices import calendar
from queue_service.offices.models import Office
from queue_service.offices.services import get_office
from queue_service.offices.texts import service_description, service_name
from queue_service.printing import PAPERS, qr_svg
from queue_service.printing.strings import SOON_MINUTES
from queue_service.tickets.offer import OfferState, walkin_offer
from queue_service.tickets.reads import get_ticket, ticket_status

from . import bp
from .service_texts import group_label, group_order

# the check-in API the "I have an appointment" screen posts to (online booking provides it)
CHECKIN_RULE = "/api/v1/offices/<slug>/check-in"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _lang() -> str:
    lang = request.args.get("lang", "")
    return lang if lang in current_app.config["KIOSK_LANGUAGES"] else "de"


def _paper() -> str | None:
    paper = request.args.get("paper")
    return paper if paper in PAPERS else None


def _large() -> bool:
    return request.args.get("large") == "1"


def _is_kiosk_of(device: Device | None, office: Office) -> TypeGuard[Device]:
    return device is not None and device.kind == DeviceKind.KIOSK and device.office_id == office.id


def checkin_enabled() -> bool:
    """KIOSK_CHECKIN: on, off, or auto (on once the check-in API route exists)."""
    setting = current_app.config["KIOSK_CHECKIN"]
    if setting in ("on", "off"):
        return setting == "on"
    return any(
        rule.rule == CHECKIN_RULE and "POST" in (rule.methods or ())
        for rule in current_app.url_map.iter_rules()
    )


def _page_url(slug: str, **changes) -> str:
    """The kiosk URL with the current paper, language and large print, changed by ``changes``."""
    args = {"paper": _paper(), "lang": _lang(), "large": "1" if _large() else None}
    args.update(changes)
    if args.get("lang") == "de":
        args["lang"] = None
    query: dict[str, Any] = {k: v for k, v in args.items() if v}
    return url_for("kiosk.start", slug=slug, **query)


def _when(moment: datetime | None, office: Office, lang: str) -> str | None:
    """'today at 14:00', 'tomorrow at 08:00' or 'Monday, 30 November 2026 at 08:00'."""
    if moment is None:
        return None
    local = moment.astimezone(calendar.office_tz(office))
    today = calendar.office_local_today(office)
    hour = format_time(local, "HH:mm", locale=lang)
    if local.date() == today:
        return gettext("today at %(time)s", time=hour)
    if (local.date() - today).days == 1:
        return gettext("tomorrow at %(time)s", time=hour)
    return gettext("%(day)s at %(time)s", day=format_date(local, "full", locale=lang), time=hour)


def _clock_time(moment: datetime | None, office: Office, lang: str) -> str | None:
    if moment is None:
        return None
    return format_time(moment.astimezone(calendar.office_tz(office)), "HH:mm", locale=lang)


@lru_cache(maxsize=8)
def _plurals(lang: str) -> Translations | NullTranslations:
    # Flask-Babel merges the catalogues of all packages and keeps the plural rule of the last
    # one, which is English's when that package has no catalogue for the language (queue_service,
    # display and admin have none for tr, ar, uk): plural texts come from our catalogue directly.
    return Translations.load(str(TRANSLATIONS), [lang])


def wait_text(minutes: int | None) -> str:
    if minutes is None:
        return gettext("no estimate yet")
    if minutes <= SOON_MINUTES:
        return gettext("very soon")
    lang = str(get_locale() or "de")
    text = _plurals(lang).ungettext("about %(num)s minute", "about %(num)s minutes", minutes)
    return text % {"num": minutes}


def _groups(offer, lang: str) -> list[dict]:
    groups: dict[str, dict] = {}
    for item in offer.services:
        service = item.service
        group = groups.setdefault(
            item.group, {"key": item.group, "label": group_label(item.group), "services": []}
        )
        group["services"].append(
            {
                "code": service.code,
                "name": service_name(service, lang),
                "description": service_description(service, lang),
                "available": item.available,
                "people_ahead": item.people_ahead,
                "wait": wait_text(item.estimated_wait_minutes) if item.available else None,
            }
        )
    return sorted(groups.values(), key=lambda g: group_order(g["key"]))


def _reopens_today(offer) -> bool:
    """Closed for a break (opens again later today), rather than for the rest of the day."""
    if offer.closure or offer.next_opening is None:
        return False
    tz = calendar.office_tz(offer.office)
    return offer.next_opening.astimezone(tz).date() == offer.now.astimezone(tz).date()


def _renew_cookie(response) -> None:
    # browsers cap cookie lifetimes (Chromium: 400 days): a working kiosk renews its registration
    token = request.cookies.get(DEVICE_COOKIE)
    if token and not request.headers.get("X-Device-Token"):
        set_device_cookie(response, token)


def _not_registered(office: Office, device: Device | None):
    lang = "en" if request.args.get("lang") == "en" else "de"
    with force_locale(lang):
        page = render_template(
            "kiosk/not_registered.html",
            office=office,
            device=device,
            register_url=url_for("kiosk.register", office=office.slug),
        )
    return page, 403, NO_STORE


def _served_out(offer, lang: str) -> dict:
    """What the kiosk offers when the counters cannot serve another walk-in today: when service
    is expected to end, the next free appointment, and a QR code to book (or join the waitlist)
    on the phone."""
    office = offer.office
    found = next_free.next_free_appointments([office])[office.id]
    start = found.get("start") if found else None
    book = links.base_url() + url_for("booking_web.start")
    return {
        "last": _clock_time(offer.forecast.expected_last_served, office, lang)
        if offer.forecast and offer.forecast.expected_last_served
        else None,
        "next_free": _when(start, office, lang),
        "book_url": book,
        "qr": qr_svg(
            book, label=gettext("QR code: book an appointment or join the waitlist on your phone")
        ),
    }


@bp.get("/<slug>")
def start(slug: str):
    office = get_office(slug)
    device = current_device()
    if not _is_kiosk_of(device, office):
        return _not_registered(office, device)
    lang = _lang()
    config = current_app.config
    with force_locale(lang):
        offer = walkin_offer(office.slug)
        page = render_template(
            "kiosk/kiosk.html",
            office=office,
            offer=offer,
            states=OfferState,
            groups=_groups(offer, lang) if offer.state == OfferState.OPEN else [],
            when={
                "next_opening": _when(offer.next_opening, office, lang),
                "next_walkin": _when(offer.next_walkin, office, lang),
                "next_walkin_day": _when(offer.next_walkin_day, office, lang),
                "walkin_until": _clock_time(offer.walkin_until, office, lang),
            },
            reopens_today=_reopens_today(offer),
            served_out=_served_out(offer, lang) if offer.state == OfferState.SERVED_OUT else None,
            lang=lang,
            rtl=lang in RTL_LANGUAGES,
            languages=[
                (code, LANGUAGE_NAMES.get(code, code), _page_url(office.slug, lang=code))
                for code in config["KIOSK_LANGUAGES"]
            ],
            large=_large(),
            large_url=_page_url(office.slug, large=None if _large() else "1"),
            start_url=_page_url(office.slug, lang="de", large=None),
            paper=_paper() or config["KIOSK_PAPER"],
            checkin=checkin_enabled() and offer.appointments_today,
            server_printing=bool(config["KIOSK_CUPS_PRINTING"] and device.printer),
            settings={
                "idle": config["KIOSK_IDLE_SECONDS"],
                "ticket": config["KIOSK_TICKET_SECONDS"],
                "refresh": config["KIOSK_REFRESH_SECONDS"],
            },
        )
    response = make_response(page)
    response.headers.update(NO_STORE)
    _renew_cookie(response)
    return response


@bp.get("/<slug>/tickets/<token>")
def ticket_screen(slug: str, token: str):
    """The ticket screen after a tap (a fragment the kiosk page puts in place)."""
    office = get_office(slug)
    if not _is_kiosk_of(current_device(), office):
        return _not_registered(office, current_device())
    lang = _lang()
    ticket = get_ticket(token)
    if ticket.office_id != office.id:
        return _not_registered(office, current_device())
    status_url = absolute_url(f"/t/{token}")
    with force_locale(lang):
        view = ticket_status(token, "en" if lang == "en" else "de")
        page = render_template(
            "kiosk/_ticket.html",
            ticket=view,
            kind=ticket.kind.value,
            services=[service_name(s, lang) for s in ticket.services],
            persons=ticket.persons,
            wait=wait_text(view["estimated_wait_minutes"]),
            qr=qr_svg(
                status_url,
                label=gettext(
                    "QR code of the live status page of ticket %(number)s", number=view["number"]
                ),
            ),
            status_url=status_url,
            again=request.args.get("again") == "1",
        )
    return page, 200, NO_STORE
