"""Thin job wrappers (registered in scheduler/jobs.py): end-of-day close and the roll-up."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from .. import clock
from ..extensions import db
from ..offices.models import Office
from ..tickets import services as tickets
from ..tickets.models import TERMINAL, Ticket
from . import compute


def offices_with_open_tickets() -> list[str]:
    """Slugs of the offices that still have open tickets of today or earlier."""
    rows = db.session.execute(
        select(Office.slug, Office.timezone, Ticket.business_date)
        .join(Ticket, Ticket.office_id == Office.id)
        .where(Ticket.status.not_in(TERMINAL))
        .distinct()
    ).all()
    slugs = set()
    for slug, tz, day in rows:
        if day <= clock.today(ZoneInfo(tz or "Europe/Berlin")):
            slugs.add(slug)
    return sorted(slugs)


def close_day(scheduled_for: datetime) -> dict:
    """20:30: every office with open tickets of today closes its queue (tickets -> not served)."""
    closed = {slug: tickets.close_day(slug) for slug in offices_with_open_tickets()}
    return {"offices": len(closed), "tickets": sum(closed.values())}


def stats_rollup(scheduled_for: datetime) -> dict:
    """03:30: roll up the local day before ``scheduled_for`` for every office."""
    day = clock.to_local(scheduled_for).date() - timedelta(days=1)
    return {"day": day.isoformat(), "rows": compute.rollup_day(day)}
