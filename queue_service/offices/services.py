"""Read operations on the catalogue, returning plain dicts for the API and the pages."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from sqlalchemy import bindparam, select
from sqlalchemy.orm import selectinload

from .. import clock
from ..errors import N_, UnknownOffice, UnknownService
from ..extensions import db
from . import calendar
from .models import Counter, MobileEvent, Office, OfficeService, Service, WindowKind
from .revision import kept_entities

WEEKDAY_KEYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@lru_cache(maxsize=1)
def _by_key() -> tuple:
    """Built once: these run in every transaction, where building them cost a third as much
    as running them."""
    office = select(Office).where(Office.slug == bindparam("slug"), Office.active.is_(True))
    service = select(Service).where(Service.code == bindparam("code"))
    return office, service


def get_office(slug: str) -> Office:
    office = db.session.scalar(_by_key()[0], {"slug": slug})
    if office is None:
        raise UnknownOffice(
            N_("There is no office with the slug %(slug)s."), params={"slug": repr(slug)}
        )
    return office


def cached_office(slug: str) -> Office:
    """``get_office`` from this process's copy of the catalogue revision the transaction sees
    (no query while the catalogue is unchanged); for the booking's reads, not for code that
    changes the office."""
    found = kept_entities(
        ("office", slug), lambda session: list(session.scalars(_by_key()[0], {"slug": slug}))
    )
    if not found:
        raise UnknownOffice(
            N_("There is no office with the slug %(slug)s."), params={"slug": repr(slug)}
        )
    return found[0]


def get_service(code: str) -> Service:
    service = db.session.scalar(_by_key()[1], {"code": code})
    if service is None:
        raise _unknown_service(code)
    return service


def cached_service(code: str) -> Service:
    """``get_service`` from this process's copy of the catalogue revision (as ``cached_office``:
    for reads, not for code that changes the service)."""
    found = kept_entities(
        ("service", code), lambda session: list(session.scalars(_by_key()[1], {"code": code}))
    )
    if not found:
        raise _unknown_service(code)
    return found[0]


def cached_offer(office: Office, service: Service) -> OfficeService | None:
    """Whether (and with which walk-in cap) ``office`` offers ``service``, from this process's
    copy of the catalogue revision."""
    key = (office.id, service.id)
    found = kept_entities(
        ("offer", key),
        lambda session: [offer] if (offer := session.get(OfficeService, key)) else [],
    )
    return found[0] if found else None


def _unknown_service(code: str) -> UnknownService:
    return UnknownService(
        N_("There is no service with the code %(code)s."), params={"code": repr(code)}
    )


def list_offices() -> list[Office]:
    return list(
        db.session.scalars(
            select(Office).where(Office.active.is_(True)).order_by(Office.is_mobile, Office.name)
        )
    )


def list_services() -> list[Service]:
    return list(db.session.scalars(select(Service).order_by(Service.sort_order, Service.code)))


def office_services(office: Office) -> list[Service]:
    return list(
        db.session.scalars(
            select(Service)
            .join(OfficeService, OfficeService.service_id == Service.id)
            .where(OfficeService.office_id == office.id)
            .order_by(Service.sort_order)
        )
    )


def active_counters(office: Office) -> list[Counter]:
    return list(
        db.session.scalars(
            select(Counter)
            .options(selectinload(Counter.services))
            .where(Counter.office_id == office.id, Counter.active.is_(True))
            .order_by(Counter.number)
        )
    )


def office_summary(office: Office) -> dict:
    return {
        "slug": office.slug,
        "name": office.name,
        "address": office.address,
        "mobile": office.is_mobile,
    }


def service_view(service: Service, lang: str = "de") -> dict:
    return {
        "code": service.code,
        "prefix": service.prefix,
        "name": service.name(lang),
        "name_de": service.name_de,
        "name_en": service.name_en,
        "description": service.description(lang),
        "group": service.group,
        "duration_minutes": service.duration_minutes,
        "extra_person_minutes": service.extra_person_minutes,
        "walk_in_allowed": service.walk_in_allowed,
        "online_bookable": service.online_bookable,
        "short_matter": service.short_matter,
        "online_alternative_url": service.online_alternative_url,
        "documents": service.documents(lang),
    }


def weekly_hours(office: Office) -> dict:
    hours: dict[str, dict[str, list]] = {kind.value: {} for kind in WindowKind}
    for window in office.hours:
        hours[window.kind.value].setdefault(WEEKDAY_KEYS[window.weekday], []).append(
            [window.start_time.strftime("%H:%M"), window.end_time.strftime("%H:%M")]
        )
    return hours


def office_detail(office: Office, lang: str = "de") -> dict:
    today = calendar.office_local_today(office)
    detail = office_summary(office) | {
        "timezone": office.timezone,
        "phone": office.phone,
        "email": office.email,
        "counters": len(active_counters(office)),
        "services": [service_view(s, lang) for s in office_services(office)],
        "opening_hours": weekly_hours(office),
        "closed_today": calendar.closure_reason(office, today),
        "demo_fields": office.demo_fields,
    }
    if office.is_mobile:
        events = db.session.scalars(
            select(MobileEvent)
            .where(MobileEvent.office_id == office.id, MobileEvent.day >= today)
            .where(MobileEvent.day <= today + timedelta(days=120))
            .order_by(MobileEvent.day, MobileEvent.start_time)
        ).all()
        detail["mobile_events"] = [
            {
                "date": ev.day.isoformat(),
                "start": ev.start_time.strftime("%H:%M"),
                "end": ev.end_time.strftime("%H:%M"),
                "place": ev.place,
                "address": ev.address,
                "services": [s.code for s in ev.services],
            }
            for ev in events
        ]
    nxt = calendar.next_opening(office, clock.now(), WindowKind.WALKIN)
    detail["next_walkin_window"] = (
        {
            "start": nxt.start.astimezone(calendar.office_tz(office)).isoformat(),
            "end": nxt.end.astimezone(calendar.office_tz(office)).isoformat(),
        }
        if nxt
        else None
    )
    return detail


def mobile_events(office: Office, first_day: date, last_day: date) -> list[MobileEvent]:
    """The mobile office's dates and places from ``first_day`` to ``last_day`` (by date)."""
    return list(
        db.session.scalars(
            select(MobileEvent)
            .options(selectinload(MobileEvent.services))
            .where(MobileEvent.office_id == office.id)
            .where(MobileEvent.day >= first_day, MobileEvent.day <= last_day)
            .order_by(MobileEvent.day, MobileEvent.start_time)
        )
    )


def closed_days(office: Office, first_day: date, last_day: date) -> list[tuple[date, str]]:
    """Days from ``first_day`` to ``last_day`` on which ``office`` is closed all day (holidays and
    closures) with the reason, for days it would otherwise be open."""
    found = []
    day = first_day
    while day <= last_day:
        reason = calendar.closure_reason(office, day)
        if reason and _opens_on(office, day):
            found.append((day, reason))
        day += timedelta(days=1)
    return found


def _opens_on(office: Office, day: date) -> bool:
    if office.is_mobile:
        return bool(mobile_events(office, day, day))
    return any(w.weekday == day.weekday() for w in office.hours)
