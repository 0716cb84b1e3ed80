"""Calendar files (RFC 5545) for appointments: local times with TZID and a VTIMEZONE."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress


def event_file(
    *,
    uid: str,
    sequence: int,
    start: datetime,
    end: datetime,
    tzid: str,
    summary: str,
    location: str | None,
    description: str,
    stamp: datetime,
    organizer: str | None = None,
    url: str | None = None,
    cancelled: bool = False,
) -> bytes:
    """One event as an .ics file; a cancellation (METHOD:CANCEL) keeps the UID and raises SEQUENCE."""
    tz = ZoneInfo(tzid)
    cal = Calendar()
    cal.add("prodid", "-//Buergerservice Hannover//Termine//DE")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "CANCEL" if cancelled else "PUBLISH")
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", stamp)
    event.add("dtstart", start.astimezone(tz))
    event.add("dtend", end.astimezone(tz))
    event.add("summary", summary)
    if location:
        event.add("location", location)
    event.add("description", description)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    if url:
        event.add("url", url)
    if organizer:
        address = vCalAddress(f"mailto:{organizer}")
        event.add("organizer", address)
    cal.add_component(event)
    local = start.astimezone(tz).date()
    cal.add_missing_timezones(
        first_date=local - timedelta(days=366), last_date=local + timedelta(days=366)
    )
    return cal.to_ical()
