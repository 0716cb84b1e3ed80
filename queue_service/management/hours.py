"""Weekly opening hours: appointment and walk-in windows per weekday."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta

from sqlalchemy import delete, select

from .. import clock
from ..audit.services import record
from ..auth.models import User
from ..db import unit_of_work
from ..errors import N_, Refused, ValidationFailed
from ..extensions import db
from ..offices.calendar import office_tz
from ..offices.impact import AvailabilityChange, affected_by, apply_change
from ..offices.models import Office, OpeningWindow, WindowKind
from .access import load_actor, office_for
from .changes import HORIZON_DAYS, confirm_impact

WEEKDAYS = range(7)


@dataclass(frozen=True)
class WindowSpec:
    kind: WindowKind
    start: time
    end: time
    capacity: int | None = None

    def as_dict(self) -> dict:
        return {
            "kind": self.kind.value,
            "start": self.start.strftime("%H:%M"),
            "end": self.end.strftime("%H:%M"),
            "capacity": self.capacity,
        }


def weekly_windows(
    slug: str, *, actor: User
) -> tuple[Office, dict[int, dict[WindowKind, list[OpeningWindow]]]]:
    """The office's windows as {weekday: {kind: [windows by start]}}."""
    office = office_for(load_actor(actor.id), slug)
    week: dict[int, dict[WindowKind, list[OpeningWindow]]] = {
        day: {kind: [] for kind in WindowKind} for day in WEEKDAYS
    }
    rows = db.session.scalars(
        select(OpeningWindow)
        .where(OpeningWindow.office_id == office.id)
        .order_by(OpeningWindow.start_time)
    )
    for window in rows:
        week[window.weekday][window.kind].append(window)
    return office, week


def _check(windows: list[WindowSpec]) -> None:
    for kind in WindowKind:
        own = sorted((w for w in windows if w.kind == kind), key=lambda w: w.start)
        previous = None
        for i, window in enumerate(own):
            where = f"{kind.value}-{i}"
            if window.start >= window.end:
                raise ValidationFailed(
                    N_("The window must end after it starts."), field=f"{where}-end"
                )
            if window.capacity is not None and not 1 <= window.capacity <= 99:
                raise ValidationFailed(
                    N_("Enter a capacity between 1 and 99."), field=f"{where}-capacity"
                )
            if previous and window.start < previous.end:
                raise ValidationFailed(
                    N_("Windows of the same kind must not overlap (%(a)s and %(b)s)."),
                    field=f"{where}-start",
                    params={
                        "a": f"{previous.start:%H:%M}–{previous.end:%H:%M}",
                        "b": f"{window.start:%H:%M}–{window.end:%H:%M}",
                    },
                )
            previous = window


def _lost_appointment_time(
    office: Office, weekday: int, windows: list[WindowSpec]
) -> AvailabilityChange:
    """The coming ``weekday``s; an appointment still fits if a new appointment window holds it."""
    tz = office_tz(office)
    today = clock.today(tz)
    first = today + timedelta(days=(weekday - today.weekday()) % 7)
    days = tuple(first + timedelta(weeks=i) for i in range(HORIZON_DAYS // 7 + 1))
    kept = [(w.start, w.end) for w in windows if w.kind == WindowKind.APPOINTMENT]

    def still_open(office_id: int, start: datetime, end: datetime) -> bool:
        local_start, local_end = start.astimezone(tz), end.astimezone(tz)
        return local_start.date() == local_end.date() and any(
            begin <= local_start.time() and local_end.time() <= until for begin, until in kept
        )

    return AvailabilityChange(
        kind="hours_changed", office_ids=(office.id,), days=days, still_open=still_open
    )


def set_day_windows(
    slug: str,
    weekday: int,
    windows: list[WindowSpec],
    *,
    actor: User,
    confirmed: bool = False,
    notify: bool = True,
    acknowledged: Collection[str] | None = None,
) -> list[OpeningWindow]:
    """Replace the appointment and walk-in windows of one weekday (an empty list closes it).

    Asks first (ConfirmationRequired) when booked appointments would fall outside the new hours.
    """

    if weekday not in WEEKDAYS:
        raise ValidationFailed(N_("Unknown weekday."), field="weekday")
    with unit_of_work() as session:
        actor = load_actor(actor.id, session)
        office = office_for(actor, slug, for_update=True)
        if office.is_mobile:
            raise Refused(N_("The mobile office has dates and places instead of weekly hours."))
        windows = [
            w if w.kind == WindowKind.APPOINTMENT else replace(w, capacity=None) for w in windows
        ]
        _check(windows)
        existing = session.scalars(
            select(OpeningWindow)
            .where(OpeningWindow.office_id == office.id, OpeningWindow.weekday == weekday)
            .order_by(OpeningWindow.kind, OpeningWindow.start_time)
        ).all()
        before = [
            WindowSpec(w.kind, w.start_time, w.end_time, w.capacity).as_dict() for w in existing
        ]
        wanted = sorted(windows, key=lambda w: (w.kind.value, w.start))
        after = [w.as_dict() for w in wanted]
        if sorted(before, key=str) == sorted(after, key=str):
            return list(existing)
        change = _lost_appointment_time(office, weekday, windows)
        items = affected_by(change)
        confirm_impact(items, confirmed, acknowledged)
        session.execute(
            delete(OpeningWindow).where(
                OpeningWindow.office_id == office.id, OpeningWindow.weekday == weekday
            )
        )
        created = [
            OpeningWindow(
                office_id=office.id,
                weekday=weekday,
                kind=w.kind,
                start_time=w.start,
                end_time=w.end,
                capacity=w.capacity,
            )
            for w in wanted
        ]
        session.add_all(created)
        session.flush()
        session.expire(office, ["hours"])
        apply_change(change, items, notify=notify)
        record(
            "hours.changed",
            actor=actor,
            object_type="office",
            object_id=office.id,
            office_id=office.id,
            details={
                "weekday": weekday,
                "before": before,
                "after": after,
                "affected": [i.ref for i in items],
                "notify": notify,
            },
        )
    return created
