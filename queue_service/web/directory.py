"""What residents read about the offices: the list of all offices (/standorte) and one office's
page (/standorte/<slug>): address and map, hours of this and next week, closures with their
reason, services, the building, the mobile office's dates and places, the live queue."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from urllib.parse import quote_plus

from babel.dates import format_date

from ..booking.formatting import clock_text, day_text
from ..offices import calendar
from ..offices import services as offices
from ..offices.models import MobileEvent, Office, WindowKind
from ..offices.texts import service_name
from ..stats import live

MOBILE_DAYS_AHEAD = 120
CLOSURES_DAYS_AHEAD = 60
OSM_SEARCH = "https://www.openstreetmap.org/search?query="


def map_url(address: str | None) -> str | None:
    """An OpenStreetMap search for the address (no map is embedded: nothing loads from a third
    party until the resident follows the link)."""
    if not address:
        return None
    return OSM_SEARCH + quote_plus(address)


def _span(window: calendar.Window, office: Office, lang: str) -> str:
    tz = calendar.office_tz(office)
    return f"{clock_text(window.start.astimezone(tz), lang)}–{clock_text(window.end.astimezone(tz), lang)}"


def _day_label(day: date, lang: str) -> str:
    return format_date(day, "EEEE, d. MMMM" if lang == "de" else "EEEE, d MMMM", locale=lang)


def day_hours(office: Office, day: date, lang: str, today: date) -> dict:
    """One day's appointment and walk-in hours (or why it is closed)."""
    appointment = calendar.windows(office, day, WindowKind.APPOINTMENT)
    walkin = calendar.windows(office, day, WindowKind.WALKIN)
    reason = calendar.closure_reason(office, day)
    return {
        "date": day,
        "label": _day_label(day, lang),
        "today": day == today,
        "appointment": [_span(w, office, lang) for w in appointment],
        "walkin": [_span(w, office, lang) for w in walkin],
        "places": sorted({w.place for w in appointment + walkin if w.place}),
        "closed_reason": reason,
    }


def weeks(office: Office, lang: str, count: int = 2) -> list[dict]:
    """This week and the next (Monday to Sunday) with each day's hours."""
    today = calendar.office_local_today(office)
    monday = today - timedelta(days=today.weekday())
    result = []
    for n in range(count):
        first = monday + timedelta(weeks=n)
        days = [day_hours(office, first + timedelta(days=i), lang, today) for i in range(7)]
        result.append({"first": first, "days": days, "current": n == 0})
    return result


def mobile_dates(office: Office, lang: str, days: int = MOBILE_DAYS_AHEAD) -> list[dict]:
    """The mobile office's coming dates: day, time, place, address, map link and services."""
    if not office.is_mobile:
        return []
    today = calendar.office_local_today(office)
    return [
        _mobile_date(ev, lang, today)
        for ev in offices.mobile_events(office, today, today + timedelta(days=days))
    ]


def _mobile_date(ev: MobileEvent, lang: str, today: date) -> dict:
    return {
        "date": ev.day,
        "label": day_text(ev.day, lang),
        "today": ev.day == today,
        "time": f"{clock_text(datetime.combine(ev.day, ev.start_time), lang)}–"
        f"{clock_text(datetime.combine(ev.day, ev.end_time), lang)}",
        "place": ev.place,
        "address": ev.address,
        "map_url": map_url(", ".join(p for p in (ev.place, ev.address, "Hannover") if p)),
        "services": [service_name(s, lang) for s in ev.services],
        "walk_in": ev.walk_in,
        "appointments": ev.appointments,
    }


def _status_by_slug(lang: str) -> dict[str, dict]:
    body, _tag = live.cached_city_status(lang)
    return {entry["office"]["slug"]: entry for entry in json.loads(body)["offices"]}


def _queue(status: dict | None, office: Office, lang: str) -> dict:
    """Open now, people waiting and the estimated wait for a walk-in, the next free appointment."""
    if not status:
        return {}
    estimates = [
        s["estimated_wait_minutes"]
        for s in status["services"]
        if s["walk_in_allowed"] and s["estimated_wait_minutes"] is not None
    ]
    nxt = status.get("next_free_appointment")
    tz = calendar.office_tz(office)
    start = datetime.fromisoformat(nxt).astimezone(tz) if nxt else None
    return {
        "open": status["open"],
        "walkin_open": status["walkin_open"],
        "waiting": status["waiting_total"],
        "wait_minutes": max(estimates) if estimates else None,
        "next_free": f"{day_text(start, lang)}, {clock_text(start, lang)}" if start else None,
    }


def office_rows(lang: str) -> list[dict]:
    """Every office for the list page: address, today's hours, the queue, the next appointment,
    and for the mobile office where it is today and next."""
    statuses = _status_by_slug(lang)
    rows = []
    for office in offices.list_offices():
        today = calendar.office_local_today(office)
        rows.append(
            {
                "office": office,
                "map_url": None if office.is_mobile else map_url(office.address),
                "today": day_hours(office, today, lang, today),
                "queue": _queue(statuses.get(office.slug), office, lang),
                "mobile_dates": mobile_dates(office, lang)[:3],
            }
        )
    return rows


def office_page(slug: str, lang: str) -> dict:
    """Everything on one office's page."""
    office = offices.get_office(slug)
    today = calendar.office_local_today(office)
    services = offices.office_services(office)
    return {
        "office": office,
        "map_url": None if office.is_mobile else map_url(office.address),
        "weeks": weeks(office, lang),
        "closures": closures_ahead(
            office, today, today + timedelta(days=CLOSURES_DAYS_AHEAD), lang
        ),
        "services": [
            {
                "code": s.code,
                "name": service_name(s, lang),
                "minutes": s.duration_minutes,
                "walk_in": s.walk_in_allowed,
                "online": s.online_bookable,
            }
            for s in services
        ],
        "bookable_codes": [s.code for s in services if s.online_bookable],
        "accessibility": office.accessibility(lang),
        "mobile_dates": mobile_dates(office, lang),
        "queue": _queue(_status_by_slug(lang).get(office.slug), office, lang),
    }


def closures_ahead(office: Office, first_day: date, last_day: date, lang: str) -> list[dict]:
    """Closed days with their reason, for the booking calendar and times pages."""
    return [
        {"date": day, "label": day_text(day, lang), "reason": reason}
        for day, reason in offices.closed_days(office, first_day, last_day)
    ]
