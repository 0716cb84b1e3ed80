"""Closure days: preview who would be stranded, then close (after confirmation) and tell them.

    impact = preview_closure("aegi", days, actor=manager)            # nothing changes
    add_closure("aegi", days, "Betriebsversammlung", actor=manager,
                confirmed=True, notify=True, acknowledged=impact.refs)

``add_closure`` raises ConfirmationRequired when appointments would be stranded and the call is not
confirmed, or when items appeared since the preview (``acknowledged``). The affected items come
from the impact providers registered in ``queue_service.offices.impact`` (booking registers one).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import or_, select

from .. import clock
from ..audit.services import record
from ..auth.models import User
from ..db import unit_of_work
from ..errors import N_, NotFound, ValidationFailed
from ..extensions import db
from ..offices.impact import AffectedItem, AvailabilityChange, affected_by, apply_change
from ..offices.models import Closure, Office
from .access import load_actor, office_for, require_admin
from .changes import confirm_impact

MAX_DAYS = 366
# how far ahead a recurring closure is checked for stranded appointments
RECURRING_HORIZON_DAYS = 400


@dataclass(frozen=True)
class ClosureImpact:
    office: Office | None  # None: every office
    days: tuple[date, ...]
    recurring: bool
    items: list[AffectedItem] = field(default_factory=list)

    @property
    def refs(self) -> list[str]:
        return [item.ref for item in self.items]


@dataclass(frozen=True)
class ClosureResult:
    closures: list[Closure]
    items: list[AffectedItem]
    notified: bool


def closure_days(first: date, last: date | None = None) -> list[date]:
    """The days from ``first`` to ``last`` (inclusive); a single day without ``last``."""
    last = last or first
    if last < first:
        raise ValidationFailed(N_("The last day must not be before the first day."), field="end")
    count = (last - first).days + 1
    if count > MAX_DAYS:
        raise ValidationFailed(
            N_("Close at most %(n)d days at once."), field="end", params={"n": MAX_DAYS}
        )
    return [first + timedelta(days=i) for i in range(count)]


def _scope(actor: User, office_slug: str | None, *, for_update: bool = False) -> Office | None:
    if office_slug is None:
        require_admin(actor)  # city-wide closures are for administrators
        return None
    return office_for(actor, office_slug, for_update=for_update)


def _occurrences(day: date, today: date) -> list[date]:
    found = []
    for year in range(today.year, (today + timedelta(days=RECURRING_HORIZON_DAYS)).year + 1):
        try:
            candidate = day.replace(year=year)
        except ValueError:  # 29 February
            continue
        if today <= candidate <= today + timedelta(days=RECURRING_HORIZON_DAYS):
            found.append(candidate)
    return found


def _validate(
    session, office: Office | None, days: list[date], recurring: bool, reason: str | None
) -> str:
    reason = (reason or "").strip()
    if len(reason) > 200:
        raise ValidationFailed(N_("The reason may have up to 200 characters."), field="reason")
    if not days:
        raise ValidationFailed(N_("Choose at least one day."), field="start")
    if recurring and len(days) > 1:
        raise ValidationFailed(
            N_("A closure that recurs every year is a single day."), field="recurring"
        )
    if not recurring and min(days) < clock.today():
        raise ValidationFailed(N_("The first day is in the past."), field="start")
    office_clause = (
        Closure.office_id.is_(None) if office is None else Closure.office_id == office.id
    )
    existing = session.scalars(select(Closure).where(office_clause, Closure.day.in_(days))).all()
    if existing:
        taken = ", ".join(sorted(c.day.strftime("%d.%m.%Y") for c in existing))
        raise ValidationFailed(
            N_("Already closed on %(days)s."), field="start", params={"days": taken}
        )
    return reason


def _change(
    office: Office | None, days: list[date], recurring: bool, reason: str
) -> AvailabilityChange:
    concerned = _occurrences(days[0], clock.today()) if recurring else days
    return AvailabilityChange(
        kind="closure",
        office_ids=None if office is None else (office.id,),
        days=tuple(concerned),
        reason=reason,
    )


def preview_closure(
    office_slug: str | None,
    days: list[date],
    *,
    actor: User,
    recurring: bool = False,
    reason: str = "",
) -> ClosureImpact:
    """What closing these days would strand; changes nothing."""
    actor = load_actor(actor.id)
    office = _scope(actor, office_slug)
    reason = _validate(db.session, office, days, recurring, reason)
    change = _change(office, days, recurring, reason)
    return ClosureImpact(office, tuple(days), recurring, affected_by(change))


def add_closure(
    office_slug: str | None,
    days: list[date],
    reason: str,
    *,
    actor: User,
    recurring: bool = False,
    confirmed: bool = False,
    notify: bool = True,
    acknowledged: Collection[str] | None = None,
) -> ClosureResult:
    """Close the office (or, with ``office_slug`` None, every office) on ``days``.

    Raises ConfirmationRequired if appointments would be stranded and ``confirmed`` is False, or
    if some were booked after the preview whose refs are in ``acknowledged``.
    """
    with unit_of_work() as session:
        actor = load_actor(actor.id, session)
        office = _scope(actor, office_slug, for_update=True)
        reason = _validate(session, office, days, recurring, reason)
        if not reason:
            raise ValidationFailed(N_("Give a reason; residents and staff see it."), field="reason")
        change = _change(office, days, recurring, reason)
        items = affected_by(change)
        confirm_impact(items, confirmed, acknowledged)
        closures = [
            Closure(
                office_id=None if office is None else office.id,
                day=day,
                reason=reason,
                recurring=recurring,
            )
            for day in days
        ]
        session.add_all(closures)
        session.flush()
        apply_change(change, items, notify=notify)
        record(
            "closure.added",
            actor=actor,
            object_type="closure",
            object_id=closures[0].id,
            office_id=None if office is None else office.id,
            details={
                "days": [d.isoformat() for d in days],
                "reason": reason,
                "recurring": recurring,
                "city_wide": office is None,
                "affected": [item.ref for item in items],
                "notify": notify,
            },
        )
    return ClosureResult(closures, items, notify and bool(items))


def remove_closure(office_slug: str | None, closure_id: int, *, actor: User) -> None:
    """Open a closed day again."""
    with unit_of_work() as session:
        actor = load_actor(actor.id, session)
        office = _scope(actor, office_slug, for_update=True)
        closure = session.get(Closure, closure_id)
        if closure is None or closure.office_id != (None if office is None else office.id):
            raise NotFound(N_("This closure does not exist."))
        record(
            "closure.removed",
            actor=actor,
            object_type="closure",
            object_id=closure.id,
            office_id=closure.office_id,
            details={
                "day": closure.day.isoformat(),
                "reason": closure.reason,
                "recurring": closure.recurring,
            },
        )
        session.delete(closure)


def list_closures(
    office_slug: str | None, *, actor: User
) -> tuple[Office | None, list[Closure], list[Closure]]:
    """(office, its own closures from today on and recurring ones, city-wide ones)."""
    actor = load_actor(actor.id)
    office = _scope(actor, office_slug)
    today = clock.today()
    upcoming = or_(Closure.day >= today, Closure.recurring.is_(True))
    own_clause = Closure.office_id.is_(None) if office is None else Closure.office_id == office.id
    own = db.session.scalars(
        select(Closure).where(own_clause, upcoming).order_by(Closure.day)
    ).all()
    city = (
        []
        if office is None
        else db.session.scalars(
            select(Closure).where(Closure.office_id.is_(None), upcoming).order_by(Closure.day)
        ).all()
    )
    return office, list(own), list(city)
