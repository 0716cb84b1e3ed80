"""The capacity rules a manager sets per office (docs/walk-in-forecast.md, "the rules a manager
sets"): the share of each appointment window kept back from online booking for walk-ins
("Kontingent für Spontankunden"), and when online booking of a day closes so that its unbooked
capacity goes to the waitlist first and then to walk-ins ("Online-Buchungsschluss").

Appointments already booked stay; the rules apply to what is booked from now on.
"""

from __future__ import annotations

from datetime import time

from ..audit.services import record
from ..auth.models import User
from ..db import unit_of_work
from ..errors import N_, ValidationFailed
from ..offices.models import Office
from .access import load_actor, office_for

MAX_SHARE_PERCENT = (
    90  # online booking never disappears by a typo; no booking at all is a service setting
)
MAX_DAYS_BEFORE = 14


def _check(share_percent: int, days_before: int | None, closes_at: time | None) -> None:
    if not isinstance(share_percent, int) or not 0 <= share_percent <= MAX_SHARE_PERCENT:
        raise ValidationFailed(
            N_("The walk-in share is a whole number from 0 to %(n)d per cent."),
            field="walkin_share_percent",
            params={"n": MAX_SHARE_PERCENT},
        )
    if (days_before is None) != (closes_at is None):
        raise ValidationFailed(
            N_("Give both the days before and the time, or neither."),
            field="online_closes_days_before",
        )
    if days_before is not None and not 0 <= days_before <= MAX_DAYS_BEFORE:
        raise ValidationFailed(
            N_("Online booking closes 0 to %(n)d days before the day."),
            field="online_closes_days_before",
            params={"n": MAX_DAYS_BEFORE},
        )


def set_capacity_rules(
    office_slug: str,
    share_percent: int,
    days_before: int | None,
    closes_at: time | None,
    *,
    actor: User,
) -> Office:
    """Set the office's walk-in share of appointment windows and when online booking of a day
    closes (``days_before`` days before it at ``closes_at`` local time; both None: never)."""
    _check(share_percent, days_before, closes_at)
    with unit_of_work():
        actor = load_actor(actor.id)
        office = office_for(actor, office_slug, for_update=True)
        before = {
            "walkin_share_percent": office.walkin_share_percent,
            "online_closes_days_before": office.online_closes_days_before,
            "online_closes_at": office.online_closes_at.strftime("%H:%M")
            if office.online_closes_at
            else None,
        }
        office.walkin_share_percent = share_percent
        office.online_closes_days_before = days_before
        office.online_closes_at = closes_at
        after = {
            "walkin_share_percent": share_percent,
            "online_closes_days_before": days_before,
            "online_closes_at": closes_at.strftime("%H:%M") if closes_at else None,
        }
        if after != before:
            record(
                "office.capacity_rules",
                actor=actor,
                object_type="office",
                object_id=office.id,
                office_id=office.id,
                details={"before": before, "after": after},
            )
    return office
