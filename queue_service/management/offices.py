"""Offices, the services each offers, and their counters."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..audit.services import record
from ..auth.models import User
from ..db import unit_of_work
from ..errors import N_, Conflict, NotFound, ValidationFailed
from ..extensions import db
from ..offices.impact import AvailabilityChange, affected_by, apply_change
from ..offices.models import Counter, Office, OfficeService, Service
from .access import load_actor, office_for, require_admin
from .changes import apply_changes, coming_days, confirm_impact

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class OfficeDetails:
    name: str
    address: str | None = None
    phone: str | None = None
    email: str | None = None
    walkin_daily_cap: int | None = None
    accessibility_de: str | None = None
    accessibility_en: str | None = None


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _validated(details: OfficeDetails) -> dict:
    name = _clean(details.name)
    if not name or len(name) > 120:
        raise ValidationFailed(N_("Enter a name of up to 120 characters."), field="name")
    email = _clean(details.email)
    if email and (len(email) > 120 or not _EMAIL.match(email)):
        raise ValidationFailed(
            N_("Enter an e-mail address like name@hannover-stadt.de."), field="email"
        )
    cap = details.walkin_daily_cap
    if cap is not None and not 1 <= cap <= 999:
        raise ValidationFailed(
            N_("The daily cap must be between 1 and 999."), field="walkin_daily_cap"
        )
    address, phone = _clean(details.address), _clean(details.phone)
    if address and len(address) > 200:
        raise ValidationFailed(N_("The address may have up to 200 characters."), field="address")
    if phone and len(phone) > 40:
        raise ValidationFailed(N_("The phone number may have up to 40 characters."), field="phone")
    access = {
        key: _clean(getattr(details, key)) for key in ("accessibility_de", "accessibility_en")
    }
    if any(text and len(text) > 1000 for text in access.values()):
        raise ValidationFailed(
            N_("The accessibility text may have up to 1000 characters."), field="accessibility_de"
        )
    return {
        "name": name,
        "address": address,
        "phone": phone,
        "email": email,
        "walkin_daily_cap": cap,
        **access,
    }


def create_office(
    slug: str, details: OfficeDetails, *, actor: User, is_mobile: bool = False
) -> Office:
    """Add an office (administrators only); it starts without services, counters or hours."""
    slug = (slug or "").strip().lower()
    if not _SLUG.match(slug):
        raise ValidationFailed(
            N_("Use 1 to 40 lower-case letters, digits and dashes, e.g. bemerode."), field="slug"
        )
    with unit_of_work() as session:
        actor = load_actor(actor.id, session)
        require_admin(actor)
        values = _validated(details)
        if session.scalar(select(Office.id).where(Office.slug == slug)):
            raise Conflict(
                N_("There is already an office with the slug %(slug)s."),
                field="slug",
                params={"slug": slug},
            )
        office = Office(slug=slug, is_mobile=is_mobile, active=True, demo_fields=[], **values)
        session.add(office)
        session.flush()
        record(
            "office.created",
            actor=actor,
            object_type="office",
            object_id=office.id,
            office_id=office.id,
            details={"slug": slug, "mobile": is_mobile},
        )
    return office


def update_office(
    slug: str,
    details: OfficeDetails,
    *,
    actor: User,
    active: bool | None = None,
    confirmed: bool = False,
    notify: bool = True,
    acknowledged: Collection[str] | None = None,
) -> Office:
    """Change an office's name, address, contact and walk-in cap; (de)activating is for admins.

    Deactivating asks first (ConfirmationRequired) when appointments are booked at the office;
    once confirmed they are cancelled and the residents told after the commit.
    """
    with unit_of_work() as session:
        actor = load_actor(actor.id, session)
        office = office_for(actor, slug, for_update=True)
        values = _validated(details)
        change, items = None, []
        if active is not None and active != office.active:
            require_admin(actor)
            values["active"] = active
            if not active:
                change = AvailabilityChange(
                    kind="office_deactivated",
                    office_ids=(office.id,),
                    days=coming_days(office),
                    reason=_("%(office)s is closed for good.", office=office.name),
                )
                items = affected_by(change)
                confirm_impact(items, confirmed, acknowledged)
        changes = apply_changes(office, values)
        if change is not None:
            apply_change(change, items, notify=notify)
        if changes:
            audit_details: dict[str, object] = {"changes": changes}
            if change is not None:
                audit_details.update(affected=[i.ref for i in items], notify=notify)
            record(
                "office.updated",
                actor=actor,
                object_type="office",
                object_id=office.id,
                office_id=office.id,
                details=audit_details,
            )
    return office


# ---------------------------------------------------------------- services offered


def offered_services(
    slug: str, *, actor: User
) -> tuple[Office, list[tuple[Service, OfficeService | None]]]:
    """Every service of the catalogue with the office's offer (None when not offered)."""
    office = office_for(load_actor(actor.id), slug)
    offers = {o.service_id: o for o in office.services}
    services = db.session.scalars(select(Service).order_by(Service.sort_order, Service.code)).all()
    return office, [(service, offers.get(service.id)) for service in services]


def set_offered_services(
    slug: str,
    offer: dict[str, int | None],
    *,
    actor: User,
    confirmed: bool = False,
    notify: bool = True,
    acknowledged: Collection[str] | None = None,
) -> Office:
    """Set which services the office offers (code -> optional daily walk-in cap).

    A service no longer offered is also taken off the office's counters. Asks first
    (ConfirmationRequired) when appointments for it are booked; once confirmed they are
    cancelled and the residents told after the commit.
    """
    with unit_of_work() as session:
        actor = load_actor(actor.id, session)
        office = office_for(actor, slug, for_update=True)
        by_code = _checked_offer(session, offer)
        current = {o.service.code: o for o in office.services}
        dropped = tuple(sorted(code for code in current if code not in offer))
        change, items = None, []
        if dropped:
            change = _services_removed(office, dropped)
            items = affected_by(change)
            confirm_impact(items, confirmed, acknowledged)
        added, removed, caps = _apply_offer(office, current, offer, by_code)
        if change is not None:
            apply_change(change, items, notify=notify)
        if added or removed or caps:
            record(
                "office.services_changed",
                actor=actor,
                object_type="office",
                object_id=office.id,
                office_id=office.id,
                details={
                    "added": sorted(added),
                    "removed": sorted(removed),
                    "changes": caps,
                    "affected": [i.ref for i in items],
                    "notify": notify,
                },
            )
    return office


def _checked_offer(session, offer: dict[str, int | None]) -> dict[str, Service]:
    """Every service by code, once the offer's caps and codes are known to be valid."""
    for code, cap in offer.items():
        if cap is not None and not 1 <= cap <= 999:
            raise ValidationFailed(
                N_("The daily cap must be between 1 and 999."), field=f"cap-{code}"
            )
    by_code = {s.code: s for s in session.scalars(select(Service)).all()}
    unknown = sorted(set(offer) - set(by_code))
    if unknown:
        raise ValidationFailed(
            N_("Unknown service: %(codes)s"), field="services", params={"codes": ", ".join(unknown)}
        )
    return by_code


def _services_removed(office: Office, dropped: tuple[str, ...]) -> AvailabilityChange:
    return AvailabilityChange(
        kind="service_removed",
        office_ids=(office.id,),
        days=coming_days(office),
        reason=_(
            "%(office)s no longer offers %(codes)s.",
            office=office.name,
            codes=", ".join(dropped),
        ),
        service_codes=dropped,
    )


def _apply_offer(
    office: Office,
    current: dict[str, OfficeService],
    offer: dict[str, int | None],
    by_code: dict[str, Service],
) -> tuple[list[str], list[str], list[dict]]:
    """Change the office's offer to ``offer``; returns the added, the removed and cap changes."""
    added, removed, caps = [], [], []
    for code, existing in current.items():
        if code not in offer:
            office.services.remove(existing)
            removed.append(code)
    for code, cap in offer.items():
        if code not in current:
            office.services.append(OfficeService(service=by_code[code], walkin_daily_cap=cap))
            added.append(code)
        elif current[code].walkin_daily_cap != cap:
            caps.append({"field": f"cap:{code}", "old": current[code].walkin_daily_cap, "new": cap})
            current[code].walkin_daily_cap = cap
    if removed:
        for counter in office.counters:
            counter.services = [s for s in counter.services if s.code not in removed]
    return added, removed, caps


# ---------------------------------------------------------------- counters


def office_counters(slug: str, *, actor: User) -> tuple[Office, list[Counter]]:
    office = office_for(load_actor(actor.id), slug)
    counters = db.session.scalars(
        select(Counter).where(Counter.office_id == office.id).order_by(Counter.number)
    ).all()
    return office, list(counters)


def counter_for(slug: str, counter_id: int, *, actor: User) -> tuple[Office, Counter]:
    office = office_for(load_actor(actor.id), slug)
    counter = db.session.get(Counter, counter_id)
    if counter is None or counter.office_id != office.id:
        raise NotFound(
            N_("This counter does not exist in %(office)s."), params={"office": office.name}
        )
    return office, counter


def _counter_services(session, office: Office, codes: list[str]) -> list[Service]:
    offered = {o.service.code: o.service for o in office.services}
    unknown = [code for code in codes if code not in offered]
    if unknown:
        raise ValidationFailed(
            N_("Not offered by this office: %(codes)s"),
            field="services",
            params={"codes": ", ".join(unknown)},
        )
    if not codes:
        raise ValidationFailed(
            N_("Choose at least one service for this counter."), field="services"
        )
    return [offered[code] for code in codes]


def _label(label: str | None) -> str | None:
    label = _clean(label)
    if label and len(label) > 40:
        raise ValidationFailed(N_("The label may have up to 40 characters."), field="label")
    return label


def add_counter(slug: str, label: str | None, service_codes: list[str], *, actor: User) -> Counter:
    """Add a counter with the next free number."""
    with unit_of_work() as session:
        actor = load_actor(actor.id, session)
        office = office_for(actor, slug, for_update=True)
        label = _label(label)
        services = _counter_services(session, office, service_codes)
        number = (
            session.scalar(select(func.max(Counter.number)).where(Counter.office_id == office.id))
            or 0
        ) + 1
        counter = Counter(
            office_id=office.id, number=number, label=label, active=True, services=services
        )
        session.add(counter)
        session.flush()
        record(
            "counter.added",
            actor=actor,
            object_type="counter",
            object_id=counter.id,
            office_id=office.id,
            details={"number": number, "label": label, "services": sorted(service_codes)},
        )
    return counter


def update_counter(
    slug: str,
    counter_id: int,
    *,
    actor: User,
    label: str | None,
    service_codes: list[str],
    active: bool,
) -> Counter:
    """Change a counter's label, services and whether it is in use (deactivate, never delete)."""
    with unit_of_work() as session:
        actor = load_actor(actor.id, session)
        office = office_for(actor, slug, for_update=True)
        label = _label(label)
        counter = session.get(Counter, counter_id)
        if counter is None or counter.office_id != office.id:
            raise NotFound(
                N_("This counter does not exist in %(office)s."), params={"office": office.name}
            )
        services = _counter_services(session, office, service_codes)
        before = sorted(s.code for s in counter.services)
        changes = apply_changes(counter, {"label": label, "active": active})
        if before != sorted(service_codes):
            counter.services = services
            changes.append({"field": "services", "old": before, "new": sorted(service_codes)})
        if changes:
            record(
                "counter.updated",
                actor=actor,
                object_type="counter",
                object_id=counter.id,
                office_id=office.id,
                details={"number": counter.number, "changes": changes},
            )
    return counter
