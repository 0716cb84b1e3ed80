"""Kiosks issuing unusually fast: what the city overview warns staff about.

A kiosk is rate-limited per minute and per hour; within those limits a stuck button, a script or
a prankster can still take a large share of an office's walk-in cap, so staff are told early.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from .. import clock
from ..auth.models import Device
from ..extensions import db
from ..offices.models import Office
from .models import TicketEvent


@dataclass(frozen=True)
class FastKiosk:
    name: str
    office_slug: str
    office_name: str
    tickets: int
    window_minutes: int


def fast_kiosks(
    office_ids: list[int] | None, threshold: int, window_minutes: int, now: datetime | None = None
) -> list[FastKiosk]:
    """Kiosks of these offices (None: all) with at least ``threshold`` tickets issued within the
    last ``window_minutes``, the fastest first."""
    since = (now or clock.now()) - timedelta(minutes=window_minutes)
    query = select(TicketEvent.details).where(
        TicketEvent.action == "issue", TicketEvent.at >= since
    )
    if office_ids is not None:
        query = query.where(TicketEvent.office_id.in_(office_ids))
    issued = Counter(
        details.get("device_id")
        for details in db.session.scalars(query)
        if details and details.get("by") == "kiosk" and details.get("device_id")
    )
    fast = {device_id: count for device_id, count in issued.items() if count >= threshold}
    if not fast:
        return []
    rows = db.session.execute(
        select(Device, Office)
        .join(Office, Device.office_id == Office.id)
        .where(Device.id.in_(fast))
    )
    found = [
        FastKiosk(device.name, office.slug, office.name, fast[device.id], window_minutes)
        for device, office in rows
    ]
    return sorted(found, key=lambda kiosk: -kiosk.tickets)
