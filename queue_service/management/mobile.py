"""Dates and places of the mobile Bürgeramt. Moving or removing a date asks first when it would
strand appointments (the same impact providers as closures)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlalchemy import select

from .. import clock
from ..audit.services import record
from ..auth.models import User
from ..db import unit_of_work
from ..errors import N_, NotFound, Refused, ValidationFailed
from ..extensions import db
from ..offices.calendar import office_tz
from ..offices.impact import AffectedItem, AvailabilityChange, affected_by, apply_change
from ..offices.models import MobileEvent, Office, Service
from .access import load_actor, office_for
from .changes import apply_changes, confirm_impact


@dataclass(frozen=True)
class MobileEventData:
    day: date
    start: time
    end: time
    place: str
    address: str | None = None
    walk_in: bool = True
    appointments: bool = True
    service_codes: list[str] = field(default_factory=list)


def _mobile_office(actor_id: int, slug: str, session=None, *, for_update: bool = False) -> tuple:
    actor = load_actor(actor_id, session)
    office = office_for(actor, slug, for_update=for_update)
    if not office.is_mobile:
        raise Refused(N_("Only the mobile office has dates and places."))
    return actor, office


def list_mobile_events(slug: str, *, actor: User) -> tuple[Office, list[MobileEvent]]:
    _actor, office = _mobile_office(actor.id, slug)
    events = db.session.scalars(
        select(MobileEvent)
        .where(MobileEvent.office_id == office.id, MobileEvent.day >= clock.today())
        .order_by(MobileEvent.day, MobileEvent.start_time)
    ).all()
    return office, list(events)


def mobile_event_for(slug: str, event_id: int, *, actor: User) -> tuple[Office, MobileEvent]:
    _actor, office = _mobile_office(actor.id, slug)
    return office, _event(office, event_id)


def _event(office: Office, event_id: int) -> MobileEvent:
    event = db.session.get(MobileEvent, event_id)
    if event is None or event.office_id != office.id:
        raise NotFound(N_("This date does not exist."))
    return event


def _validated(session, office: Office, data: MobileEventData) -> tuple[dict, list[Service]]:
    place = (data.place or "").strip()
    if not place or len(place) > 200:
        raise ValidationFailed(N_("Enter the place (up to 200 characters)."), field="place")
    if data.day < clock.today():
        raise ValidationFailed(N_("The day is in the past."), field="day")
    if data.start >= data.end:
        raise ValidationFailed(N_("The end must be after the start."), field="end")
    if not (data.walk_in or data.appointments):
        raise ValidationFailed(N_("Allow walk-ins, appointments or both."), field="walk_in")
    offered = {o.service.code: o.service for o in office.services}
    unknown = [code for code in data.service_codes if code not in offered]
    if unknown:
        raise ValidationFailed(
            N_("Not offered by this office: %(codes)s"),
            field="services",
            params={"codes": ", ".join(unknown)},
        )
    if not data.service_codes:
        raise ValidationFailed(N_("Choose at least one service."), field="services")
    address = (data.address or "").strip() or None
    values = {
        "day": data.day,
        "start_time": data.start,
        "end_time": data.end,
        "place": place,
        "address": address,
        "walk_in": data.walk_in,
        "appointments": data.appointments,
    }
    return values, [offered[code] for code in data.service_codes]


def add_mobile_event(slug: str, data: MobileEventData, *, actor: User) -> MobileEvent:
    with unit_of_work() as session:
        actor, office = _mobile_office(actor.id, slug, session, for_update=True)
        values, services = _validated(session, office, data)
        event = MobileEvent(office_id=office.id, services=services, **values)
        session.add(event)
        session.flush()
        record(
            "mobile_event.added",
            actor=actor,
            object_type="mobile_event",
            object_id=event.id,
            office_id=office.id,
            details={
                "day": data.day.isoformat(),
                "start": f"{data.start:%H:%M}",
                "end": f"{data.end:%H:%M}",
                "place": values["place"],
                "services": sorted(data.service_codes),
            },
        )
    return event


def _lost_time(
    session, office: Office, event: MobileEvent, replacement: dict | None
) -> AvailabilityChange:
    """Appointment time lost when ``event`` is removed or replaced by ``replacement`` values."""
    tz = office_tz(office)
    others = session.scalars(
        select(MobileEvent).where(
            MobileEvent.office_id == office.id,
            MobileEvent.day == event.day,
            MobileEvent.id != event.id,
            MobileEvent.appointments.is_(True),
        )
    ).all()
    spans = [(ev.day, ev.start_time, ev.end_time) for ev in others]
    if replacement and replacement["appointments"]:
        spans.append((replacement["day"], replacement["start_time"], replacement["end_time"]))

    def still_open(office_id: int, start: datetime, end: datetime) -> bool:
        local_start, local_end = start.astimezone(tz), end.astimezone(tz)
        return any(
            day == local_start.date() and begin <= local_start.time() and local_end.time() <= until
            for day, begin, until in spans
        )

    return AvailabilityChange(
        kind="mobile_event_changed",
        office_ids=(office.id,),
        days=(event.day,),
        reason=event.place,
        still_open=still_open,
    )


def update_mobile_event(
    slug: str,
    event_id: int,
    data: MobileEventData,
    *,
    actor: User,
    confirmed: bool = False,
    notify: bool = True,
    acknowledged: Collection[str] | None = None,
) -> MobileEvent:
    with unit_of_work() as session:
        actor, office = _mobile_office(actor.id, slug, session, for_update=True)
        event = _event(office, event_id)
        values, services = _validated(session, office, data)
        change = _lost_time(session, office, event, values)
        items = affected_by(change)
        confirm_impact(items, confirmed, acknowledged)
        changes = apply_changes(event, values)
        before = sorted(s.code for s in event.services)
        if before != sorted(data.service_codes):
            event.services = services
            changes.append({"field": "services", "old": before, "new": sorted(data.service_codes)})
        apply_change(change, items, notify=notify)
        if changes:
            record(
                "mobile_event.updated",
                actor=actor,
                object_type="mobile_event",
                object_id=event.id,
                office_id=office.id,
                details={"changes": changes, "affected": [i.ref for i in items], "notify": notify},
            )
    return event


def delete_mobile_event(
    slug: str,
    event_id: int,
    *,
    actor: User,
    confirmed: bool = False,
    notify: bool = True,
    acknowledged: Collection[str] | None = None,
) -> list[AffectedItem]:
    with unit_of_work() as session:
        actor, office = _mobile_office(actor.id, slug, session, for_update=True)
        event = _event(office, event_id)
        change = _lost_time(session, office, event, None)
        items = affected_by(change)
        confirm_impact(items, confirmed, acknowledged)
        apply_change(change, items, notify=notify)
        record(
            "mobile_event.removed",
            actor=actor,
            object_type="mobile_event",
            object_id=event.id,
            office_id=office.id,
            details={
                "day": event.day.isoformat(),
                "place": event.place,
                "affected": [i.ref for i in items],
                "notify": notify,
            },
        )
        session.delete(event)
    return items
