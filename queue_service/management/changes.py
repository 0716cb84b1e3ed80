"""Helpers shared by the management services: audit diffs and the confirm-before-stranding rule."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from typing import Any

from .. import clock
from ..errors import N_, ConfirmationRequired, N_plural
from ..offices.calendar import office_tz
from ..offices.impact import AffectedItem
from ..offices.models import Office

# how far ahead a change is checked for stranded appointments (more than the booking horizon)
HORIZON_DAYS = 366
STRANDED = N_plural(
    "%(num)d appointment would be stranded.", "%(num)d appointments would be stranded."
)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if hasattr(value, "value"):  # enums
        return value.value
    return value


def apply_changes(obj: Any, values: dict[str, Any]) -> list[dict]:
    """Set the attributes that differ; returns [{field, old, new}] for the audit entry."""
    changes = []
    for name, new in values.items():
        old = getattr(obj, name)
        if old != new:
            changes.append({"field": name, "old": _plain(old), "new": _plain(new)})
            setattr(obj, name, new)
    return changes


def coming_days(office: Office, days: int = HORIZON_DAYS) -> tuple[date, ...]:
    """The office's local days from today on: what losing a service or the whole office touches."""
    today = clock.today(office_tz(office))
    return tuple(today + timedelta(days=i) for i in range(days + 1))


def confirm_impact(
    items: list[AffectedItem], confirmed: bool, acknowledged: Collection[str] | None
) -> None:
    if items and not confirmed:
        raise ConfirmationRequired(STRANDED, params={"num": len(items)}, items=items)
    if acknowledged is not None and any(item.ref not in set(acknowledged) for item in items):
        raise ConfirmationRequired(
            N_("More appointments were booked meanwhile; please check the list again."), items=items
        )
